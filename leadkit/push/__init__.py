"""Push: deliver warehouse leads to the systems that act on them, exactly once.

See :mod:`leadkit.push.base` for the destination interface.
"""
