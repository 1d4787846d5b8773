"""The values Berth keeps and the words it uses for them: deployment records, service heads and
accepted specs, with each status and trigger vocabulary defined once (no AWS here)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from chalicelib.model import Model

Status = Literal[
    "PENDING",  # waiting for dependencies of the same run to complete
    "IN_PROGRESS",  # ECS is rolling it out
    "ROLLING_BACK",  # the circuit breaker failed it and is restoring the previous deployment
    "COMPLETED",
    "FAILED",
    "ROLLED_BACK",
    "TIMED_OUT",
    "SKIPPED",  # a dependency failed, so it was never started
    "REJECTED",  # the spec did not validate or could not be planned
    "SUPERSEDED",  # a newer change for the same service replaced it before it finished
]
TerminalStatus = Literal[
    "COMPLETED", "FAILED", "ROLLED_BACK", "TIMED_OUT", "SKIPPED", "REJECTED", "SUPERSEDED"
]
ACTIVE: frozenset[Status] = frozenset({"PENDING", "IN_PROGRESS", "ROLLING_BACK"})

TriggerKind = Literal["spec", "image", "rollback", "promote"]
"""What starts a deployment: a spec upload, an image push, or a person asking for an image Berth
recorded (`berth rollback`) or another environment runs (`berth promote`)."""
EventSource = Literal[TriggerKind, "ecs", "sweep", "batch"]
"""What moved a record to where it is: a trigger, an ECS event or the sweep; or what told a
notification that is no record's ("batch": a wide-run batch event Berth refused)."""

SPEC_SERVICE = "(spec)"
"""The service name of records about a whole spec (a rejected upload)."""


def service_key(environment: str, service: str) -> str:
    """The partition key of one service's records and head: `env#service`."""
    return f"{environment}#{service}"


class Image(Model):
    repository: str
    digest: str
    tag: str | None = None
    pushed_at: datetime | None = None

    @property
    def label(self) -> str:
        return self.tag or self.digest[:19]


class SpecVersion(Model):
    bucket: str
    key: str
    version_id: str | None = None


class Trigger(Model):
    kind: TriggerKind
    event_id: str
    spec: SpecVersion | None = None
    image: Image | None = None
    requested_by: str | None = None
    """Who asked for a rollback or a promotion (their AWS identity's ARN), or who uploaded the
    spec version (S3's requester: an account ID or service principal)."""
    from_environment: str | None = None
    """The environment a promoted image was taken from."""
    container: str | None = None
    """The sidecar whose repository the pushed `image` is from; None for the product container."""
    note: str = ""
    """What the person asked for, in words, and any judgement it overrode ("never older"): kept
    with the trigger, which no later step of the record rewrites."""


class Approval(Model):
    """An approval gate's state on a deployment record: when Berth's hook first asked for the
    approval and its deadline; who approved, when, and what they said (`berth approve`)."""

    asked_at: datetime
    deadline: datetime
    approved_by: str | None = None
    approved_at: datetime | None = None
    note: str = ""

    @property
    def state(self) -> Literal["WAITING", "APPROVED"]:
        return "APPROVED" if self.approved_by is not None else "WAITING"


class DeploymentRecord(Model):
    """One service deployment, from trigger to outcome."""

    environment: str
    service: str
    record_id: str
    run_id: str
    status: Status
    trigger: Trigger
    cluster: str = ""
    image: Image | None = None
    previous_image: Image | None = None
    sidecar_images: dict[str, Image] = {}
    """The images of the service's tracked sidecars, by container (pinned ones are the spec's)."""
    previous_sidecar_images: dict[str, Image] = {}
    task_definition_arn: str | None = None
    previous_task_definition_arn: str | None = None
    ecs_service_arn: str | None = None
    ecs_deployment_id: str | None = None
    ecs_task_arn: str | None = None
    """The one-off task a schema record runs (RunTask), whose stop concludes the record."""
    rollback_deployment_ids: list[str] = []
    rollback_enabled: bool = True
    waiting_for: list[str] = []
    desired_count: int | None = None
    """The desired count to set, when the spec changed it; None leaves the live count alone."""
    ecs_still_rolling: bool = False
    """Timed out while ECS was still rolling it out: ECS's late outcome corrects the record."""
    run_size: int | None = None
    """Set on the records of a wide run (more services than one invocation deploys): their
    outcomes are told together in one run summary instead of one notification each."""
    reason: str = ""
    causes: list[str] = []
    stages: list[str] = []
    """A blue/green, canary or linear deployment's lifecycle as Berth saw it, one line a step
    ("POST_TEST_TRAFFIC_SHIFT: verification passed: ...", "rolled back: ...")."""
    verification: str = ""
    """What Berth's verification hook found last (the reason of its answer)."""
    approval: Approval | None = None
    """The approval gate's state, once Berth's hook asked for an approval."""
    errors: list[str] = []
    errors_total: int | None = None
    """How many errors there were, when more than `errors` keeps (one item holds 400 KB)."""
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    stamp: str = ""
    """A fresh token the store gives each write of the record (also a top-level attribute of
    its item, for conditions): a copy of the record is current while the stored item carries
    its stamp. A token, not a counter: two writers from the same read would both write n+1."""

    @property
    def target(self) -> str:
        return service_key(self.environment, self.service)

    @property
    def changed(self) -> tuple[str | None, Image | None, Image | None]:
        """(container, image, previous image) of what this record changes: a tracked sidecar's
        image for a push to its repository (container named), else the product's (None)."""
        container = self.trigger.container
        if container is not None and container in self.sidecar_images:
            before = self.previous_sidecar_images.get(container)
            return container, self.sidecar_images[container], before
        return None, self.image, self.previous_image

    @property
    def label(self) -> str:
        """What people read for the image this record deploys: `4.7.0-3`, or
        `log-router 2.32.5` when it changes a sidecar's image."""
        container, image, _ = self.changed
        text = image.label if image is not None else ""
        return f"{container} {text}" if container else text


class FailedImage(Model):
    """A digest whose deployment ECS ran for a service and that failed or was rolled back there:
    the head keeps it so that the same push, delivered again, does not deploy it again."""

    container: str | None = None
    """The tracked sidecar the image is of; None for the product container."""
    image: Image
    record_id: str
    status: Literal["FAILED", "ROLLED_BACK"]
    failed_at: datetime


class TakenOver(Model):
    """A start lease its holder never released, found expired by the start that took the
    service over: the holder died or was slow, and what it did on ECS is read from ECS."""

    record_id: str
    since: datetime | None = None
    until: datetime | None = None


class Head(Model):
    """What a service runs (or is being moved to) as far as Berth knows; versioned for races."""

    environment: str
    service: str
    revision: int = 0
    image: Image | None = None
    sidecar_images: dict[str, Image] = {}
    """What the service's tracked sidecars run, by container."""
    task_definition_arn: str | None = None
    active_record_id: str | None = None
    starting_record_id: str | None = None
    """The record whose ECS calls are under way: only one start changes a service at a time."""
    starting_since: datetime | None = None
    starting_until: datetime | None = None
    """When the lease holder's Lambda invocation must have ended (its deadline); None for a
    lease taken outside Lambda, which then lasts `flows.lease.START_LEASE`."""
    lease_token: str | None = None
    """A fresh token per lease taken: two deliveries of one record are told apart by it, so a
    holder whose lease expired never releases (or writes as its own) the next holder's."""
    taken_over: TakenOver | None = None
    """The unreleased lease this lease replaced (`TakenOver`); None when the service was free."""
    log_groups: list[str] | None = None
    """The log groups Berth ensured for the task definition it last started, so that a push to a
    running service needs no Logs call; None when unknown (ensured again: idempotent)."""
    active_record: DeploymentRecord | None = None
    """A copy of the active record as the transaction that wrote both last wrote it (claim,
    start), so that ECS's outcome needs no read of the record. Only a hint: other writes change
    the record alone, so a write based on the copy is conditioned on the record still carrying
    the copy's `stamp`, and falls back to reading the record when it does not. None in heads
    written before the copy was kept, and whenever it is not of `active_record_id`."""

    failed_images: list[FailedImage] = []
    """The digests whose deployments failed or were rolled back here, newest first (a few:
    `decisions.redelivery.FAILURES_KEPT`): not deployed again automatically."""

    @property
    def copy_of_active(self) -> DeploymentRecord | None:
        """The copy of the active record, when the head holds one of that record."""
        copy = self.active_record
        if copy is None or not copy.stamp or copy.record_id != self.active_record_id:
            return None
        return copy

    @property
    def target(self) -> str:
        return service_key(self.environment, self.service)


class RunOutcome(Model):
    """One service's outcome in a wide run's summary."""

    service: str
    status: str
    reason: str = ""
    image: str | None = None
    record_id: str | None = None


class RunBatch(Model):
    """One batch of a wide run as Berth planned it: its services, and for a `start` run the
    claimed record of each."""

    services: list[str]
    records: list[str] = []


class RunPlan(Model):
    """What Berth fanned a wide run out as, kept in the run's record before any batch is sent:
    a batch event names only its index here, and its invocation deploys what this says, never
    what the event says (the bus admits anyone allowed events:PutEvents, issue 28)."""

    kind: Literal["image", "start"]
    spec: SpecVersion
    """The accepted spec version the run was planned under."""
    batches: list[RunBatch]
    other_tags: list[str] = []
    """The tags ECR already had on an `image` run's digest (decisions.push.judge_push)."""
    container: str | None = None
    """The tracked sidecar an `image` run's push is for; None for the product container."""


class RunTally(Model):
    """A wide run's outcomes so far: the summary is told when `remaining` reaches 0. The
    `trigger` is the one Berth verified when it opened the run (an image's digest and push time
    as ECR holds them)."""

    run_id: str
    environment: str
    total: int
    remaining: int = 0
    trigger: Trigger
    outcomes: dict[str, RunOutcome] = {}
    plan: RunPlan | None = None
    """How the run was fanned out; None until its batches are planned."""
    batches_done: frozenset[int] = frozenset()
    """The indexes of the plan's batches whose invocation finished: a batch event naming one
    again is a replay."""


class Waiter(Model):
    """A PENDING record waiting for a dependency, kept in the dependency's partition so that the
    dependency's outcome finds it with its head in one read."""

    environment: str
    service: str
    record_id: str

    @property
    def key(self) -> str:
        return f"WAITER#{self.service}#{self.record_id}"


class AcceptedSpec(Model):
    """The desired state of an environment: the last spec version that validated."""

    environment: str
    account: str
    region: str
    source: SpecVersion
    sequencer: str = ""
    accepted_at: datetime
    document: dict[str, object] = Field(default_factory=dict)
