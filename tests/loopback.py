"""A real HTTP server on 127.0.0.1 for tests that fetch over the network.

``LoopbackServer`` runs a ``ThreadingHTTPServer`` on an ephemeral port in a daemon thread, answers
GET requests from the routes given to :meth:`LoopbackServer.serve`, and counts requests per path;
POST bodies are recorded (``posted``) and answered 204.
Use it as a context manager (or call :meth:`LoopbackServer.close`, which may be called twice).
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

NOT_FOUND = b'{"error": "not found"}'


@dataclass
class Route:
    """One canned response. ``delay`` holds the response back (until the server closes)."""

    body: bytes
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    send_length: bool = True


class LoopbackServer:
    """Serves ``routes`` (path → :class:`Route`) on 127.0.0.1 and records every request.

    ``content_type``, when given, is sent with every response (unknown paths included) unless
    the route sets its own; unknown paths get a 404 with ``not_found`` as the body.
    """

    def __init__(self, *, content_type: str | None = None, not_found: bytes = NOT_FOUND) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: Counter[str] = Counter()
        self.request_headers: list[dict[str, str]] = []
        #: (path, body) of every POST, in order (answered 204)
        self.posted: list[tuple[str, bytes]] = []
        self.content_type = content_type
        self.not_found = not_found
        self._release = threading.Event()
        self._closed = False
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                server.requests[self.path] += 1
                server.request_headers.append({k.lower(): v for k, v in self.headers.items()})
                route = server.routes.get(self.path, Route(server.not_found, 404))
                if route.delay:
                    server._release.wait(route.delay)
                headers = dict(route.headers)
                if server.content_type is not None:
                    headers = {"Content-Type": server.content_type, **headers}
                try:
                    self.send_response(route.status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    if route.send_length:
                        self.send_header("Content-Length", str(len(route.body)))
                    else:
                        self.send_header("Connection", "close")
                        self.close_connection = True
                    self.end_headers()
                    self.wfile.write(route.body)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                server.posted.append((self.path, self.rfile.read(length)))
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def serve(
        self,
        path: str,
        body: bytes,
        status: int = 200,
        *,
        content_type: str | None = None,
        headers: dict[str, str] | None = None,
        delay: float = 0.0,
        send_length: bool = True,
    ) -> None:
        """Answer GET ``path`` with ``body``; without ``send_length`` the body ends at close."""
        route_headers = dict(headers or {})
        if content_type is not None:
            route_headers["Content-Type"] = content_type
        self.routes[path] = Route(body, status, route_headers, delay, send_length)

    def serve_json(self, path: str, document: Any, status: int = 200, **options: Any) -> None:
        """:meth:`serve` ``document`` as JSON."""
        self.serve(path, json.dumps(document).encode(), status, **options)

    def delay(self, path: str, seconds: float) -> None:
        """Hold back the (already served) response at ``path`` by ``seconds``."""
        self.routes[path].delay = seconds

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._release.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
