"""`berth status` and `berth history`: what every service runs, read from ECS (the live task
definition's image) beside what Berth recorded (its head and deployment records)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from berth.commands import OperatorError
from berth.commands.approve import approval_text
from chalicelib.adapters.ecs import Ecs
from chalicelib.adapters.store import Store
from chalicelib.spec.model import Spec
from chalicelib.values.records import SPEC_SERVICE, AcceptedSpec, DeploymentRecord


@dataclass(frozen=True)
class Running:
    """What ECS runs for a service: its task definition's image and its primary deployment."""

    task_definition_arn: str | None = None
    tag: str | None = None
    digest: str | None = None
    rollout_state: str | None = None
    running: int | None = None
    desired: int | None = None


@dataclass(frozen=True)
class ServiceStatus:
    environment: str
    service: str
    cluster: str
    running: Running
    history: list[DeploymentRecord] = field(default_factory=list)
    """Newest first."""

    @property
    def last(self) -> DeploymentRecord | None:
        return self.history[0] if self.history else None


def running_of(ecs: Ecs, cluster: str, name: str) -> Running:
    """The live service's image (digest from the task definition, tag from Berth's label)."""
    live = ecs.service(cluster, name)
    if live is None:
        return Running()
    description = live.description
    task = ecs.task_definition(live.task_definition_arn) if live.task_definition_arn else {}
    containers = task.get("containerDefinitions", [])
    container = next((c for c in containers if c.get("name") == name), None)
    container = container or (containers[0] if containers else {})
    image = str(container.get("image", ""))
    digest = image.rpartition("@")[2] if "@" in image else None
    tag = (container.get("dockerLabels") or {}).get("berth.image.tag") or None
    return Running(
        task_definition_arn=live.task_definition_arn or None,
        tag=tag,
        digest=digest,
        rollout_state=live.primary_rollout_state,
        running=description.get("runningCount"),
        desired=description.get("desiredCount"),
    )


def environments(store: Store, only: str | None = None) -> list[AcceptedSpec]:
    """The environments Berth knows (those with an accepted spec), by name."""
    accepted = sorted(store.accepted_specs(), key=lambda a: a.environment)
    if only is None:
        return accepted
    found = [a for a in accepted if a.environment == only]
    if not found:
        known = ", ".join(a.environment for a in accepted) or "none yet"
        raise OperatorError(f"no accepted spec for environment {only!r} (environments: {known})")
    return found


def collect(
    store: Store, ecs: Ecs, only: str | None = None, history: int = 1
) -> list[ServiceStatus]:
    """Every service of every accepted spec (or of one environment), with its last `history`
    deployment records; uploads rejected since the spec that runs was accepted appear as the
    service `(spec)` (every rejected upload is `berth history ENV '(spec)'`'s)."""
    rows: list[ServiceStatus] = []
    for accepted in environments(store, only):
        spec = Spec.model_validate(accepted.document)
        for name in spec.deployment_order():
            rows.append(
                ServiceStatus(
                    accepted.environment,
                    name,
                    spec.cluster,
                    running_of(ecs, spec.cluster, name),
                    store.history(accepted.environment, name, history),
                )
            )
        uploads = store.history(accepted.environment, SPEC_SERVICE, history)
        rejected = since_accepted(accepted, uploads)
        if rejected:
            rows.append(
                ServiceStatus(accepted.environment, SPEC_SERVICE, spec.cluster, Running(), rejected)
            )
    return rows


def since_accepted(
    accepted: AcceptedSpec, rejected: list[DeploymentRecord]
) -> list[DeploymentRecord]:
    """The rejected uploads newer than the environment's accepted spec: an upload rejected
    before a later one was accepted is history, not the environment's status."""
    return [r for r in rejected if r.created_at > accepted.accepted_at]


# ---- what people read ---------------------------------------------------------------------------


def when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment is not None else "-"


def finished(record: DeploymentRecord) -> datetime:
    return record.finished_at or record.updated_at


def short_digest(digest: str | None) -> str:
    return digest.removeprefix("sha256:")[:12] if digest else "-"


def revision(arn: str | None) -> str:
    """`dev-apim:7` from a task definition ARN."""
    return arn.rpartition("/")[2] if arn else "-"


def trigger_text(record: DeploymentRecord) -> str:
    trigger = record.trigger
    if trigger.kind == "spec" and trigger.spec is not None:
        version = f"@{trigger.spec.version_id}" if trigger.spec.version_id else ""
        return f"spec s3://{trigger.spec.bucket}/{trigger.spec.key}{version}"
    if trigger.kind in ("rollback", "promote"):
        source = f" from {trigger.from_environment}" if trigger.from_environment else ""
        who = f" by {trigger.requested_by}" if trigger.requested_by else ""
        return f"{trigger.kind}{source}{who}"
    if trigger.image is not None:
        return f"push {trigger.image.repository}:{trigger.image.label}"
    return trigger.kind


def rollout_text(running: Running) -> str:
    if running.task_definition_arn is None:
        return "-"
    counts = f" {running.running}/{running.desired}" if running.desired is not None else ""
    return f"{running.rollout_state or '-'}{counts}"


COLUMNS = ("ENV", "SERVICE", "TAG", "DIGEST", "TASK DEFINITION", "ROLLOUT", "LAST", "WHEN")


def status_cells(row: ServiceStatus) -> tuple[str, ...]:
    last = row.last
    return (
        row.environment,
        row.service,
        row.running.tag or "-",
        short_digest(row.running.digest),
        revision(row.running.task_definition_arn),
        rollout_text(row.running),
        last.status if last is not None else "-",
        when(finished(last)) if last is not None else "-",
    )


def table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    """Columns padded to their widest cell, two spaces apart."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
            for r in [header, *rows]]  # fmt: skip


def status_table(rows: list[ServiceStatus]) -> list[str]:
    return table(COLUMNS, [status_cells(r) for r in rows])


def record_json(record: DeploymentRecord) -> dict[str, Any]:
    return dict(record.model_dump(mode="json"))


def status_json(rows: list[ServiceStatus]) -> list[dict[str, Any]]:
    return [
        {
            "environment": r.environment,
            "service": r.service,
            "cluster": r.cluster,
            "running": {
                "tag": r.running.tag,
                "digest": r.running.digest,
                "task_definition_arn": r.running.task_definition_arn,
                "rollout_state": r.running.rollout_state,
                "running_count": r.running.running,
                "desired_count": r.running.desired,
            },
            "last": record_json(r.last) if r.last is not None else None,
        }
        for r in rows
    ]


def history_lines(records: list[DeploymentRecord]) -> list[str]:
    """Newest first: when, outcome, image, trigger; then the reason, causes and errors."""
    lines: list[str] = []
    for r in records:
        image = r.image.label if r.image is not None else "-"
        lines.append(f"{when(r.created_at)}  {r.status:<11} {image:<18} {trigger_text(r)}")
        details = [r.trigger.note, r.reason, approval_text(r), *r.causes, *r.errors]
        lines += [f"    {d}" for d in dict.fromkeys(d for d in details if d)]
    return lines
