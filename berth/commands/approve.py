"""`berth approve`: the signed call to the stack's approval endpoint, and what the approval
recorded on a deployment held at its approval gate."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import quote

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

from chalicelib.decisions.approval import APPROVAL_DELAY, approved_line
from chalicelib.values.records import DeploymentRecord


def signed_approval(
    session: Any, region: str, url: str, *, environment: str, service: str, body: dict[str, Any]
) -> tuple[int, dict[str, Any]]:
    """POST /approvals/{environment}/{service} to the stack's API (`url`, Chalice's "Rest API
    URL"), signed with SigV4 for execute-api by the session's credentials: API Gateway's IAM
    authorization checks the signature and `execute-api:Invoke`, and hands the Lambda the ARN
    it authenticated (API Gateway developer guide, "Control access to a REST API with IAM
    permissions"; botocore's SigV4Auth is the signer boto3 itself uses). (status, body)."""
    credentials = session.get_credentials()
    if credentials is None:
        return 0, {"message": "no AWS credentials to sign the approval with"}
    target = f"{url.rstrip('/')}/approvals/{quote(environment, safe='')}/{quote(service, safe='')}"
    data = json.dumps(body).encode()
    request = AWSRequest(
        method="POST", url=target, data=data, headers={"Content-Type": "application/json"}
    )
    SigV4Auth(credentials.get_frozen_credentials(), "execute-api", region).add_auth(request)
    prepared = urllib.request.Request(
        target, data=data, headers=dict(request.headers.items()), method="POST"
    )
    try:
        with urllib.request.urlopen(prepared, timeout=30) as answer:
            return int(answer.status), dict(json.loads(answer.read() or b"{}"))
    except urllib.error.HTTPError as refused:
        try:
            said = dict(json.loads(refused.read() or b"{}"))
        except ValueError:
            said = {"message": refused.reason}
        return int(refused.code), said


def approval_lines(record: DeploymentRecord, approved_now: bool) -> list[str]:
    """`dev/apim: approved 4.7.0-2 (record D#…) ...`, or that it was approved already."""
    image = f" {record.image.label}" if record.image else ""
    where = f"{record.environment}/{record.service}"
    approval = record.approval
    said = approved_line(approval) if approval else "approved"
    if not approved_now:
        return [f"{where}{image} (record {record.record_id}): already {said}; nothing changed"]
    return [
        f"{where}{image} (record {record.record_id}): {said}",
        f"  Berth's hook lets production traffic move at its next call (within "
        f"{APPROVAL_DELAY} s): berth history {record.environment} {record.service}",
    ]


def approval_text(record: DeploymentRecord) -> str:
    """The approval gate's state, for `berth history`."""
    approval = record.approval
    if approval is None:
        return ""
    if approval.approved_by is not None:
        return approved_line(approval)
    return f"approval asked at {approval.asked_at:%Y-%m-%d %H:%M} UTC, deadline " \
           f"{approval.deadline:%Y-%m-%d %H:%M} UTC, not approved"
