"""A load balancer's test listener, played by a local HTTP server on 127.0.0.1: what Berth's
verification hook reaches during a blue/green deployment in the sandbox. Each route answers a
status and a body; the requests it received are kept (method, path, headers).

Berth's hook never calls loopback addresses, as on AWS (adapters/http.py), so each listener is
known by a name under `.test` (RFC 6761: never resolved by real DNS), the name the sandbox's
stage declares as the environment's test listener; `resolve` is the sandbox's name service for
them, and any other name does not resolve at all."""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_LISTENING: dict[str, tuple[str, int]] = {}
"""Each running listener's name -> its local address."""


def resolve(host: str, port: int) -> tuple[str, int] | None:
    """The local address of the listener named `host` on the URL's port 80, else None."""
    return _LISTENING.get(host.lower()) if port == 80 else None


@dataclass
class Route:
    status: int
    body: str = ""
    then: list[tuple[int, str]] = field(default_factory=list)
    """Answers for the following calls, in turn (the last one then repeats)."""
    headers: dict[str, str] = field(default_factory=dict)
    """Extra response headers (a redirect's Location)."""
    delay: float = 0.0
    """Seconds to wait before answering (a slow listener)."""


@dataclass
class TestListener:
    """Routes by path; an unknown path answers 404, as a listener rule with no match."""

    __test__ = False  # not a pytest class

    routes: dict[str, Route] = field(default_factory=dict)
    received: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    name: str = "apim-dev-test.sandbox.test"
    """The host name the hook calls it by (the dev environment's declared test listener)."""
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://{self.name}"

    def start(self) -> TestListener:
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                listener.received.append((self.command, self.path, dict(self.headers.items())))
                route = listener.routes.get(self.path.split("?", 1)[0])
                status, body = (route.status, route.body) if route else (404, "no rule matched")
                extra = dict(route.headers) if route else {}
                if route is not None and route.delay:
                    time.sleep(route.delay)
                if route is not None and route.then:
                    route.status, route.body = route.then.pop(0)
                data = body.encode()
                self.send_response(status)
                for name, value in extra.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                # The caller may have given up waiting (its timeout): nothing to answer then.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(data)


            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _answer

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        _LISTENING[self.name] = ("127.0.0.1", int(self._server.server_address[1]))
        return self

    def stop(self) -> None:
        _LISTENING.pop(self.name, None)
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> TestListener:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
