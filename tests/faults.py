"""Inject AWS faults into one client: a botocore before-send hook answers in AWS's place."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.exceptions import ReadTimeoutError


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Any:
        yield self._body

    def read(self, *_: Any, **__: Any) -> bytes:
        return self._body


@dataclass
class Fault:
    """Answer `operation` with `code` the next `times` times (None: every time).

    `code="ReadTimeout"` raises botocore's read timeout instead of answering.
    """

    operation: str
    code: str
    status: int = 400
    times: int | None = 1
    injected: int = 0
    _detach: Any = None

    def _body(self, protocol: str) -> tuple[bytes, dict[str, str]]:
        if protocol in ("json", "rest-json"):
            body = json.dumps({"__type": self.code, "message": f"injected {self.code}"})
            return body.encode(), {
                "x-amzn-ErrorType": self.code,
                "Content-Type": "application/x-amz-json-1.1",
            }
        xml = (
            f"<ErrorResponse><Error><Code>{self.code}</Code><Message>injected {self.code}</Message>"
            "</Error></ErrorResponse>"
        )
        return xml.encode(), {"Content-Type": "text/xml"}

    def attach(self, client: Any) -> Fault:
        protocol = client.meta.service_model.protocol

        def answer(request: Any, **kwargs: Any) -> AWSResponse | None:
            if kwargs.get("event_name", "").split(".")[-1] != self.operation:
                return None
            if self.times is not None and self.injected >= self.times:
                return None
            self.injected += 1
            if self.code == "ReadTimeout":
                raise ReadTimeoutError(endpoint_url=request.url)
            body, headers = self._body(protocol)
            return AWSResponse(request.url, self.status, headers, _Raw(body))

        client.meta.events.register(f"before-send.*.{self.operation}", answer, unique_id=id(self))
        self._detach = lambda: client.meta.events.unregister(
            f"before-send.*.{self.operation}", unique_id=id(self)
        )
        return self

    def detach(self) -> None:
        self._detach()
