"""Recording the AWS calls Berth's handlers make (botocore event hooks), for the replay output,
the policy test and the benchmarks."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import boto3

MUTATING_ECS = frozenset(
    {"RegisterTaskDefinition", "CreateService", "UpdateService", "DeleteService", "RunTask",
     "StopTask"}
)


@dataclass(frozen=True)
class Call:
    service: str
    operation: str
    params: dict[str, Any]


@dataclass
class CallRecorder:
    calls: list[Call] = field(default_factory=list)

    def attach(self, session: boto3.session.Session) -> boto3.session.Session:
        """Record every API call of every client later made from `session` (retries excluded)."""
        session.events.register("before-parameter-build", self._record)
        return session

    def _record(self, model: Any, params: Any, **_: Any) -> None:
        self.calls.append(Call(model.service_model.service_name, model.name, dict(params)))

    def mark(self) -> int:
        return len(self.calls)

    def since(self, mark: int) -> list[Call]:
        return self.calls[mark:]

    def ecs_mutations(self, mark: int = 0) -> list[Call]:
        return [c for c in self.since(mark) if c.service == "ecs" and c.operation in MUTATING_ECS]

    def counts(self, mark: int = 0) -> Counter[str]:
        return Counter(f"{c.service}:{c.operation}" for c in self.since(mark))
