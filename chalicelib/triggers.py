"""EventBridge patterns of Berth's triggers: used by app.py, the sandbox's rules and the infra."""

from __future__ import annotations

from typing import Any

SPEC_UPLOADED: dict[str, Any] = {
    "source": ["aws.s3"],
    "detail-type": ["Object Created"],
    "detail": {"object": {"key": [{"prefix": "specs/"}]}},
}
IMAGE_PUSHED: dict[str, Any] = {
    "source": ["aws.ecr"],
    "detail-type": ["ECR Image Action"],
    "detail": {"action-type": ["PUSH"], "result": ["SUCCESS"]},
}
DEPLOYMENT_STATE_CHANGED: dict[str, Any] = {
    "source": ["aws.ecs"],
    "detail-type": ["ECS Deployment State Change"],
}
SERVICE_ACTION: dict[str, Any] = {
    "source": ["aws.ecs"],
    "detail-type": ["ECS Service Action"],
    "detail": {
        "eventName": [
            "SERVICE_TASK_START_IMPAIRED",
            "SERVICE_TASK_PLACEMENT_FAILURE",
            "SERVICE_TASK_CONFIGURATION_FAILURE",
        ]
    },
}
SWEEP_EVERY = "rate(5 minutes)"

# Function name -> pattern, in the order app.py declares them.
PATTERNS: dict[str, dict[str, Any]] = {
    "on_spec_uploaded": SPEC_UPLOADED,
    "on_image_pushed": IMAGE_PUSHED,
    "on_deployment_state_change": DEPLOYMENT_STATE_CHANGED,
    "on_service_action": SERVICE_ACTION,
}
