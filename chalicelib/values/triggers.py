"""EventBridge patterns of Berth's triggers: used by app.py, the sandbox's rules and the infra.

Two layers:

- The static patterns below (SPEC_UPLOADED ... SERVICE_ACTION, and PATTERNS) are what app.py
  registers. They name the event kinds Berth handles and nothing about one installation.
- `patterns(bucket, repositories, clusters, account, region, partition)` narrows them to one
  installation: its spec bucket, its image repositories, its environments' clusters. The sandbox
  builds its rules from it; `make package` puts the same narrowing into the packaged template
  (`python -m berth.package`), so a deployed stage's rules only wake Berth for its own work.

Matching semantics modelled here (and checked with moto's matcher in tests/unit/test_triggers.py):
- A pattern array matches an event array when they intersect, and prefix matching works on string
  values, so `"resources": [{"prefix": ...}]` matches a service ARN by cluster (EventBridge user
  guide, "Arrays in Amazon EventBridge event patterns" and "Content filtering"):
  https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html
- `anything-but` with `suffix` is supported on event buses (not on pipes), same page.
- ECS service ARNs carry the cluster only in the long format `service/<cluster>/<name>`; services
  created before the 2021 ARN migration keep `service/<name>` until migrated, and their events do
  not match (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-arn-migration.html).
- ECR "ECR Image Action" events have `"resources": []`, so repositories are matched on
  `detail.repository-name` (https://docs.aws.amazon.com/AmazonECR/latest/userguide/ecr-eventbridge.html).
- S3 "Object Created" and "Object Deleted" carry the bucket in `detail.bucket.name`
  (https://docs.aws.amazon.com/AmazonS3/latest/userguide/ev-events.html).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

# Object Deleted too: deleting the spec version Berth enforces rolls the environment back to the
# file's current version, and deleting the file is announced (docs/lifecycle.md).
SPEC_UPLOADED: dict[str, Any] = {
    "source": ["aws.s3"],
    "detail-type": ["Object Created", "Object Deleted"],
    "detail": {"object": {"key": [{"prefix": "specs/"}]}},
}
IMAGE_PUSHED: dict[str, Any] = {
    "source": ["aws.ecr"],
    "detail-type": ["ECR Image Action"],
    # DELETE too: a deleted digest that a service runs is warned about (issue 14, finding 4).
    "detail": {"action-type": ["PUSH", "DELETE"], "result": ["SUCCESS"]},
}
# ECS sends SERVICE_DEPLOYMENT_IN_PROGRESS for new deployments ("ECS deployment <id> in
# progress.") and for circuit-breaker rollbacks ("ECS deployment circuit breaker: rolling back to
# deploymentId <id>."); only the reason tells them apart (ECS developer guide, "Amazon ECS service
# deployment state change events"). Berth ignores the plain ones, so the rule drops them; COMPLETED
# ("... completed.") and FAILED ("ECS deployment circuit breaker: task failed to start.") pass.
DEPLOYMENT_STATE_CHANGED: dict[str, Any] = {
    "source": ["aws.ecs"],
    "detail-type": ["ECS Deployment State Change"],
    "detail": {"reason": [{"anything-but": {"suffix": " in progress."}}]},
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
# A schema task (issue 16) stopped: Berth starts it with RunTask and `startedBy` berth-schema
# (chalicelib.rendering.schema_task.STARTED_BY_SCHEMA); ECS tells its end with an "ECS Task
# State Change" whose detail carries lastStatus and startedBy, and whose resources are the task's
# ARN, in the long format `task/<cluster>/<id>` (ECS developer guide, "Amazon ECS task state
# change events").
TASK_STOPPED: dict[str, Any] = {
    "source": ["aws.ecs"],
    "detail-type": ["ECS Task State Change"],
    "detail": {"lastStatus": ["STOPPED"], "startedBy": ["berth-schema"]},
}
# Berth's own events: a wide run (more services than BERTH_WIDE_RUN) is fanned out as one batch
# event per group of services, each deployed by its own invocation. A custom source may not start
# with "aws." (EventBridge user guide, "Events"), but nothing reserves "berth": any principal
# allowed events:PutEvents on the default bus can put one, so a batch is only a reference that
# flows.batches proves against the run's record (decisions.batches); an asynchronous invoke of the
# batch function would need the same proof (anyone allowed lambda:InvokeFunction on it can send
# any payload), so the bus stays, with the rule, retries and dead-letter queue every trigger
# shares. The stage's spec bucket in the detail (`spec.bucket`) keeps two stages in one account
# from taking each other's batches.
BATCH_SOURCE = "berth"
BATCH_DETAIL_TYPE = "Berth Deployment Batch"
DEPLOY_BATCH: dict[str, Any] = {
    "source": [BATCH_SOURCE],
    "detail-type": [BATCH_DETAIL_TYPE],
}
SWEEP_EVERY = "rate(5 minutes)"

# Function name -> pattern, in the order app.py declares them.
PATTERNS: dict[str, dict[str, Any]] = {
    "on_spec_uploaded": SPEC_UPLOADED,
    "on_image_pushed": IMAGE_PUSHED,
    "on_deployment_state_change": DEPLOYMENT_STATE_CHANGED,
    "on_service_action": SERVICE_ACTION,
    "on_deploy_batch": DEPLOY_BATCH,
    "on_task_stopped": TASK_STOPPED,
}
# Every Lambda app.py declares (the EventBridge ones and the schedule).
# verify_rollout has no trigger of its own: ECS invokes it as a lifecycle hook (with the stage's
# hook role, infra/resources.yaml).
# The REST API's function: chalice packages every route of app.py into one Lambda, APIHandler
# (`berth approve`'s IAM-authorised endpoint).
API_FUNCTION = "api_handler"
FUNCTIONS: tuple[str, ...] = (*PATTERNS, "sweep", "verify_rollout", API_FUNCTION)

# The repositories Berth deploys from (infra/resources.yaml creates them; docker/build.py builds
# their images): the WSO2 products and the keystore-init sidecar, which specs may track. BuildKit's
# cache repository (berth-build-cache) is deliberately not one of them: its pushes must not wake
# Berth. A stage adds its own (mirrored sidecar images) with BERTH_IMAGE_REPOSITORIES.
IMAGE_REPOSITORIES: tuple[str, ...] = ("berth-keystore-init", "wso2am", "wso2ei", "wso2mi")


def service_arn_prefix(cluster: str, account: str, region: str, partition: str = "aws") -> str:
    """What every long-format ARN of a service in `cluster` starts with."""
    return f"arn:{partition}:ecs:{region}:{account}:service/{cluster}/"


def _task_prefix(prefix: dict[str, Any]) -> dict[str, Any]:
    """A service ARN prefix `{"prefix": ...service/<cluster>/}` (a string or an Fn::Sub) as the
    prefix of the cluster's task ARNs (`...task/<cluster>/`)."""
    value = prefix["prefix"]
    if isinstance(value, dict):
        return {"prefix": {k: v.replace(":service/", ":task/") for k, v in value.items()}}
    return {"prefix": str(value).replace(":service/", ":task/")}


def narrowed(bucket: Any, repositories: Iterable[str], prefixes: Iterable[Any]) -> dict[str, Any]:
    """PATTERNS narrowed to one bucket (a name or an intrinsic), repositories and ARN prefixes."""
    prefixes = [{"prefix": prefix} for prefix in prefixes]
    repositories = list(repositories)
    if not repositories or not prefixes:
        raise ValueError("a stage needs at least one image repository and one cluster")
    narrowed = copy.deepcopy(PATTERNS)
    narrowed["on_spec_uploaded"]["detail"]["bucket"] = {"name": [bucket]}
    narrowed["on_image_pushed"]["detail"]["repository-name"] = repositories
    narrowed["on_deployment_state_change"]["resources"] = prefixes
    narrowed["on_service_action"]["resources"] = copy.deepcopy(prefixes)
    narrowed["on_deploy_batch"]["detail"] = {"spec": {"bucket": [bucket]}}
    narrowed["on_task_stopped"]["resources"] = [_task_prefix(p) for p in prefixes]
    return narrowed


def patterns(
    bucket: str,
    repositories: Iterable[str],
    clusters: Iterable[str],
    account: str,
    region: str,
    *,
    partition: str = "aws",
) -> dict[str, dict[str, Any]]:
    """Function name -> the pattern of its rule in one installation (as PATTERNS, narrowed)."""
    return narrowed(
        bucket,
        repositories,
        [service_arn_prefix(cluster, account, region, partition) for cluster in clusters],
    )
