"""In-memory stand-ins of Berth's adapters, for testing flows without moto (the chalice todo
sample's InMemoryTodoDB pattern). Each keeps the contract of the adapter it replaces: the store's
conditional writes refuse exactly when DynamoDB's conditions would."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.adapters.clients import Clients
from chalicelib.context import Berth
from chalicelib.settings import Settings
from chalicelib.values.live import Applied, EcrImage, LiveService, TaggedImage
from chalicelib.values.records import (
    ACTIVE,
    AcceptedSpec,
    DeploymentRecord,
    Head,
    Waiter,
    service_key,
)


def _stamped(record: DeploymentRecord) -> DeploymentRecord:
    """As the store writes a record: with a stamp no other write carries."""
    return record.model_copy(update={"stamp": uuid.uuid4().hex})


class InMemoryStore:
    """Records, heads and waiters as DynamoDB would hold them. Every condition the real store
    writes is evaluated against what is stored: status, head revision, and the record's stamp
    (`unchanged`), so a write based on a stale copy is refused here as DynamoDB refuses it."""

    def __init__(self) -> None:
        self.records: dict[tuple[str, str], DeploymentRecord] = {}
        self.heads: dict[str, Head] = {}
        self.external: set[str] = set()
        self.specs: dict[str, AcceptedSpec] = {}
        self.waiters: dict[tuple[str, str], Waiter] = {}

    def put_record(self, record: DeploymentRecord) -> None:
        assert (record.target, record.record_id) not in self.records, "attribute_not_exists(sk)"
        self.records[(record.target, record.record_id)] = _stamped(record)

    def _holds(self, record, allowed_from, unchanged):
        """The record write's condition, evaluated on the stored item."""
        stored = self.records[(record.target, record.record_id)]
        return stored.status in allowed_from and (not unchanged or stored.stamp == record.stamp)

    def transition(self, record, allowed_from, *, unchanged=False, **changes):
        if not self._holds(record, allowed_from, unchanged):
            return None
        updated = _stamped(record.model_copy(update=changes))
        self.records[(record.target, record.record_id)] = updated
        return updated

    def transition_approval(self, record, gate_state, **changes):
        stored = self.records[(record.target, record.record_id)]
        state = stored.approval.state if stored.approval else None
        if stored.status != "IN_PROGRESS" or state != gate_state:
            return None
        updated = _stamped(record.model_copy(update=changes))
        self.records[(record.target, record.record_id)] = updated
        return updated

    def get_record(self, environment, service, record_id):
        return self.records.get((service_key(environment, service), record_id))

    def record_by_ecs_deployment(self, deployment_id):
        return next(
            (r for r in self.records.values() if r.ecs_deployment_id == deployment_id), None
        )

    def records_with_status(self, status, created_before=None):
        found = [
            r
            for r in self.records.values()
            if r.status == status and (created_before is None or r.created_at < created_before)
        ]
        return sorted(found, key=lambda r: r.created_at)

    def unsettled_records(self, created_before):
        found = [r for r in self.records.values() if r.status in ACTIVE]
        return sorted(
            (r for r in found if r.created_at < created_before), key=lambda r: r.created_at
        )

    def history(self, environment, service, limit=20):
        key = service_key(environment, service)
        mine = [r for (k, _), r in self.records.items() if k == key]
        return sorted(mine, key=lambda r: r.record_id, reverse=True)[:limit]

    def get_head(self, environment, service):
        return self.heads.get(
            service_key(environment, service), Head(environment=environment, service=service)
        )

    def put_head(self, head):
        current = self.heads.get(head.target)
        if (current.revision if current else 0) != head.revision:
            return None
        moved = head.model_copy(update={"revision": head.revision + 1})
        if moved.active_record is not None and moved.copy_of_active is None:
            moved = moved.model_copy(update={"active_record": None})
        self.heads[head.target] = moved
        return moved

    def lease_if_current(self, head, environment, decided_under):
        """put_head with the accepted-spec ConditionCheck, all or nothing (transactions.py)."""
        current = self.heads.get(head.target)
        if (current.revision if current else 0) != head.revision:
            return "moved"
        accepted = self.specs.get(environment)
        if accepted is not None and accepted.source.version_id is not None and (
            accepted.source.key, accepted.source.version_id
        ) != (decided_under.key, decided_under.version_id):
            return "stale"
        return self.put_head(head)

    def head_and_waiters(self, environment, service):
        target = service_key(environment, service)
        waiters = [w for (dependency, _), w in sorted(self.waiters.items()) if dependency == target]
        return self.get_head(environment, service), waiters

    def forget_waiter(self, dependency, waiter):
        self.waiters.pop((service_key(waiter.environment, dependency), waiter.key), None)

    def claim(self, record, head):
        """All or nothing, as DynamoDB's TransactWriteItems."""
        current = self.heads.get(head.target)
        if (current.revision if current else 0) != head.revision:
            return None
        self.put_record(record)
        written = self.records[(record.target, record.record_id)]
        if head.active_record_id == record.record_id:
            head = head.model_copy(update={"active_record": written})
        for dependency in record.waiting_for:
            waiter = Waiter(
                environment=record.environment, service=record.service, record_id=record.record_id
            )
            self.waiters[(service_key(record.environment, dependency), waiter.key)] = waiter
        return self.put_head(head)

    def transition_with_head(self, record, allowed_from, head, *, unchanged=False, **changes):
        """All or nothing, as DynamoDB's TransactWriteItems; the head keeps a copy of the record
        it names, as written."""
        if not self._holds(record, allowed_from, unchanged):
            return None, None
        current = self.heads.get(head.target)
        if (current.revision if current else 0) != head.revision:
            return self.transition(record, allowed_from, unchanged=unchanged, **changes), None
        updated = self.transition(record, allowed_from, unchanged=unchanged, **changes)
        if head.active_record_id == record.record_id:
            head = head.model_copy(update={"active_record": updated})
        return updated, self.put_head(head)

    def claim_external(self, deployment_id, service_arn, event_name, expires):
        if deployment_id in self.external:
            return False
        self.external.add(deployment_id)
        return True

    def accept_spec(self, accepted):
        current = self.specs.get(accepted.environment)
        if current is not None and current.sequencer > accepted.sequencer:
            return False
        self.specs[accepted.environment] = accepted
        return True

    def accepted_spec(self, environment):
        return self.specs.get(environment)

    def accepted_specs(self):
        return list(self.specs.values())


class FakeEcs:
    """Services and task definitions as ECS would hold them after each call."""

    def __init__(self) -> None:
        self.services: dict[str, dict[str, Any]] = {}
        self.task_definitions: dict[str, dict[str, Any]] = {}
        self.mutations: list[tuple[str, str]] = []
        self._ids = itertools.count(1)
        self.service_deployments: dict[str, dict[str, Any]] = {}
        """ECS deployment id -> its service deployment, as DescribeServiceDeployments says."""

    def service(self, cluster, name):
        svc = self.services.get(f"{cluster}/{name}")
        if svc is None:
            return None
        primary = svc["deployments"][0]
        tags = {t["key"]: t["value"] for t in svc.get("tags", [])}
        return LiveService(svc["serviceArn"], svc["taskDefinition"], primary["id"],
                           primary["rolloutState"], svc["launchType"], svc, tags)  # fmt: skip

    def task_definition(self, arn):
        return self.task_definitions[arn]

    def register(self, rendered):
        revision = sum(f"/{rendered['family']}:" in a for a in self.task_definitions) + 1
        arn = f"arn:aws:ecs:us-east-1:123456789012:task-definition/{rendered['family']}:{revision}"
        self.task_definitions[arn] = {**rendered, "taskDefinitionArn": arn, "revision": revision}
        self.mutations.append(("RegisterTaskDefinition", rendered["family"]))
        return arn

    def _deployment(self, task_definition: str) -> dict[str, Any]:
        return {"id": f"ecs-svc/{next(self._ids)}", "status": "PRIMARY",
                "taskDefinition": task_definition, "rolloutState": "IN_PROGRESS"}  # fmt: skip

    def create_service(self, request):
        name, cluster = request["serviceName"], request["cluster"]
        settings = {k: v for k, v in request.items() if k not in ("serviceName", "cluster")}
        # DescribeServices reports Service Connect on each deployment, not on the service (ECS API
        # reference: Deployment.serviceConnectConfiguration; the Service shape has none).
        connect = settings.pop("serviceConnectConfiguration", None)
        deployment = self._deployment(request["taskDefinition"])
        if connect is not None:
            deployment["serviceConnectConfiguration"] = connect
        self.services[f"{cluster}/{name}"] = {
            **settings,
            "serviceArn": f"arn:aws:ecs:us-east-1:123456789012:service/{cluster}/{name}",
            "deployments": [deployment],
        }
        self.mutations.append(("CreateService", name))
        return Applied(self.services[f"{cluster}/{name}"]["serviceArn"],
                       self.services[f"{cluster}/{name}"]["deployments"][0]["id"])  # fmt: skip

    def update_service(self, request):
        svc = self.services[f"{request['cluster']}/{request['service']}"]
        moved = svc["taskDefinition"] != request["taskDefinition"]
        before = svc["deployments"][0].get("serviceConnectConfiguration")
        connect = request.get("serviceConnectConfiguration", before)
        svc.update({k: v for k, v in request.items()
                    if k not in ("service", "cluster", "serviceConnectConfiguration")})  # fmt: skip
        # ECS starts a deployment for a new task definition or Service Connect configuration
        # (UpdateService: "This parameter triggers a new service deployment").
        if moved or connect != before:
            svc["deployments"].insert(0, self._deployment(request["taskDefinition"]))
        if connect is not None:
            svc["deployments"][0]["serviceConnectConfiguration"] = connect
        self.mutations.append(("UpdateService", request["service"]))
        return Applied(svc["serviceArn"], svc["deployments"][0]["id"])

    def deployment(self, cluster, service, deployment_id):
        svc = self.services.get(f"{cluster}/{service}", {})
        return next((d for d in svc.get("deployments", []) if d["id"] == deployment_id), None)

    def service_deployment(self, cluster, service, deployment_id, recorded_at):
        return self.service_deployments.get(deployment_id)

    def stopped_tasks(self, cluster, started_by, limit=20):
        return []

    def description(self, cluster, name):
        return self.services.get(f"{cluster}/{name}")


class FakeEcr:
    def __init__(self) -> None:
        self.images: dict[str, list[TaggedImage]] = {}

    def push(self, repository: str, tag: str, digest: str, at: datetime) -> None:
        self.images.setdefault(repository, []).append(TaggedImage(tag, digest, at))

    def tagged_images(self, repository):
        return list(self.images.get(repository, []))

    def image(self, repository, digest):
        tagged = [i for i in self.images.get(repository, []) if i.digest == digest]
        if not tagged:
            return None
        return EcrImage(digest, tuple(i.tag for i in tagged), min(i.pushed_at for i in tagged))


class FakeSpecObjects:
    def __init__(self) -> None:
        self.objects: dict[tuple[str, str, str | None], bytes] = {}

    def read(self, bucket, key, version_id, limit):
        data = self.objects.get((bucket, key, version_id))
        return None if data is None else data[:limit]

    def keys(self, bucket, prefix, limit=100):
        found = sorted({k for (b, k, _v) in self.objects if b == bucket and k.startswith(prefix)})
        return found[:limit]

    def current(self, bucket, key, limit):
        """The last version put for the key (dicts keep insertion order), as S3's current one."""
        versions = [(v, d) for (b, k, v), d in self.objects.items() if (b, k) == (bucket, key)]
        if not versions:
            return None
        version, data = versions[-1]
        return version, data[:limit]


class FakeLogs:
    def __init__(self) -> None:
        self.groups: dict[str, int] = {}

    def ensure_group(self, name, retention_days):
        if name in self.groups:
            return False
        self.groups[name] = retention_days
        return True


class ListNotifier:
    def __init__(self) -> None:
        self.published: list[Any] = []

    def publish(self, note):
        self.published.append(note)
        return True


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(milliseconds=1)  # records created in order sort in order
        return self.now


class FakeResources:
    """Everything a spec references exists, unless a test says it is missing."""

    def __init__(self) -> None:
        self.absent: set[tuple[str, str]] = set()

    def missing(self, references):
        return {(r.kind, r.identifier) for r in references} & self.absent


def in_memory_berth() -> Berth:
    """A Berth whose adapters are all in memory: no client is ever built."""
    settings = Settings(
        region="us-east-1", spec_bucket="specs", topic_arn="arn:topic", account="123456789012"
    )
    berth = Berth(settings=settings, clients=Clients(settings), clock=Clock())
    berth.store = InMemoryStore()  # type: ignore[assignment]
    berth.ecs = FakeEcs()  # type: ignore[assignment]
    berth.ecr = FakeEcr()  # type: ignore[assignment]
    berth.spec_objects = FakeSpecObjects()  # type: ignore[assignment]
    berth.notifier = ListNotifier()  # type: ignore[assignment]
    berth.logs = FakeLogs()  # type: ignore[assignment]
    berth.resources = FakeResources()  # type: ignore[assignment]
    return berth
