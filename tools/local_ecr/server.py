"""A threaded HTTP server on 127.0.0.1 with an OS-chosen port, run in a daemon thread."""

from __future__ import annotations

import threading
from typing import Any

from moto.moto_server.werkzeug_app import MotoRequestHandler
from werkzeug.serving import BaseWSGIServer, make_server


class _QuietHandler(MotoRequestHandler):
    """moto's handler (it keeps header names with underscores), keep-alive, no access log."""

    protocol_version = "HTTP/1.1"

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Tests make thousands of calls; an access log line for each is noise."""


class WsgiServer:
    """Serves one WSGI app until stopped; several can run side by side."""

    def __init__(self, app: Any, host: str = "127.0.0.1") -> None:
        self._app = app
        self._host = host
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("server not started")
        return f"http://{self._host}:{self._server.server_port}"

    def start(self) -> None:
        # Binding happens here, so the port is known (and listening) when start() returns.
        self._server = make_server(
            self._host, 0, self._app, threaded=True, request_handler=_QuietHandler
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="local-ecr", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self._server = None
        self._thread = None
