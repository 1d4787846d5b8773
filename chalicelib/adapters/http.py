"""HTTP calls Berth's verification hook makes through a load balancer's test listener.

Not AWS, but the edge all the same: the flow gets an `Answer` (status, latency, the start of the
body, or the error) and never sees urllib. The sandbox restricts `allowed` to loopback hosts.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import ClassVar

from chalicelib.decisions.verification import Answer

BODY_READ = 4096


class Http:
    """Plain HTTP(S) requests with a timeout; TLS certificates are verified."""

    allowed: ClassVar[Callable[[str], bool] | None] = None
    """Which hosts may be called (None: any); the sandbox allows loopback only."""

    def request(
        self, method: str, url: str, headers: dict[str, str], timeout: float
    ) -> Answer:
        host = urllib.parse.urlsplit(url).hostname or ""
        if Http.allowed is not None and not Http.allowed(host):
            return Answer(None, 0, error=f"refused: {host} is not a host this process may call")
        request = urllib.request.Request(url, method=method, headers=headers)
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                body = response.read(BODY_READ)
                return Answer(response.status, _ms(started), body.decode("utf-8", "replace"))
        except urllib.error.HTTPError as exc:
            body = exc.read(BODY_READ) if exc.fp is not None else b""
            return Answer(exc.code, _ms(started), body.decode("utf-8", "replace"))
        except (TimeoutError, urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            return Answer(None, _ms(started), error=f"{type(exc).__name__}: {reason}")


def _ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)
