"""A finished record's dependents: start those that were waiting only for it, skip the others
when it did not complete, and say why."""

from __future__ import annotations

from chalicelib.context import Berth
from chalicelib.spec.model import Spec
from chalicelib.values.outcomes import Outcome
from chalicelib.values.records import DeploymentRecord, TerminalStatus

from ..claims import pending_outcome
from .finish import finish
from .shared import Dependents
from .start import start


def move_on(
    berth: Berth, record: DeploymentRecord, status: TerminalStatus, dependents: Dependents
) -> list[Outcome]:
    """Start the dependents of a completed record; skip those of one that did not complete."""
    if status == "COMPLETED":
        return release_dependents(berth, record, dependents)
    return skip_dependents(berth, record, dependents)


def release_dependents(
    berth: Berth, record: DeploymentRecord, dependents: Dependents
) -> list[Outcome]:
    """Start the PENDING records that were waiting only for `record`'s service."""
    outcomes: list[Outcome] = []
    accepted = berth.store.accepted_spec(record.environment) if dependents else None
    for dependent, waiter in dependents:
        waiting = [w for w in dependent.waiting_for if w != record.service]
        if waiting or accepted is None:
            moved = berth.store.transition(
                dependent, {"PENDING"}, waiting_for=waiting,
                reason=f"waiting for {', '.join(waiting)}",
            )  # fmt: skip
            if moved:
                outcomes.append(pending_outcome(moved))
                berth.store.forget_waiter(record.service, waiter)
            continue
        spec = Spec.model_validate(accepted.document)
        if dependent.service not in spec.services:
            outcomes += skip(berth, dependent, f"{dependent.service} is no longer in the spec")
        else:
            outcomes += start(berth, dependent, spec, accepted)
        berth.store.forget_waiter(record.service, waiter)
    return outcomes


def skip(berth: Berth, record: DeploymentRecord, reason: str) -> list[Outcome]:
    now = berth.clock()
    done = berth.store.transition(
        record, {"PENDING"}, status="SKIPPED", reason=reason, finished_at=now, updated_at=now
    )
    return finish(berth, done, "SKIPPED", "ecs") if done else []


_DEPENDENCY_VERB = {
    "ROLLED_BACK": "failed and was rolled back",
    "TIMED_OUT": "timed out",
    "SKIPPED": "was skipped",
    "SUPERSEDED": "was superseded before it started",
}


def skip_dependents(
    berth: Berth, record: DeploymentRecord, dependents: Dependents
) -> list[Outcome]:
    label = f"{record.service} {record.label}" if record.label else record.service
    verb = _DEPENDENCY_VERB.get(record.status, "failed")
    outcomes: list[Outcome] = []
    for dependent, waiter in dependents:
        outcomes += skip(berth, dependent, f"its dependency {label} {verb}")
        berth.store.forget_waiter(record.service, waiter)
    return outcomes
