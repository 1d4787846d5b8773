"""The service deployments ECS keeps of each deployment, answered by ListServiceDeployments and
DescribeServiceDeployments (moto implements neither).

Each deployment the scheduler announces gets one service deployment, which follows it to its end
(botocore's ecs model, ServiceDeploymentStatus): IN_PROGRESS, then SUCCESSFUL; or, when it fails
and rolls back, ROLLBACK_IN_PROGRESS then ROLLBACK_SUCCESSFUL on the same service deployment (a
rollback is a state of the service deployment, not one of its own: `Rollback` is a member of
ServiceDeployment); or STOPPED when a newer deployment of the service replaces it. A blue/green,
canary or linear one also reports the lifecycle stage it is in (ServiceDeploymentLifecycleStage).
A failure without rollback is left IN_PROGRESS: AWS documents no status for it (the enum has none
for a failure that is not rolled back), so the sandbox claims none.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from moto.ecs.exceptions import (
    ClusterNotFoundException,
    InvalidParameterException,
    ServiceNotFoundException,
)

KEPT = "berth_service_deployments"
"""The attribute of moto's Service that holds its service deployments, newest first."""

# ListServiceDeployments: maxResults "can be between 1 and 100. If this parameter isn't used,
# then ListServiceDeployments returns up to 20 results" (ECS API reference).
LIST_DEFAULT, LIST_MAX = 20, 100
# DescribeServiceDeployments: "You can specify a maximum of 20 ARNs" (ECS API reference).
DESCRIBE_MAX = 20
UNFINISHED = frozenset({"PENDING", "IN_PROGRESS", "STOP_REQUESTED", "ROLLBACK_REQUESTED",
                        "ROLLBACK_IN_PROGRESS"})  # fmt: skip


def _number(deployment_id: str) -> str:
    return deployment_id.rsplit("/", 1)[-1]


def revision_arn(service: Any, deployment_id: str) -> str:
    """The service revision a deployment targets, named after the deployment's number as ECS
    names it (terraform-provider-aws matches them so: internal/service/ecs/service.go,
    findPrimaryDeploymentARN)."""
    region, account = service.arn.split(":")[3:5]
    return (
        f"arn:aws:ecs:{region}:{account}:service-revision/"
        f"{service.cluster_name}/{service.name}/{_number(deployment_id)}"
    )


def service_deployment_arn(service: Any, deployment_id: str) -> str:
    """Service Authorization Reference, Amazon ECS, resource type service-deployment:
    arn:${Partition}:ecs:${Region}:${Account}:service-deployment/${ClusterName}/${ServiceName}/
    ${ServiceDeploymentId}."""
    region, account = service.arn.split(":")[3:5]
    return (
        f"arn:aws:ecs:{region}:{account}:service-deployment/"
        f"{service.cluster_name}/{service.name}/{_number(deployment_id)}"
    )


def kept(service: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] | None = getattr(service, KEPT, None)
    if found is None:
        found = []
        setattr(service, KEPT, found)
    return found


def of(service: Any, deployment_id: str) -> dict[str, Any] | None:
    arn = service_deployment_arn(service, deployment_id)
    return next((d for d in kept(service) if d["serviceDeploymentArn"] == arn), None)


def _summary(service: Any, deployment: dict[str, Any]) -> dict[str, Any]:
    return {
        "arn": revision_arn(service, deployment["id"]),
        "requestedTaskCount": int(deployment.get("desiredCount") or 0),
        "runningTaskCount": int(deployment.get("runningCount") or 0),
        "pendingTaskCount": int(deployment.get("pendingCount") or 0),
    }


def start(service: Any, deployment: dict[str, Any], *, staged: bool) -> dict[str, Any]:
    """The service deployment of a deployment ECS starts; the unfinished ones before it are
    STOPPED, replaced by it (ServiceDeploymentStatus: STOP_REQUESTED, STOPPED). `staged`: a
    blue/green, canary or linear deployment, which reports its lifecycle stage."""
    now = datetime.now(UTC)
    for older in kept(service):
        if older["status"] in UNFINISHED:
            older.update(status="STOPPED", statusReason="Stopped by a newer service deployment.",
                         stoppedAt=now, updatedAt=now)  # fmt: skip
    sources = [_summary(service, d) for d in service.deployments if d["id"] != deployment["id"]]
    configuration = dict(getattr(service, "deployment_configuration", None) or {})
    alarms = configuration.get("alarms") or {}
    breaker = configuration.get("deploymentCircuitBreaker") or {}
    record: dict[str, Any] = {
        "serviceDeploymentArn": service_deployment_arn(service, deployment["id"]),
        "serviceArn": service.arn,
        "clusterArn": service.cluster_arn,
        "createdAt": _aware(deployment.get("createdAt")) or now,
        "startedAt": now,
        "updatedAt": now,
        "sourceServiceRevisions": sources,
        "targetServiceRevision": _summary(service, deployment),
        "status": "IN_PROGRESS",
        "statusReason": f"ECS deployment {deployment['id']} in progress.",
        "deploymentConfiguration": configuration,
        "alarms": {
            "status": "MONITORING" if alarms.get("enable") else "DISABLED",
            "alarmNames": list(alarms.get("alarmNames") or []),
            "triggeredAlarmNames": [],
        },
        "deploymentCircuitBreaker": {
            "status": "MONITORING" if breaker.get("enable") else "DISABLED",
            "failureCount": 0,
            "threshold": 0,
        },
    }
    if staged:
        record["lifecycleStage"] = "PRE_SCALE_UP"
    kept(service).insert(0, record)
    return record


def at_stage(service: Any, deployment_id: str, stage: str) -> None:
    found = of(service, deployment_id)
    if found is not None and "lifecycleStage" in found and found["status"] == "IN_PROGRESS":
        found.update(lifecycleStage=stage, updatedAt=datetime.now(UTC))


def succeeded(service: Any, deployment_id: str) -> None:
    found = of(service, deployment_id)
    if found is None:
        return
    now = datetime.now(UTC)
    found.update(status="SUCCESSFUL", statusReason=f"ECS deployment {deployment_id} completed.",
                 finishedAt=now, updatedAt=now)  # fmt: skip
    found["targetServiceRevision"]["runningTaskCount"] = service.desired_count
    found["targetServiceRevision"]["pendingTaskCount"] = 0
    for monitor in ("alarms", "deploymentCircuitBreaker"):
        if found[monitor]["status"] == "MONITORING":
            found[monitor]["status"] = "MONITORING_COMPLETE"


def rolling_back(
    service: Any, deployment_id: str, to_deployment_id: str, reason: str, *,
    alarm: str | None = None, failed_tasks: int = 0,
) -> None:  # fmt: skip
    """The deployment failed and ECS rolls it back to the revision it replaced."""
    found = of(service, deployment_id)
    if found is None:
        return
    now = datetime.now(UTC)
    found.update(
        status="ROLLBACK_IN_PROGRESS", statusReason=reason, updatedAt=now,
        rollback={"reason": reason, "startedAt": now,
                  "serviceRevisionArn": revision_arn(service, to_deployment_id)},
    )  # fmt: skip
    if alarm is not None:
        found["alarms"].update(status="TRIGGERED", triggeredAlarmNames=[alarm])
    if failed_tasks:
        found["deploymentCircuitBreaker"].update(status="TRIGGERED", failureCount=failed_tasks)


def rolled_back(service: Any, deployment_id: str) -> None:
    """The rollback ended: the revision it went back to runs again."""
    found = of(service, deployment_id)
    if found is None or found["status"] != "ROLLBACK_IN_PROGRESS":
        return
    now = datetime.now(UTC)
    found.update(status="ROLLBACK_SUCCESSFUL", finishedAt=now, updatedAt=now)


# ---- the API ------------------------------------------------------------------------------------


def _service(response: Any) -> Any:
    backend = response.ecs_backend
    cluster = str(response._get_param("cluster") or "default").rsplit("/", 1)[-1]
    if cluster not in backend.clusters:
        raise ClusterNotFoundException()
    name = str(response._get_param("service") or "").rsplit("/", 1)[-1]
    service = backend.services.get(f"{cluster}:{name}")
    if service is None:
        raise ServiceNotFoundException()
    return service


def _aware(value: Any) -> datetime | None:
    """An instant in UTC: moto stamps its own (the first deployment's createdAt) naive, in UTC."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return datetime.fromtimestamp(float(value), UTC)



def _brief(found: dict[str, Any]) -> dict[str, Any]:
    """ServiceDeploymentBrief: the members ListServiceDeployments returns of each."""
    members = ("serviceDeploymentArn", "serviceArn", "clusterArn", "startedAt", "createdAt",
               "status", "statusReason")  # fmt: skip
    brief: dict[str, Any] = {key: found[key] for key in members if key in found}
    if "finishedAt" in found:
        brief["finishedAt"] = found["finishedAt"]
    brief["targetServiceRevisionArn"] = found["targetServiceRevision"]["arn"]
    return brief


def list_service_deployments(response: Any) -> dict[str, Any]:
    service = _service(response)
    wanted = set(response._get_param("status") or [])
    window = response._get_param("createdAt") or {}
    after, before = _aware(window.get("after")), _aware(window.get("before"))
    size = response._get_param("maxResults")
    if size is not None and not 1 <= int(size) <= LIST_MAX:
        # The limit is the API reference's; the message is the sandbox's own (AWS's wording
        # for it was not found in a public report).
        raise InvalidParameterException(f"maxResults must be between 1 and {LIST_MAX}.")
    found = [
        d for d in kept(service)
        if (not wanted or d["status"] in wanted)
        and (after is None or d["createdAt"] > after)
        and (before is None or d["createdAt"] < before)
    ]  # fmt: skip
    start_at = int(response._get_param("nextToken") or 0)
    end = start_at + int(size or LIST_DEFAULT)
    answer: dict[str, Any] = {"serviceDeployments": [_brief(d) for d in found[start_at:end]]}
    if end < len(found):
        answer["nextToken"] = str(end)
    return answer


def describe_service_deployments(response: Any) -> dict[str, Any]:
    arns = list(response._get_param("serviceDeploymentArns") or [])
    if len(arns) > DESCRIBE_MAX:
        raise InvalidParameterException(
            f"serviceDeploymentArns can have at most {DESCRIBE_MAX} elements."
        )  # the limit is the API reference's; the wording the sandbox's own
    every = {d["serviceDeploymentArn"]: d for s in response.ecs_backend.services.values()
             for d in kept(s)}  # fmt: skip
    answer: dict[str, Any] = {"serviceDeployments": [], "failures": []}
    for arn in arns:
        if arn in every:
            answer["serviceDeployments"].append(every[arn])
        else:
            # DescribeServices answers an unknown service with reason MISSING; the same is
            # assumed here (AWS's reason for an unknown service deployment was not found).
            answer["failures"].append({"arn": arn, "reason": "MISSING"})
    return answer


def answer_service_deployment_calls() -> None:
    """Add ListServiceDeployments and DescribeServiceDeployments to moto's ECS responses (moto
    dispatches an action to the response method of its snake_case name)."""
    from moto.core.responses import ActionResult
    from moto.ecs.responses import EC2ContainerServiceResponse

    if getattr(EC2ContainerServiceResponse, "berth_service_deployments", False):
        return

    def listed(self: Any) -> Any:
        return ActionResult(list_service_deployments(self))

    def described(self: Any) -> Any:
        return ActionResult(describe_service_deployments(self))

    EC2ContainerServiceResponse.list_service_deployments = listed  # type: ignore[attr-defined]
    EC2ContainerServiceResponse.describe_service_deployments = described  # type: ignore[attr-defined]
    EC2ContainerServiceResponse.berth_service_deployments = True  # type: ignore[attr-defined]


answer_service_deployment_calls()
