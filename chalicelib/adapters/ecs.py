"""ECS: the services, task definitions and tasks Berth reads and changes."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from chalicelib.errors import AwsCallFailed
from chalicelib.values.live import Applied, LiveService

from . import aws_errors

if TYPE_CHECKING:
    from mypy_boto3_ecs import ECSClient


# ECS stamps a service deployment's createdAt when UpdateService starts it, by its own clock;
# Berth's record of it may be stamped a little later or earlier by the Lambda's: the margin
# covers the difference when listing the service deployments created since the record.
CREATED_MARGIN = timedelta(minutes=15)


def _primary(service: Any) -> dict[str, Any]:
    return next((d for d in service.get("deployments", []) if d.get("status") == "PRIMARY"), {})


def _applied(service: Any) -> Applied:
    return Applied(service["serviceArn"], _primary(service).get("id"))


class Ecs:
    def __init__(self, client: ECSClient) -> None:
        self.ecs = client

    @aws_errors("DescribeServices")
    def service(self, cluster: str, name: str) -> LiveService | None:
        """The service as ECS runs it now, or None when it does not exist (or is being deleted)."""
        found = self.ecs.describe_services(
            cluster=cluster, services=[name], include=["TAGS"]
        ).get("services", [])
        active = [s for s in found if s.get("status") == "ACTIVE"]
        if not active:
            return None
        service = active[0]
        primary = _primary(service)
        return LiveService(
            arn=service["serviceArn"],
            task_definition_arn=service.get("taskDefinition", ""),
            primary_deployment_id=primary.get("id"),
            primary_rollout_state=primary.get("rolloutState"),
            launch_type=service.get("launchType"),
            description=dict(service),
            tags={t["key"]: t["value"] for t in service.get("tags", [])},
        )

    @aws_errors("DescribeTaskDefinition")
    def task_definition(self, arn: str) -> dict[str, Any]:
        return dict(self.ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"])

    @aws_errors("RegisterTaskDefinition")
    def register(self, rendered: dict[str, Any]) -> str:
        return self.ecs.register_task_definition(**rendered)["taskDefinition"]["taskDefinitionArn"]

    @aws_errors("CreateService")
    def create_service(self, request: dict[str, Any]) -> Applied:
        return _applied(self.ecs.create_service(**request)["service"])

    @aws_errors("UpdateService")
    def update_service(self, request: dict[str, Any]) -> Applied:
        return _applied(self.ecs.update_service(**request)["service"])

    @aws_errors("TagResource")
    def tag_service(self, arn: str, tags: dict[str, str]) -> None:
        """Add `tags` to a live service (ECS API reference, TagResource: existing tags not
        named are left as they are)."""
        self.ecs.tag_resource(
            resourceArn=arn, tags=[{"key": k, "value": v} for k, v in sorted(tags.items())]
        )

    @aws_errors("UpdateService")
    def scale_to_zero(self, cluster: str, name: str) -> None:
        self.ecs.update_service(cluster=cluster, service=name, desiredCount=0)

    @aws_errors("DeleteService")
    def delete_service(self, cluster: str, name: str) -> None:
        """Delete a service scaled to 0 (ECS API reference, DeleteService: one above 0 is
        refused without `force`; its tasks are then stopped and it becomes INACTIVE)."""
        self.ecs.delete_service(cluster=cluster, service=name)

    @aws_errors("DescribeServices")
    def deployment(self, cluster: str, service: str, deployment_id: str) -> dict[str, Any] | None:
        """The deployment as DescribeServices lists it (rolloutState, reason, failedTasks)."""
        found = self.ecs.describe_services(cluster=cluster, services=[service]).get("services", [])
        for svc in found:
            for deployment in svc.get("deployments", []):
                if deployment.get("id") == deployment_id:
                    return dict(deployment)
        return None

    @aws_errors("ListServiceDeployments")
    def service_deployment_arn(
        self, cluster: str, service: str, deployment_id: str, recorded_at: datetime
    ) -> str | None:
        """The ARN of the service deployment that carries out `deployment_id` (DescribeServices'
        `ecs-svc/<n>`), which Berth recorded at `recorded_at`; None when ECS lists none.

        ECS names the service revision a deployment targets after the deployment's number
        (`service-revision/<cluster>/<service>/<n>`): terraform-provider-aws finds a deployment's
        service deployment the same way (internal/service/ecs/service.go,
        findPrimaryDeploymentARN). ListServiceDeployments pages with nextToken, up to 100 a page
        (ECS API reference, ListServiceDeployments; botocore's ecs model has no paginator for it).
        """
        number = deployment_id.rsplit("/", 1)[-1]
        request: dict[str, Any] = {
            "cluster": cluster, "service": service,
            "createdAt": {"after": recorded_at - CREATED_MARGIN},
            "maxResults": 100,
        }  # fmt: skip
        while True:
            page = self.ecs.list_service_deployments(**request)
            for brief in page.get("serviceDeployments", []):
                revision = str(brief.get("targetServiceRevisionArn", ""))
                if revision.rsplit("/", 1)[-1] == number:
                    return str(brief["serviceDeploymentArn"])
            if not page.get("nextToken"):
                return None
            request["nextToken"] = page["nextToken"]

    @aws_errors("DescribeServiceDeployments")
    def describe_service_deployment(self, arn: str) -> dict[str, Any] | None:
        """ECS's account of one service deployment (status, lifecycleStage, rollback, alarms,
        circuit breaker), or None when ECS answers it with a `failures` entry instead (ECS API
        reference, DescribeServiceDeployments: Response Elements)."""
        found = self.ecs.describe_service_deployments(serviceDeploymentArns=[arn])
        deployments = found.get("serviceDeployments", [])
        return dict(deployments[0]) if deployments else None

    def service_deployment(
        self, cluster: str, service: str, deployment_id: str, recorded_at: datetime
    ) -> dict[str, Any] | None:
        """The service deployment of `deployment_id` as DescribeServiceDeployments returns it,
        or None when ECS has none for it. Raises AwsCallFailed, naming the call that failed."""
        arn = self.service_deployment_arn(cluster, service, deployment_id, recorded_at)
        return self.describe_service_deployment(arn) if arn is not None else None

    @aws_errors("ListTasks")
    def stopped_tasks(self, cluster: str, started_by: str, limit: int = 20) -> list[dict[str, Any]]:
        """The stopped tasks a deployment started (ECS sets `startedBy` to its id)."""
        arns = self.ecs.list_tasks(
            cluster=cluster, startedBy=started_by, desiredStatus="STOPPED"
        ).get("taskArns", [])
        if not arns:
            return []
        tasks = self.ecs.describe_tasks(cluster=cluster, tasks=arns[:limit]).get("tasks", [])
        return [dict(t) for t in tasks]

    @aws_errors("DescribeServices")
    def description(self, cluster: str, name: str) -> dict[str, Any] | None:
        """DescribeServices' whole entry for one service (events, deployments), any status."""
        found = self.ecs.describe_services(cluster=cluster, services=[name]).get("services", [])
        return dict(found[0]) if found else None

    @aws_errors("RunTask")
    def run_task(self, request: dict[str, Any]) -> str:
        """Start one one-off task; its ARN. ECS answers a task it could not place with a
        `failures` entry, not an error (ECS API reference, RunTask: Response Elements)."""
        answer = self.ecs.run_task(**request)
        tasks = answer.get("tasks", [])
        if not tasks:
            failures = answer.get("failures", [])
            why = "; ".join(f"{f.get('reason', '')}: {f.get('detail', '')}" for f in failures)
            raise AwsCallFailed("RunTask", "TaskNotStarted", why or "no task was started")
        return tasks[0]["taskArn"]

    @aws_errors("DescribeTasks")
    def task(self, cluster: str, arn: str) -> dict[str, Any] | None:
        """DescribeTasks' entry for one task, or None when ECS no longer knows it."""
        found = self.ecs.describe_tasks(cluster=cluster, tasks=[arn]).get("tasks", [])
        return dict(found[0]) if found else None

    @aws_errors("StopTask")
    def stop_task(self, cluster: str, arn: str, reason: str) -> None:
        """Stop a one-off task; `reason` becomes its stoppedReason in DescribeTasks and in its
        Task State Change event (ECS API reference, StopTask: reason, up to 255 characters; the
        task stops with stopCode UserInitiated, API reference, Task: stopCode)."""
        self.ecs.stop_task(cluster=cluster, task=arn, reason=reason)
