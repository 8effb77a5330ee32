"""``leadkit serve``: the warehouse over HTTP, read-only, in KPro's filter language.

``GET /api/{table}?api_key=...&createdAt.gte=2021-03-01&site.id.in=1,2&sort=-createdAt``
answers KPro's envelope (``data``, ``pagination``, ``links``); ``/api/bulk/open/leads`` is
KPro's own path over ``kpro_leads``; ``/api/tables`` lists what can be read. The full API
is in docs/query.md.

From code (tests, notebooks), the server runs inside ``async with``::

    async with QueryServer(warehouse, api_key=key) as server:
        ...  # server.base_url is e.g. http://127.0.0.1:40123

Modules: :mod:`~leadkit.serve.app` (routes, auth, errors), :mod:`~leadkit.serve.envelope`
(pagination and links), :mod:`~leadkit.serve.encoding` (rows as JSON),
:mod:`~leadkit.serve.access` (the access log without the key), :mod:`~leadkit.serve.server`
(start, stop, settings).
"""

from __future__ import annotations

from leadkit.serve.app import KPRO_PATH, KPRO_TABLE, create_app
from leadkit.serve.server import QueryServer, ServeConfig, serve_forever, serve_settings

__all__ = [
    "KPRO_PATH",
    "KPRO_TABLE",
    "QueryServer",
    "ServeConfig",
    "create_app",
    "serve_forever",
    "serve_settings",
]
