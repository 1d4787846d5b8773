"""Issue 28: an approval carries an identity AWS vouches for. `berth approve` signs its call to
the stack's IAM-authorised endpoint (SigV4); the sandbox plays API Gateway's IAM authorization
(berth/sandbox/api_gateway.py), so the approver recorded is the ARN of whoever signed, checked
against the environment's declared approvers and, where it says so, against the deployment's
requester; unsigned and badly signed calls never reach the Lambda."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import boto3
import pytest
from click.testing import CliRunner

from berth.cli import main
from berth.commands.approve import signed_approval
from berth.sandbox.api_gateway import BAD_SIGNATURE, MISSING_TOKEN, PRINCIPALS
from berth.sandbox.names import REGION
from tests.integration.helpers import history
from tests.integration.test_approval_gate import (  # noqa: F401 (fixtures)
    CALLER,
    _gated,
    _run_until_waiting,
    _sandbox_env,
    listener,
)

ALICE = PRINCIPALS["release-manager"][2]
MALLORY = PRINCIPALS["outsider"][2]


def signed_as(sandbox: Any, name: str, secret: str | None = None) -> tuple[int, dict[str, Any]]:
    """`berth approve dev apim`'s call, signed with one of the sandbox's principals' keys."""
    key, real_secret, _ = PRINCIPALS[name]
    session = boto3.session.Session(
        aws_access_key_id=key, aws_secret_access_key=secret or real_secret, region_name=REGION
    )
    assert sandbox.api is not None
    return signed_approval(
        session, REGION, sandbox.api.url, environment="dev", service="apim", body={"note": "n"}
    )


def waiting(sandbox: Any, listener: Any) -> Any:  # noqa: F811
    """APIM gated, then a push waiting at its approval gate; the waiting record."""
    _gated(sandbox, listener, timeout=30)
    calls = len(sandbox.ecs_sim.hook_invocations)
    sandbox.push("wso2am", "4.7.0-2")
    _run_until_waiting(sandbox, calls)
    record = history("apim")[0]
    assert record.approval is not None and record.approval.approved_by is None
    return record


def test_the_approver_recorded_is_the_arn_aws_authenticated(sandbox, listener):  # noqa: F811
    waiting(sandbox, listener)
    # When the release manager signs the approval (the shell's own identity is moto's)
    status, said = signed_as(sandbox, "release-manager")
    # Then the record names the ARN API Gateway gave the Lambda, not one the client wrote
    assert status == 200 and said["approved"] is True
    record = history("apim")[0]
    assert record.approval is not None
    assert (record.approval.approved_by, record.approval.note) == (ALICE, "n")
    assert ALICE != CALLER


def test_an_unsigned_or_badly_signed_call_never_reaches_the_lambda(sandbox, listener):  # noqa: F811
    record = waiting(sandbox, listener)
    assert sandbox.api is not None
    url = f"{sandbox.api.url}/approvals/dev/apim"
    unsigned = urllib.request.Request(url, data=b"{}", method="POST",
                                      headers={"Content-Type": "application/json"})  # fmt: skip
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(unsigned, timeout=10)
    assert (refused.value.code, json.loads(refused.value.read())) == (403, {"message": MISSING_TOKEN})
    # A forged "approved by" in the body changes nothing either: the identity is the signer's
    assert signed_as(sandbox, "release-manager", secret="not-alices-secret") == (
        403, {"message": BAD_SIGNATURE},
    )  # fmt: skip
    kept = history("apim")[0]
    assert kept.record_id == record.record_id
    assert kept.approval is not None and kept.approval.approved_by is None


def test_a_principal_the_environment_does_not_list_may_not_approve(sandbox, listener):  # noqa: F811
    waiting(sandbox, listener)
    status, said = signed_as(sandbox, "outsider")
    assert status == 403
    assert said["message"] == (
        f"{MALLORY} may not approve dev's deployments (approval.approvers of dev in the stage's "
        "environments file: arn:aws:sts::123456789012:assumed-role/berth-release-managers/*, "
        f"arn:aws:sts::123456789012:assumed-role/wso2-developers/*, {CALLER})"
    )
    kept = history("apim")[0]
    assert kept.approval is not None and kept.approval.approved_by is None


def test_berth_approve_writes_no_table_it_calls_the_stacks_endpoint(sandbox, listener):  # noqa: F811
    waiting(sandbox, listener)
    without = {k: v for k, v in sandbox.env_vars().items() if k != "BERTH_APPROVALS_URL"}
    result = CliRunner().invoke(main, ["approve", "dev", "apim"], env=without)
    assert (result.exit_code, result.stderr) == (
        1, "berth: approve needs the stack's API: --approvals-url or BERTH_APPROVALS_URL\n",
    )  # fmt: skip
    assert history("apim")[0].approval.approved_by is None
    assert sandbox.api is not None
    before = len(sandbox.api.calls)
    approved = CliRunner().invoke(main, ["approve", "dev", "apim"], env=sandbox.env_vars())
    assert approved.exit_code == 0, approved.output
    assert sandbox.api.calls[before:] == [("POST", "/approvals/dev/apim", 200)]
