"""Models of the events Berth reacts to, and the parsers that turn a raw event into one of them.

Built on Berth's own EventBridge envelope, the fields of powertools' EventBridgeModel: importing
powertools' parser models loads about 30 modules (40 ms of a cold start) for this one class.
Powertools has no ECR or ECS models, and its S3 model insists on fields Berth never reads, so
these require only what Berth uses and tolerate the rest.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import unquote_plus

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from chalicelib.errors import EventNotUnderstood
from chalicelib.model import Model

from .records import SpecVersion


class EventBridgeEvent(Model):
    """An EventBridge event's envelope; each event Berth reacts to narrows `detail`."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")
    version: str
    id: str
    source: str
    account: str
    time: datetime
    region: str
    resources: list[str]
    detail_type: str = Field(alias="detail-type")
    detail: dict[str, Any] | BaseModel  # a model where the event is known (as powertools does)
    replay_name: str | None = Field(default=None, alias="replay-name")


class _Detail(Model):
    model_config = ConfigDict(populate_by_name=True, extra="ignore")


class EcrImageActionDetail(_Detail):
    result: str
    action_type: str = Field(alias="action-type")
    repository_name: str = Field(alias="repository-name", min_length=1)
    image_digest: str = Field(alias="image-digest", pattern=r"^sha256:[0-9a-f]+$")
    image_tag: str | None = Field(default=None, alias="image-tag")


class EcrImageAction(EventBridgeEvent):
    model_config = ConfigDict(populate_by_name=True, extra="ignore")
    detail: EcrImageActionDetail

    @property
    def pushed(self) -> bool:
        return self.detail.action_type == "PUSH" and self.detail.result == "SUCCESS"

    @property
    def deleted(self) -> bool:
        return self.detail.action_type == "DELETE" and self.detail.result == "SUCCESS"


class EcsDeploymentDetail(_Detail):
    event_type: str = Field(alias="eventType")
    event_name: str = Field(alias="eventName")
    deployment_id: str = Field(alias="deploymentId", min_length=1)
    updated_at: datetime | None = Field(default=None, alias="updatedAt")
    reason: str = ""


class _EcsServiceEvent(EventBridgeEvent):
    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    @property
    def service_arn(self) -> str:
        """The ECS service the event is about (ECS names it among `resources`)."""
        return next((r for r in self.resources if ":service/" in r), "")


class EcsDeploymentStateChange(_EcsServiceEvent):
    detail: EcsDeploymentDetail

    @property
    def rollback_target(self) -> str | None:
        """The deployment a circuit breaker rolls back to, when this event announces a rollback."""
        match = re.search(r"rolling back to deploymentId (\S+?)\.?$", self.detail.reason)
        return match.group(1) if match else None


class EcsServiceActionDetail(_Detail):
    event_type: str = Field(alias="eventType")
    event_name: str = Field(alias="eventName")
    cluster_arn: str = Field(default="", alias="clusterArn")
    reason: str = ""


class EcsServiceAction(_EcsServiceEvent):
    detail: EcsServiceActionDetail


# ECS developer guide, "Amazon ECS task state change events" (its sample: detail-type "ECS Task
# State Change", resources [the task ARN], detail with clusterArn, taskArn, group, startedBy,
# lastStatus, stopCode, stoppedReason and containers[] with name, exitCode, reason).
class EcsTaskContainer(_Detail):
    name: str
    exit_code: int | None = Field(default=None, alias="exitCode")
    reason: str = ""


class EcsTaskStateDetail(_Detail):
    task_arn: str = Field(alias="taskArn", min_length=1)
    cluster_arn: str = Field(default="", alias="clusterArn")
    group: str = ""
    started_by: str = Field(default="", alias="startedBy")
    last_status: str = Field(alias="lastStatus")
    stop_code: str = Field(default="", alias="stopCode")
    stopped_reason: str = Field(default="", alias="stoppedReason")
    containers: list[EcsTaskContainer] = []

    def as_task(self) -> dict[str, Any]:
        """The detail as DescribeTasks would list the task (what `schema_task_outcome` reads)."""
        return self.model_dump(by_alias=True, exclude_none=True)


class EcsTaskStateChange(EventBridgeEvent):
    detail: EcsTaskStateDetail


Deletion = Literal["Permanently Deleted", "Delete Marker Created"]
# The Records[] format names the same two: s3:ObjectRemoved:Delete, :DeleteMarkerCreated (S3 user
# guide, "Event notification types and destinations").
_RECORD_DELETIONS: dict[str, Deletion] = {
    "ObjectRemoved:Delete": "Permanently Deleted",
    "ObjectRemoved:DeleteMarkerCreated": "Delete Marker Created",
}


class SpecObject(Model):
    """A spec file version that was written to the spec bucket, whichever notification said so.

    No account or region: the images a spec deploys are the stage's own (Settings.account,
    Settings.region), and S3's Records[] format names no account at all (S3 user guide, "Event
    message structure": awsRegion, but no account field)."""

    event_id: str
    bucket: str
    key: str
    version_id: str | None
    sequencer: str | None
    time: datetime
    requester: str | None = None
    """Who wrote it, as S3 says: the account ID or AWS service principal of the request (S3 user
    guide, "EventBridge event message structure", detail.requester), or the principal ID of the
    Records[] format's userIdentity."""
    deletion: Deletion | None = None
    """Set when the event is a deletion: "Permanently Deleted" (a version, or an unversioned
    object, is gone; `version_id` names the deleted version) or "Delete Marker Created" (the file
    was deleted in a versioned bucket; `version_id` names the marker). S3 user guide, "Using
    EventBridge": Object Deleted, detail.deletion-type."""


class _S3Object(_Detail):
    key: str = Field(min_length=1)
    version_id: str | None = Field(default=None, alias="version-id")
    sequencer: str | None = None


class _S3Bucket(_Detail):
    name: str = Field(min_length=1)


class _S3Detail(_Detail):
    bucket: _S3Bucket
    object: _S3Object
    requester: str | None = None
    deletion_type: Deletion | None = Field(default=None, alias="deletion-type")


class S3ObjectChanged(EventBridgeEvent):
    model_config = ConfigDict(populate_by_name=True, extra="ignore")
    detail: _S3Detail


class _RecordObject(_Detail):
    key: str
    version_id: str | None = Field(default=None, alias="versionId")
    sequencer: str | None = None


class _RecordS3(_Detail):
    bucket: _S3Bucket
    object: _RecordObject


class _UserIdentity(_Detail):
    principal_id: str | None = Field(default=None, alias="principalId")


class _Record(_Detail):
    event_name: str = Field(alias="eventName")
    event_time: datetime = Field(alias="eventTime")
    aws_region: str = Field(alias="awsRegion")
    s3: _RecordS3
    user_identity: _UserIdentity | None = Field(default=None, alias="userIdentity")


class _S3Records(_Detail):
    records: list[_Record] = Field(alias="Records", min_length=1)


def _spec_objects_from_records(raw: dict[str, Any]) -> list[SpecObject]:
    records = _S3Records.model_validate(raw).records
    return [
        SpecObject(
            event_id=f"{r.s3.bucket.name}/{r.s3.object.key}/{r.s3.object.version_id}",
            bucket=r.s3.bucket.name,
            # The Records[] format URL-encodes keys ("red flower.yaml" -> "red+flower.yaml").
            key=unquote_plus(r.s3.object.key),
            version_id=r.s3.object.version_id,
            sequencer=r.s3.object.sequencer,
            time=r.event_time,
            requester=r.user_identity.principal_id if r.user_identity else None,
            deletion=_RECORD_DELETIONS.get(r.event_name.removeprefix("s3:")),
        )
        for r in records
        if r.event_name.removeprefix("s3:").startswith("ObjectCreated:")
        or r.event_name.removeprefix("s3:") in _RECORD_DELETIONS
    ]


def parse_spec_objects(raw: Any) -> list[SpecObject]:
    """Spec objects named by an S3 EventBridge "Object Created" or "Object Deleted" event, or an
    S3 Records[] event."""
    event_id = raw.get("id", "?") if isinstance(raw, dict) else "?"
    try:
        if isinstance(raw, dict) and "Records" in raw:
            return _spec_objects_from_records(raw)
        event = S3ObjectChanged.model_validate(raw)
    except ValidationError as exc:
        raise EventNotUnderstood(str(event_id), _first_error(exc)) from None
    if event.source != "aws.s3" or event.detail_type not in ("Object Created", "Object Deleted"):
        raise EventNotUnderstood(
            event.id, f"not an S3 Object Created or Object Deleted event ({event.detail_type})"
        )
    deletion = event.detail.deletion_type
    if event.detail_type == "Object Deleted" and deletion is None:
        raise EventNotUnderstood(event.id, "an S3 Object Deleted event without a deletion-type")
    return [
        SpecObject(
            event_id=event.id,
            bucket=event.detail.bucket.name,
            key=event.detail.object.key,
            version_id=event.detail.object.version_id,
            sequencer=event.detail.object.sequencer,
            time=event.time if event.time.tzinfo else event.time.replace(tzinfo=UTC),
            requester=event.detail.requester,
            deletion=deletion if event.detail_type == "Object Deleted" else None,
        )
    ]


class DeployBatchDetail(Model):
    """A reference to one batch of a wide run Berth opened (chalicelib.flows.fanout): the run,
    the batch's index in the run's plan and the spec version the run was planned under. What to
    deploy is read from the run's record, never from the event: the bus admits any principal
    allowed events:PutEvents on it, and only `aws.*` sources are reserved (EventBridge user
    guide, "Amazon EventBridge events": Source). Any other field is kept in `model_extra`, since
    a batch that carries one is not one Berth sent (decisions.batches)."""

    model_config = ConfigDict(extra="allow")

    run_id: str = Field(min_length=1, max_length=64)
    batch: int = Field(ge=0)
    spec: SpecVersion
    """Its `bucket` is the stage's spec bucket, which the stage's rule matches (values.triggers)."""


class DeployBatch(EventBridgeEvent):
    detail: DeployBatchDetail


_MODELS: dict[tuple[str, str], type[EventBridgeEvent]] = {
    ("aws.ecr", "ECR Image Action"): EcrImageAction,
    ("aws.ecs", "ECS Deployment State Change"): EcsDeploymentStateChange,
    ("aws.ecs", "ECS Service Action"): EcsServiceAction,
    ("aws.ecs", "ECS Task State Change"): EcsTaskStateChange,
    ("berth", "Berth Deployment Batch"): DeployBatch,
}


def parse_event(raw: Any, expected: type[EventBridgeEvent]) -> Any:
    """Parse an EventBridge event of a known source and detail-type into its model."""
    if not isinstance(raw, dict):
        raise EventNotUnderstood("?", f"event is a {type(raw).__name__}, not a JSON object")
    event_id = str(raw.get("id", "?"))
    model = _MODELS.get((str(raw.get("source")), str(raw.get("detail-type"))))
    if model is not expected:
        raise EventNotUnderstood(
            event_id,
            f"unexpected event {raw.get('source')!r} / {raw.get('detail-type')!r} "
            f"for a {expected.__name__} handler",
        )
    try:
        return expected.model_validate(raw)
    except ValidationError as exc:
        raise EventNotUnderstood(event_id, _first_error(exc)) from None


def _first_error(exc: ValidationError) -> str:
    errors = exc.errors()
    first = errors[0]
    where = ".".join(str(p) for p in first["loc"]) or "event"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {first['msg']}{more}"


# ---- ECS lifecycle hook invocations --------------------------------------------------------------
# What ECS passes a lifecycle hook's Lambda function (ECS developer guide, "Lifecycle hooks for
# Amazon ECS service deployments", Lifecycle payloads: serviceArn, targetServiceRevisionArn,
# testTrafficWeights, productionTrafficWeights; "Lambda hooks for Amazon ECS service deployments":
# hookDetails configured on the hook, or returned with IN_PROGRESS).


class HookExecutionDetails(Model):
    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    service_arn: str = Field(alias="serviceArn", min_length=1)
    target_service_revision_arn: str = Field(alias="targetServiceRevisionArn", default="")
    test_traffic_weights: dict[str, float] = Field(alias="testTrafficWeights", default={})
    production_traffic_weights: dict[str, float] = Field(
        alias="productionTrafficWeights", default={}
    )


class LifecycleHookInvocation(Model):
    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    execution_details: HookExecutionDetails = Field(alias="executionDetails")
    execution_id: str = Field(alias="executionId", default="")
    lifecycle_stage: str = Field(alias="lifecycleStage", min_length=1)
    resource_arn: str = Field(alias="resourceArn", default="")
    hook_details: dict[str, Any] = Field(alias="hookDetails", default={})
