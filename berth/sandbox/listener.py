"""A load balancer's test listener, played by a local HTTP server on 127.0.0.1: what Berth's
verification hook reaches during a blue/green deployment in the sandbox. Each route answers a
status and a body; the requests it received are kept (method, path, headers)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Route:
    status: int
    body: str = ""
    then: list[tuple[int, str]] = field(default_factory=list)
    """Answers for the following calls, in turn (the last one then repeats)."""


@dataclass
class TestListener:
    """Routes by path; an unknown path answers 404, as a listener rule with no match."""

    __test__ = False  # not a pytest class

    routes: dict[str, Route] = field(default_factory=dict)
    received: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> TestListener:
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                listener.received.append((self.command, self.path, dict(self.headers.items())))
                route = listener.routes.get(self.path.split("?", 1)[0])
                status, body = (route.status, route.body) if route else (404, "no rule matched")
                if route is not None and route.then:
                    route.status, route.body = route.then.pop(0)
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _answer

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> TestListener:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
