"""The AWS stand-in: a moto server in this process on 127.0.0.1, and a guard that keeps every
boto3 request on loopback (no test and no sandbox run may ever reach real AWS)."""

from __future__ import annotations

import ipaddress
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import botocore.httpsession

SANDBOX_ENV = {
    "AWS_ACCESS_KEY_ID": "sandbox",
    "AWS_SECRET_ACCESS_KEY": "sandbox",
    "AWS_SESSION_TOKEN": "sandbox",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    # moto: service deployments start with no running tasks, as a real rollout does.
    "MOTO_ECS_SERVICE_RUNNING": "0",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_TRACE_DISABLED": "true",
}


def quiet_logs() -> None:
    """Keep the terminal for Berth's timeline: the handlers' JSON logs only show errors."""
    for name in ("berth", "werkzeug"):
        logging.getLogger(name).setLevel(logging.ERROR)


class NonLoopbackRequest(RuntimeError):
    """A boto3 request aimed somewhere other than this machine's loopback."""


def is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


_original_send = botocore.httpsession.URLLib3Session.send


def _guarded_send(self: Any, request: Any) -> Any:
    if not is_loopback(request.url):
        raise NonLoopbackRequest(
            f"refusing to send {request.method} {urlsplit(request.url).hostname}: "
            "Berth's sandbox and tests only talk to the moto server on 127.0.0.1"
        )
    return _original_send(self, request)


def guard_loopback() -> None:
    """Make every botocore HTTP request in this process fail unless it targets loopback, and
    let Berth's verification hook resolve only the sandbox's test listeners (local servers)."""
    from berth.sandbox.listener import resolve
    from chalicelib.adapters.http import Http

    botocore.httpsession.URLLib3Session.send = _guarded_send  # type: ignore[method-assign]
    Http.resolve = resolve


class MotoServer:
    """moto's threaded server on 127.0.0.1 and a free port, started and stopped by Berth."""

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.endpoint = ""

    def start(self) -> str:
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        return self.endpoint

    def stop(self) -> None:
        self._server.stop()


@contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables for the duration of a block, restoring the old ones after."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
