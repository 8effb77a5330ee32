"""Push: deliver warehouse leads to the systems that act on them, exactly once.

Modules: :mod:`~leadkit.push.base` (the destination interface), :mod:`~leadkit.push.engine`
(selection → mapping → ledger → bounded-concurrency delivery; ``run_push``),
:mod:`~leadkit.push.ledger` (``_deliveries`` and ``_pushes``), :mod:`~leadkit.push.select`
(the filter language over lead tables, keyset pages) and :mod:`~leadkit.push.contact`
(e-mail and phone checks). The whole story is in ``docs/push.md``.
"""
