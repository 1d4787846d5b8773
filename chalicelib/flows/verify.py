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

from chalicelib.context import Berth, logger
from chalicelib.decisions.verification import Answer, Check, Verdict, checks_of, verdict
from chalicelib.errors import AwsCallFailed
from chalicelib.rendering.strategies import HOOK_DETAILS_KEY
from chalicelib.values.events import LifecycleHookInvocation

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


def _verify(berth: Berth, details: dict[str, Any]) -> list[tuple[Check, Answer]] | Verdict:
    """Make each check's call through the test listener; a FAILED verdict when a header's secret
    cannot be read (nothing would tell the API's answer apart from a wrong credential)."""
    base = str(details["testUrl"]).rstrip("/")
    timeout = float(details.get("timeout", 5))
    results: list[tuple[Check, Answer]] = []
    for check in checks_of(details):
        headers: dict[str, str] = {}
        if check.header and check.secret:
            try:
                headers[check.header] = berth.secrets.value(check.secret)
            except AwsCallFailed as failure:
                return Verdict("FAILED", f"{check.name}: cannot read the secret of header "
                                         f"{check.header}: {failure}")  # fmt: skip
        answer = berth.http.request(check.method, base + check.path, headers, timeout)
        results.append((check, answer))
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
