"""Berth's Lambdas: each trigger, the event it takes, and the one core function it calls."""

from __future__ import annotations

import gc
from typing import Any

# A Lambda's init is this import: it builds only objects that live as long as the process, so a
# cyclic collection during it has nothing to free, yet costs a cold start time (make bench,
# "Cold start": the row with the collector left running). Collections resume after it and skip
# what it built (gc.freeze: the permanent generation), also in every later invocation's.
gc.disable()
try:
    from chalice.app import Chalice, CloudWatchEvent, IAMAuthorizer, Response

    from chalicelib import handlers
    from chalicelib.eventbridge import on_eventbridge_event
    from chalicelib.values import triggers
finally:
    gc.freeze()
    gc.enable()

app = Chalice(app_name="berth")


@on_eventbridge_event(app, triggers.SPEC_UPLOADED, name="on_spec_uploaded")
def on_spec_uploaded(event: CloudWatchEvent) -> dict[str, Any]:
    """A spec file landed under specs/ in the spec bucket: validate, plan, deploy."""
    return handlers.spec_uploaded(event.to_dict(), event.context)


@on_eventbridge_event(app, triggers.IMAGE_PUSHED, name="on_image_pushed")
def on_image_pushed(event: CloudWatchEvent) -> dict[str, Any]:
    """A tagged image was pushed to ECR: deploy it wherever a spec tracks it."""
    return handlers.image_pushed(event.to_dict(), event.context)


@on_eventbridge_event(app, triggers.DEPLOYMENT_STATE_CHANGED, name="on_deployment_state_change")
def on_deployment_state_change(event: CloudWatchEvent) -> dict[str, Any]:
    """ECS moved a deployment along: record it, notify, start what waited for it."""
    return handlers.deployment_state_changed(event.to_dict(), event.context)


@on_eventbridge_event(app, triggers.SERVICE_ACTION, name="on_service_action")
def on_service_action(event: CloudWatchEvent) -> dict[str, Any]:
    """ECS reports trouble starting tasks: keep it as a cause on the deployment record."""
    return handlers.service_action(event.to_dict(), event.context)


@on_eventbridge_event(app, triggers.DEPLOY_BATCH, name="on_deploy_batch")
def on_deploy_batch(event: CloudWatchEvent) -> dict[str, Any]:
    """One batch of a wide run (a push or spec changing many services): deploy or start it."""
    return handlers.deploy_batch(event.to_dict(), event.context)


@on_eventbridge_event(app, triggers.TASK_STOPPED, name="on_task_stopped")
def on_task_stopped(event: CloudWatchEvent) -> dict[str, Any]:
    """A schema task Berth ran stopped: record its outcome, start or skip its service."""
    return handlers.task_stopped(event.to_dict(), event.context)


@app.lambda_function(name="verify_rollout")
def verify_rollout(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """ECS's lifecycle hook (POST_TEST_TRAFFIC_SHIFT): verify the new revision through the test
    listener before production traffic moves."""
    return handlers.verify_rollout(event, context)


@app.route("/approvals/{environment}/{service}", methods=["POST"], authorizer=IAMAuthorizer())
def approve(environment: str, service: str) -> Response:
    """`berth approve`: let a deployment held at its approval gate move production traffic, as
    the IAM identity AWS authenticated (SigV4), judged by this Lambda's clock."""
    request = app.current_request
    assert request is not None
    status, body = handlers.approve(request.context, environment, service, request.json_body)
    return Response(body=body, status_code=status)


@app.schedule(triggers.SWEEP_EVERY, name="sweep")
def sweep(event: Any) -> dict[str, Any]:
    """Settle deployments whose ECS events never came."""
    return handlers.sweep()
