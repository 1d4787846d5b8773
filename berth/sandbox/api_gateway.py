"""API Gateway's IAM authorization in front of app.py's routes, as the sandbox plays it: a
loopback HTTP endpoint that verifies each request's SigV4 signature against the sandbox's known
principals (recomputed with botocore's own signer) and hands the route the caller's ARN in the
proxy event's `requestContext.identity`, as API Gateway does for an AWS_IAM method.

What AWS does and this mirrors (API Gateway developer guide, "Control access to a REST API with
IAM permissions", and "Input format of a Lambda function for proxy integration"; gateway
responses MISSING_AUTHENTICATION_TOKEN, INVALID_SIGNATURE, EXPIRED_TOKEN, all 403): an unsigned
request never reaches the Lambda ("Missing Authentication Token"); a signature that does not
match, or by a key AWS does not know, is refused; a signature older than five minutes is
refused; otherwise the Lambda sees `userArn`, `caller`, `accessKey` and `accountId` of the IAM
identity that signed.
"""

from __future__ import annotations

import hmac
import json
import re
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from berth.sandbox.lambdas import LambdaContext, _app_module
from berth.sandbox.names import ACCOUNT, REGION
from berth.sandbox.server import SANDBOX_ENV

MISSING_TOKEN = "Missing Authentication Token"
BAD_SIGNATURE = (
    "The request signature we calculated does not match the signature you provided. Check your "
    "AWS Secret Access Key and signing method. Consult the service documentation for details."
)
UNKNOWN_KEY = "The security token included in the request is invalid."
EXPIRED = "Signature expired"
_AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/"
    r"(?P<service>[^/]+)/aws4_request, ?SignedHeaders=(?P<signed>[^,]+), ?"
    r"Signature=(?P<sig>[0-9a-f]+)"
)


@dataclass(frozen=True)
class Principal:
    """An IAM identity the sandbox's AWS knows: its keys and the ARN API Gateway would name."""

    access_key: str
    secret_key: str
    arn: str


# name -> (access key, secret key, the ARN API Gateway gives the Lambda). `operator` signs with
# the shell's keys (moto's), named as moto's GetCallerIdentity names them, so that what a
# rollback records as its requester and what an approval records as its approver compare.
PRINCIPALS = {
    "operator": (SANDBOX_ENV["AWS_ACCESS_KEY_ID"], SANDBOX_ENV["AWS_SECRET_ACCESS_KEY"],
                 f"arn:aws:sts::{ACCOUNT}:user/moto"),
    "release-manager": ("AKIASANDBOXRELEASE01", "sandbox-release-manager-secret",
                        f"arn:aws:sts::{ACCOUNT}:assumed-role/berth-release-managers/alice"),
    "outsider": ("AKIASANDBOXOUTSIDER1", "sandbox-outsider-secret",
                 f"arn:aws:sts::{ACCOUNT}:assumed-role/contractors/mallory"),
}  # fmt: skip


@dataclass
class ApiGateway:
    """The stack's REST API (IAM-authorised routes of app.py) on 127.0.0.1."""

    principals: dict[str, Principal] = field(
        default_factory=lambda: {k: Principal(k, s, a) for k, s, a in PRINCIPALS.values()}
    )
    calls: list[tuple[str, str, int]] = field(default_factory=list)
    """(method, path, status) of every request, refused ones included."""
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def principal(self, name: str) -> Principal:
        """One of PRINCIPALS by name: `operator`, `release-manager`, `outsider`."""
        key, _, _ = PRINCIPALS[name]
        return self.principals[key]

    def start(self) -> ApiGateway:
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k: v for k, v in self.headers.items()}
                status, answer = gateway.handle("POST", self.path, headers, body)
                gateway.calls.append(("POST", self.path, status))
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

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

    # ---- what API Gateway does before the Lambda -------------------------------------------

    def handle(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, Any]:
        found = {k.lower(): v for k, v in headers.items()}
        if "authorization" not in found:
            return 403, {"message": MISSING_TOKEN}
        caller_or_refusal = self._verified(method, path, headers, body)
        if isinstance(caller_or_refusal, str):
            return 403, {"message": caller_or_refusal}
        return self._invoke(method, path, headers, body, caller_or_refusal)

    def _verified(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> Principal | str:
        found = {k.lower(): v for k, v in headers.items()}
        parsed = _AUTHORIZATION.fullmatch(found["authorization"].strip())
        if parsed is None or parsed["service"] != "execute-api" or parsed["region"] != REGION:
            return BAD_SIGNATURE
        principal = self.principals.get(parsed["key"])
        if principal is None:
            return UNKNOWN_KEY
        stamp = found.get("x-amz-date", "")
        try:
            signed_at = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        except ValueError:
            return BAD_SIGNATURE
        if abs(datetime.now(UTC) - signed_at) > timedelta(minutes=5):
            return EXPIRED
        names = parsed["signed"].split(";")
        if "host" not in names or any(n not in found for n in names):
            return BAD_SIGNATURE
        request = AWSRequest(
            method=method, url=f"http://{found['host']}{path}",
            headers={n: found[n] for n in names}, data=body,
        )  # fmt: skip
        request.context["timestamp"] = stamp
        keys = Credentials(principal.access_key, principal.secret_key)
        signer = SigV4Auth(keys, "execute-api", REGION)
        canonical = signer.canonical_request(request)
        expected = signer.signature(signer.string_to_sign(request, canonical), request)
        return principal if hmac.compare_digest(expected, parsed["sig"]) else BAD_SIGNATURE

    def _invoke(
        self, method: str, path: str, headers: dict[str, str], body: bytes, caller: Principal
    ) -> tuple[int, Any]:
        """The proxy event API Gateway sends the route's Lambda (REST API, proxy integration)."""
        parts = urlsplit(path)
        segments = parts.path.strip("/").split("/")
        if len(segments) != 3 or segments[0] != "approvals":
            return 403, {"message": MISSING_TOKEN}  # API Gateway's answer to an unknown route
        event = {
            "resource": "/approvals/{environment}/{service}",
            "path": parts.path,
            "httpMethod": method,
            "headers": dict(headers),
            "multiValueHeaders": {k: [v] for k, v in headers.items()},
            "queryStringParameters": {k: v[0] for k, v in parse_qs(parts.query).items()} or None,
            "multiValueQueryStringParameters": None,
            "pathParameters": {"environment": segments[1], "service": segments[2]},
            "stageVariables": None,
            "requestContext": {
                "resourcePath": "/approvals/{environment}/{service}",
                "httpMethod": method,
                "path": f"/api{parts.path}",
                "stage": "api",
                "accountId": ACCOUNT,
                "requestId": str(uuid.uuid4()),
                "identity": {
                    "userArn": caller.arn,
                    "caller": caller.arn.rsplit("/", 1)[-1],
                    "accessKey": caller.access_key,
                    "accountId": caller.arn.split(":")[4],
                    "sourceIp": "127.0.0.1",
                },
            },
            "body": body.decode() if body else None,
            "isBase64Encoded": False,
        }
        answer = _app_module().app(event, LambdaContext("api_handler", str(uuid.uuid4())))
        return int(answer["statusCode"]), json.loads(answer["body"] or "null")
