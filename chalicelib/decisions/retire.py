"""What retiring a service means for the ECS service that runs it now.

A spec retires a service by naming it under `retire:`: `delete` scales the ECS service to zero
and deletes it (ECS API reference, DeleteService: a service scaled above 0 cannot be deleted
without `force`, so Berth scales it down first, which also drains it from its load balancer);
`keep` leaves it running and no longer Berth's. Either is announced once, when it happens."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from chalicelib.spec.model import Retirement
from chalicelib.values.live import LiveService

from .changes import ownership_problem

RetireKind = Literal["delete", "keep", "none", "refuse"]


@dataclass(frozen=True)
class RetireAction:
    kind: RetireKind
    reason: str


def retirement(
    *,
    environment: str,
    name: str,
    how: Retirement,
    live: LiveService | None,
    retired_before: Retirement | None,
    adoptable: frozenset[str] = frozenset(),
    stage: str | None = None,
) -> RetireAction:
    """What to do for `name` retired `how`, given the live service and how the previous
    accepted spec retired it (None: it did not)."""
    if live is None:
        return RetireAction("none", f"{name} does not run; nothing to retire")
    owned = ownership_problem(live, environment, adoptable, stage)
    if owned is not None:
        return RetireAction("refuse", owned)
    if how == "delete":
        return RetireAction("delete", f"{name} is retired: scaled to 0 and deleted")
    if retired_before == "keep":
        return RetireAction("none", f"{name} was already left running, unmanaged")
    return RetireAction("keep", f"{name} is retired: left running, no longer deployed by Berth")
