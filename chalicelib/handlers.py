"""The door between Lambda and the flows: parse, de-duplicate, call one flow, report.

Each handler takes the raw event exactly as Lambda delivers it. Events of an unknown shape are
logged with their id and answered, never raised: a raise would make Lambda retry a message that
can never succeed. AWS failures the flows cannot record (DynamoDB itself down) do raise, so that
Lambda's retry and the dead-letter queue keep the event.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import partial
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import ValidationError

from chalicelib.values.events import (
    DeployBatch,
    EcrImageAction,
    EcsDeploymentStateChange,
    EcsServiceAction,
    EcsTaskStateChange,
    EventBridgeEvent,
    LifecycleHookInvocation,
    parse_event,
    parse_spec_objects,
)
from chalicelib.values.outcomes import Outcome

from .context import Berth, invocation_started
from .errors import EventNotUnderstood
from .settings import Settings

logger = Logger(service="berth")
metrics = Metrics(namespace="Berth", service="berth")


def _tracer() -> Tracer | None:
    """X-Ray tracing, off unless configured (POWERTOOLS_TRACE_DISABLED=false, Chalice "xray":
    true, and aws-xray-sdk present, e.g. from the Powertools Lambda layer). The SDK is not a
    requirement: it brings its own botocore and would quadruple the deployment zip."""
    try:
        import aws_xray_sdk  # noqa: F401
    except ImportError:
        return None
    return Tracer(service="berth")


tracer = _tracer()

_berth: Berth | None = None


def berth() -> Berth:
    """The process's Berth, built on first use (a Lambda container reuses it across invocations)."""
    global _berth
    if _berth is None:
        _berth = Berth.from_settings(Settings.from_environment())
    return _berth


def use(instance: Berth | None) -> None:
    """Point the handlers at another Berth (the sandbox and tests), or None to rebuild from env."""
    global _berth
    _berth = instance


def _traced(work: Callable[[], list[Outcome]]) -> list[dict[str, Any]]:
    if tracer is None:
        return [o.model_dump(mode="json") for o in work()]

    @tracer.capture_method
    def handle_event() -> list[dict[str, Any]]:
        return [o.model_dump(mode="json") for o in work()]

    return handle_event()


def _once(
    instance: Berth, key: dict[str, Any], work: Callable[[], list[Outcome]], context: Any
) -> list[dict[str, Any]]:
    """Run `work` once per `key`: a redelivered event returns the first delivery's outcome."""
    return instance.once(key, partial(_traced, work), context)


def _report(outcomes: list[dict[str, Any]]) -> dict[str, Any]:
    for outcome in outcomes:
        metrics.add_metric(name=f"outcome_{outcome['action']}", unit=MetricUnit.Count, value=1)
    if outcomes:
        metrics.flush_metrics()
    return {"outcomes": outcomes}


def _not_understood(exc: EventNotUnderstood) -> dict[str, Any]:
    logger.warning(
        "event not understood; ignored", extra={"event_id": exc.event_id, "reason": exc.reason}
    )
    metrics.add_metric(name="events_not_understood", unit=MetricUnit.Count, value=1)
    metrics.flush_metrics()
    return {
        "outcomes": [{"action": "ignored", "reason": f"malformed event: {exc.reason}"}],
        "malformed": True,
    }


def _start(raw: Any, handler: str, context: Any) -> Berth:
    event_id = raw.get("id") if isinstance(raw, dict) else None
    logger.set_correlation_id(str(event_id) if event_id else None)
    logger.append_keys(handler=handler)
    instance = berth()
    if instance.settings.account is None:
        instance.settings.account = _function_account(context)
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    invocation_started(
        instance.clock() + timedelta(milliseconds=remaining()) if remaining else None
    )
    return instance


def _function_account(context: Any) -> str | None:
    """The account of the invoked function: its ARN `arn:aws:lambda:REGION:ACCOUNT:function:NAME`
    (Lambda developer guide, "Using the Lambda context object to retrieve Python function
    information", invoked_function_arn; "Understanding Lambda function ARNs")."""
    parts = str(getattr(context, "invoked_function_arn", "") or "").split(":")
    return parts[4] if len(parts) > 4 and parts[2] == "lambda" and parts[4] else None


# Each handler imports its flow when it runs, not with app.py: a Lambda's init then loads only
# what every handler shares (issue 17, cold start), and its first event the flow it serves (the
# spec model, rendering, the decisions).


def spec_uploaded(raw: Any, context: Any = None) -> dict[str, Any]:
    from chalicelib.flows import spec_upload

    instance = _start(raw, "on_spec_uploaded", context)
    try:
        objects = parse_spec_objects(raw)
    except EventNotUnderstood as exc:
        return _not_understood(exc)
    outcomes: list[dict[str, Any]] = []
    for obj in objects:
        key = {
            "kind": "spec",
            "bucket": obj.bucket,
            "key": obj.key,
            "version": obj.version_id,
            "sequencer": obj.sequencer,
        }
        work = partial(spec_upload.on_spec_uploaded, instance, obj)
        outcomes += _once(instance, key, work, context)
    return _report(outcomes)


M = TypeVar("M", bound=EventBridgeEvent)


def _handle(
    raw: Any,
    context: Any,
    *,
    handler: str,
    model: type[M],
    work: Callable[[Berth, M], list[Outcome]],
) -> dict[str, Any]:
    """Parse an EventBridge event into `model`, then run `work` on it.

    No de-duplication table in front: the flows de-duplicate themselves, since every state change
    is a conditional write that a second delivery loses (pushes judge against the head, whose
    claim also holds the start lease; ECS events move records only from the statuses they expect;
    external deployments are claimed once). An idempotency record would cost two DynamoDB calls
    per event for what those writes already guarantee."""
    instance = _start(raw, handler, context)
    try:
        event: M = parse_event(raw, model)
    except EventNotUnderstood as exc:
        return _not_understood(exc)
    return _report(_traced(partial(work, instance, event)))


def image_pushed(raw: Any, context: Any = None) -> dict[str, Any]:
    from chalicelib.flows import image_push

    return _handle(
        raw, context, handler="on_image_pushed", model=EcrImageAction,
        work=image_push.on_image_pushed,
    )  # fmt: skip


def deployment_state_changed(raw: Any, context: Any = None) -> dict[str, Any]:
    from chalicelib.flows import rollout

    return _handle(
        raw, context, handler="on_deployment_state_change", model=EcsDeploymentStateChange,
        work=rollout.on_deployment_event,
    )  # fmt: skip


def service_action(raw: Any, context: Any = None) -> dict[str, Any]:
    from chalicelib.flows import rollout

    return _handle(
        raw, context, handler="on_service_action", model=EcsServiceAction,
        work=rollout.on_service_action,
    )  # fmt: skip


def deploy_batch(raw: Any, context: Any = None) -> dict[str, Any]:
    from chalicelib.flows import batches

    return _handle(
        raw, context, handler="on_deploy_batch", model=DeployBatch, work=batches.on_batch,
    )  # fmt: skip


def task_stopped(raw: Any, context: Any = None) -> dict[str, Any]:
    from chalicelib.flows import schema

    return _handle(
        raw, context, handler="on_task_stopped", model=EcsTaskStateChange,
        work=schema.on_task_stopped,
    )  # fmt: skip


def verify_rollout(raw: Any, context: Any = None) -> dict[str, Any]:
    """ECS's lifecycle hook invocation: answer with a hookStatus, never raise (a failed function
    makes ECS roll back without a reason Berth could record)."""
    from chalicelib.flows import verify

    instance = _start(raw, "verify_rollout", context)
    try:
        invocation = LifecycleHookInvocation.model_validate(raw)
    except ValidationError as exc:
        logger.warning("hook invocation not understood", extra={"errors": exc.error_count()})
        return {"hookStatus": "FAILED"}
    answer = verify.on_hook(instance, invocation)
    metrics.add_metric(name=f"verification_{answer['hookStatus']}", unit=MetricUnit.Count, value=1)
    metrics.flush_metrics()
    return answer


def sweep() -> dict[str, Any]:
    from chalicelib.flows import sweep as sweep_flow

    instance = berth()
    logger.append_keys(handler="sweep")
    return _report([o.model_dump(mode="json") for o in sweep_flow.sweep(instance)])


def approve(
    request_context: dict[str, Any], environment: str, service: str, body: Any
) -> tuple[int, dict[str, Any]]:
    """`berth approve`'s call to the stack's approval endpoint (POST /approvals/{environment}/
    {service}, IAM authorization): (HTTP status, body). The approver is the ARN API Gateway
    authenticated the SigV4 signature of: with AWS_IAM authorization the proxy event's
    `requestContext.identity.userArn` is the caller's IAM identity (API Gateway developer
    guide, "Control access to a REST API with IAM permissions"; "Input format of a Lambda
    function for proxy integration"), never a name the client chose. The deadline is judged by
    this Lambda's clock."""
    from chalicelib.decisions.approval import NotAllowed, NotWaiting
    from chalicelib.flows.approval import approve as record_approval

    logger.append_keys(handler="approve")
    identity = (request_context or {}).get("identity") or {}
    caller = identity.get("userArn")
    if not isinstance(caller, str) or not caller.startswith("arn:"):
        # API Gateway passes no request without a valid signature to an IAM-authorised route;
        # an event without the identity did not come through it.
        return 403, {"message": "no IAM identity: call this endpoint signed (SigV4)"}
    given = body if isinstance(body, dict) else {}
    note, record_id = given.get("note") or "", given.get("record")
    if not isinstance(note, str) or not (record_id is None or isinstance(record_id, str)):
        return 400, {"message": "note and record are strings"}
    try:
        record, approved = record_approval(
            berth(), environment, service, by=caller, note=note[:500], record_id=record_id
        )
    except NotAllowed as refused:
        logger.warning("approval refused", extra={"caller": caller, "reason": str(refused)})
        return 403, {"message": str(refused)}
    except NotWaiting as nothing:
        return 409, {"message": str(nothing)}
    return 200, {"approved": approved, "record": record.model_dump(mode="json")}
