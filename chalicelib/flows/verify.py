"""Berth's verification hook: ECS invokes it at POST_TEST_TRAFFIC_SHIFT of a blue/green, canary
or linear deployment, when the new revision has all the test traffic and none of the production
traffic. It calls the product through the test listener (`decisions.verification` says what the
answers mean), records what it found on the service's deployment record, and answers ECS:
SUCCEEDED lets production traffic move, FAILED rolls back before any of it did, IN_PROGRESS asks
ECS to invoke it again after callBackDelay while the product is still starting. A service with
`deployment.approval` is then held at its approval gate (flows/approval.py), with or without a
verification before it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.context import Berth, invocation_deadline, logger
from chalicelib.decisions.hook_invocations import invocation_refusal
from chalicelib.decisions.verification import (
    ANSWER_MARGIN_SECONDS,
    CALL_BACK_DELAY,
    Answer,
    Check,
    Verdict,
    checks_of,
    redacted,
    verdict,
)
from chalicelib.errors import AwsCallFailed
from chalicelib.rendering.strategies import HOOK_DETAILS_KEY, VERIFY_STAGE
from chalicelib.values.events import LifecycleHookInvocation
from chalicelib.values.records import DeploymentRecord

from .approval import on_gate

FIRST_SEEN = "firstSeenAt"
VERIFIED = "verified"


def on_hook(berth: Berth, invocation: LifecycleHookInvocation) -> dict[str, Any]:
    """Verify the new revision, then hold it at the approval gate when the spec asks for one;
    the answer ECS expects ({hookStatus, callBackDelay, hookDetails})."""
    details = invocation.hook_details.get(HOOK_DETAILS_KEY)
    gated = isinstance(details, dict) and isinstance(details.get("approval"), dict)
    if not isinstance(details, dict) or not (details.get("testUrl") or gated):
        # Not a hook Berth configured: nothing to verify against, so nothing may pass.
        logger.warning("hook invoked without Berth's hookDetails", extra={
            "service": invocation.execution_details.service_arn})  # fmt: skip
        return {"hookStatus": "FAILED"}
    try:
        record = _record_in_progress(berth, details)
    except AwsCallFailed as failure:
        # Nothing proves the invocation yet: do nothing, and let ECS ask again.
        logger.warning("hook cannot read Berth's records", extra={"error": str(failure)})
        return {"hookStatus": "IN_PROGRESS", "callBackDelay": CALL_BACK_DELAY}
    refusal = invocation_refusal(
        stage=invocation.lifecycle_stage, expected_stage=VERIFY_STAGE,
        service_arn=invocation.execution_details.service_arn,
        revision_arn=invocation.execution_details.target_service_revision_arn,
        details=details, record=record, fence=berth.settings.fence,
    )  # fmt: skip
    if refusal is not None:
        # Read no secret, call nothing: a FAILED answer is all an unproven invocation gets.
        logger.warning("hook invocation refused", extra={
            "reason": refusal, "service": invocation.execution_details.service_arn})  # fmt: skip
        return {"hookStatus": "FAILED"}
    if details.get("testUrl") and not details.get(VERIFIED):
        answer = _verified(berth, details, invocation)
        if answer["hookStatus"] != "SUCCEEDED" or not gated:
            return answer
        # Verified: the gate's call-backs need not verify again (ECS passes back what the hook
        # returned with IN_PROGRESS).
        details = {**details, VERIFIED: True}
    found = on_gate(berth, details, invocation)
    answer = {"hookStatus": found.status}
    if found.status == "IN_PROGRESS":
        answer["callBackDelay"] = found.call_back_delay
        answer["hookDetails"] = {HOOK_DETAILS_KEY: details}
    return answer


def _verified(
    berth: Berth, details: dict[str, Any], invocation: LifecycleHookInvocation
) -> dict[str, Any]:
    """Berth's verification through the test listener, as an answer to ECS."""
    now = berth.clock()
    first_seen = _first_seen(details, now)
    found = _verify(berth, details)
    result = (
        found
        if isinstance(found, Verdict)
        else verdict(found, first_seen=first_seen, now=now,
                     startup_minutes=int(details.get("startup", 10)))
    )  # fmt: skip
    _record(berth, details, invocation, result)
    answer: dict[str, Any] = {"hookStatus": result.status}
    if result.status == "IN_PROGRESS":
        # ECS passes returned hookDetails back on its next invocation ("Lambda hooks for Amazon
        # ECS service deployments"): the checks travel with the time the product was first seen.
        answer["callBackDelay"] = result.call_back_delay
        answer["hookDetails"] = {
            HOOK_DETAILS_KEY: {**details, FIRST_SEEN: first_seen.isoformat()}
        }
    return answer


def _first_seen(details: dict[str, Any], now: datetime) -> datetime:
    try:
        return datetime.fromisoformat(str(details[FIRST_SEEN]))
    except (KeyError, ValueError):
        return now


def _record_in_progress(berth: Berth, details: dict[str, Any]) -> DeploymentRecord | None:
    """Berth's active record of the service hookDetails name, when one is in progress."""
    environment, service = str(details.get("environment")), str(details.get("service"))
    head = berth.store.get_head(environment, service)
    if head.active_record_id is None:
        return None
    record = berth.store.get_record(environment, service, head.active_record_id)
    return record if record is not None and record.status == "IN_PROGRESS" else None


def _seconds_left(berth: Berth) -> float | None:
    """What this invocation may still spend on calls, keeping time to record and answer; None
    outside Lambda (no deadline)."""
    deadline = invocation_deadline()
    if deadline is None:
        return None
    return (deadline - berth.clock()).total_seconds() - ANSWER_MARGIN_SECONDS


def _verify(berth: Berth, details: dict[str, Any]) -> list[tuple[Check, Answer]] | Verdict:
    """Make each check's call through the test listener; a FAILED verdict when a header's secret
    cannot be read (nothing would tell the API's answer apart from a wrong credential). Each
    call's timeout is bounded by the invocation's remaining time: when too little is left, the
    hook answers IN_PROGRESS and ECS calls it back, instead of Lambda killing it unrecorded."""
    base = str(details["testUrl"]).rstrip("/")
    timeout = float(details.get("timeout", 5))
    results: list[tuple[Check, Answer]] = []
    read: list[str] = []
    for check in checks_of(details):
        headers: dict[str, str] = {}
        if check.header and check.secret:
            try:
                headers[check.header] = berth.secrets.value(check.secret)
            except AwsCallFailed as failure:
                return Verdict("FAILED", f"{check.name}: cannot read the secret of header "
                                         f"{check.header}: {failure}")  # fmt: skip
            read.append(headers[check.header])
        left = _seconds_left(berth)
        if left is not None and left < 1:
            return Verdict("IN_PROGRESS", f"{check.name}: this invocation's time ran short; ECS "
                                          "calls the hook back", CALL_BACK_DELAY)  # fmt: skip
        bounded = timeout if left is None else min(timeout, left)
        answer = berth.http.request(check.method, base + check.path, headers, bounded)
        # Nothing the listener echoes of a secret Berth read is kept or told.
        results.append((check, redacted(answer, read)))
    return results


WORDS = {"SUCCEEDED": "passed", "FAILED": "failed", "IN_PROGRESS": "waiting"}


def _record(
    berth: Berth, details: dict[str, Any], invocation: LifecycleHookInvocation, result: Verdict
) -> None:
    """Keep what the hook found on the service's active deployment record (its outcome
    notification then says why): only a record of the service ECS named, still in progress."""
    environment, service = str(details.get("environment")), str(details.get("service"))
    try:
        head = berth.store.get_head(environment, service)
        if head.active_record_id is None:
            return
        record = berth.store.get_record(environment, service, head.active_record_id)
        arn = invocation.execution_details.service_arn
        if record is None or record.status != "IN_PROGRESS":
            return
        if record.ecs_service_arn not in (None, arn):
            return
        line = f"{invocation.lifecycle_stage}: verification {WORDS[result.status]}: {result.reason}"
        stages = list(record.stages)
        waiting = f"{invocation.lifecycle_stage}: verification waiting"
        if stages and stages[-1].startswith(waiting):
            stages[-1] = line  # one line while it waits, not one per call-back
        else:
            stages.append(line)
        berth.store.transition(
            record, {"IN_PROGRESS"}, stages=stages, verification=result.reason,
            updated_at=berth.clock(),
        )  # fmt: skip
    except AwsCallFailed as failure:
        # The answer to ECS matters more than the note: it is given anyway.
        logger.warning("verification not recorded", extra={"error": str(failure)})
