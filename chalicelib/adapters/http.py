"""HTTP calls Berth's verification hook makes through a load balancer's test listener.

Not AWS, but the edge all the same: the flow gets an `Answer` (status, latency, the start of the
body, or the error) and never sees a socket.

- The host is resolved first and every address it resolves to is checked: loopback (the Lambda
  runtime API), link-local (instance and task metadata), unspecified, multicast and reserved
  addresses are refused (chalicelib/spec/rules/verify_endpoints.py says why; an internal load
  balancer's private addresses are allowed). The connection then goes to the address that was
  checked, so a second DNS answer cannot move it (DNS rebinding); TLS still verifies the
  certificate against the host name.
- Redirects are never followed: http.client does not follow them, and the hook's headers (a
  secret among them) go to the listener the operator declared and nowhere else. A 3xx is the
  answer, compared with the status the spec expects.
- The sandbox replaces name resolution (`resolve`): its test listeners are local servers known by
  the names the sandbox's stage declares, and any other name does not resolve.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from collections.abc import Callable
from typing import ClassVar
from urllib.parse import urlsplit

from chalicelib.decisions.verification import Answer
from chalicelib.spec.rules.verify_endpoints import address_kind

BODY_READ = 4096
NEVER_CALLED = frozenset({"loopback", "link-local", "unspecified", "multicast", "reserved"})


class _PinnedHttp(http.client.HTTPConnection):
    """An HTTP connection to `address`, whatever the host name resolves to by then."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)


class _PinnedHttps(http.client.HTTPSConnection):
    """An HTTPS connection to `address`, the certificate verified against the host name."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def connect(self) -> None:
        raw = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = ssl.create_default_context().wrap_socket(raw, server_hostname=self.host)


class _Refused(Exception):
    """The call is not made: the host is not one this process may call."""


def _dns(host: str, port: int) -> tuple[str, int]:
    """The first address `host` resolves to, refused when any of them may never be called."""
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = [str(entry[4][0]) for entry in found]
    for address in addresses:
        kind = address_kind(ipaddress.ip_address(address.split("%", 1)[0]))
        if kind in NEVER_CALLED:
            raise _Refused(f"{host} resolves to {address}, a {kind} address")
    return addresses[0], port


class Http:
    """Plain HTTP(S) requests with a timeout, to checked addresses, without redirects."""

    resolve: ClassVar[Callable[[str, int], tuple[str, int] | None] | None] = None
    """The sandbox's name service: (host, port) -> the local address to connect to, or None
    when the name is not one of its listeners. None: DNS, with the checks above."""

    def request(
        self, method: str, url: str, headers: dict[str, str], timeout: float
    ) -> Answer:
        parts = urlsplit(url)
        host, https = parts.hostname or "", parts.scheme == "https"
        port = parts.port or (443 if https else 80)
        started = time.perf_counter()
        try:
            address, port = self._address(host, port)
            connection: http.client.HTTPConnection = (
                _PinnedHttps(host, port, address, timeout)
                if https
                else _PinnedHttp(host, port, address, timeout)
            )
            target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            try:
                connection.request(method, target, headers=headers)
                response = connection.getresponse()
                body = response.read(BODY_READ)
                return Answer(response.status, _ms(started), body.decode("utf-8", "replace"))
            finally:
                connection.close()
        except _Refused as refused:
            return Answer(None, 0, error=f"refused: {refused}")
        except (TimeoutError, OSError, http.client.HTTPException) as exc:
            return Answer(None, _ms(started), error=f"{type(exc).__name__}: {exc}")

    def _address(self, host: str, port: int) -> tuple[str, int]:
        if Http.resolve is None:
            return _dns(host, port)
        local = Http.resolve(host, port)
        if local is None:
            raise _Refused(f"{host} is not a host this process may call")
        return local


def _ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)
