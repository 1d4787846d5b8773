"""`berth sandbox replay`: one raw event through a fresh sandbox, reported as JSON lines."""

from __future__ import annotations

import json
from typing import Any

import yaml

from berth.sandbox.names import ACCOUNT, REGION
from berth.sandbox.sandbox import Sandbox
from chalicelib.values import triggers


def route(event: Any) -> str | None:
    """The Lambda an EventBridge rule would invoke for `event`, by source and detail-type."""
    if not isinstance(event, dict):
        return None
    if "Records" in event:
        return "on_spec_uploaded"  # S3's own notification format, delivered directly
    for function, pattern in triggers.PATTERNS.items():
        if (
            event.get("source") in pattern["source"]
            and event.get("detail-type") in pattern["detail-type"]
        ):
            return function
    return None


def replay_event(
    raw: bytes, name: str, spec_json: str | None, sandbox: Sandbox | None = None
) -> tuple[list[dict[str, Any]], bool]:
    """Deliver `raw` once; (JSON lines to print, whether it was rejected as malformed).

    A fresh sandbox is started unless one is given (the reliability suite reuses one).
    """
    try:
        event = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        return [{"kind": "rejected", "file": name, "reason": f"not JSON: {exc}"}], True
    function = route(event)
    if function is None:
        what = (
            f"{event.get('source')!r} / {event.get('detail-type')!r}"
            if isinstance(event, dict)
            else type(event).__name__
        )
        return [{"kind": "ignored", "file": name, "reason": f"no Berth rule matches {what}"}], False
    if sandbox is not None:
        return _deliver(sandbox, function, event, spec_json)
    with Sandbox(rollout_seconds=0.0) as fresh:
        return _deliver(fresh, function, event, spec_json)


def _import_pushed_image(sandbox: Sandbox, event: Any) -> None:
    """An ECR push event means ECR holds that digest: put it in the sandbox's ECR too, so the
    simulated ECS can pull what the event names."""
    detail = event.get("detail") if isinstance(event, dict) else None
    if event.get("source") != "aws.ecr" or not isinstance(detail, dict):
        return
    keys = ("repository-name", "image-tag", "image-digest")
    repository, tag, digest = (detail.get(k) for k in keys)
    if isinstance(repository, str) and isinstance(digest, str) and isinstance(tag, str):
        sandbox.import_image(repository, tag, digest)


def _deliver(
    sandbox: Sandbox, function: str, event: Any, spec_json: str | None
) -> tuple[list[dict[str, Any]], bool]:
    if spec_json is not None:
        # The spec's subnets and security groups are the user's; the sandbox has its own.
        adapted = yaml.safe_load(sandbox.adapt_spec(spec_json))
        sandbox.accept_spec_directly(adapted, ACCOUNT, REGION)
    _import_pushed_image(sandbox, event)
    mark, seen = sandbox.recorder.mark(), len(sandbox.notifications)
    delivery = sandbox.deliver(function, event)
    sandbox.collect_notifications()
    lines: list[dict[str, Any]] = [
        {
            "kind": "delivery",
            "function": function,
            "result": delivery.result,
            "error": delivery.error,
        }
    ]
    lines += [
        {"kind": "ecs", "operation": c.operation, "params": c.params}
        for c in sandbox.recorder.ecs_mutations(mark)
    ]
    lines += [
        {"kind": "notification", "subject": n.subject, "document": n.document}
        for n in sandbox.notifications[seen:]
    ]
    malformed = delivery.error is not None or bool((delivery.result or {}).get("malformed"))
    return lines, malformed
