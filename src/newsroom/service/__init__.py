"""``newsroom serve``: the HTTP service in front of the run engine.

The API only enqueues runs on the database's queue (``newsroom.engine``) and reads them back; the
runs themselves are done by workers: ``--workers-in-process N`` of them inside the server process
(default 1), and any number of ``newsroom worker`` processes on the same database. Everything a
route answers comes from the database, so two servers on one database give the same answers: the
blue-green pair of a deployment.

- ``runtime.py``: the server's life: start-up that waits for the database, readiness, the drain.
- ``app.py``: the FastAPI application, its guard (token, body limit, request id, headers) and errors.
- ``routes.py``: ``/v1`` articles and runs.
- ``metrics.py``: ``/metrics``, read from the ledger and the runs at scrape time.
- ``ui.py``: the dashboard at ``/ui``.
- ``server.py``: uvicorn, the SIGTERM drain and the ``serve`` command.
"""

from __future__ import annotations
