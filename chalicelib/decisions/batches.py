"""Is a wide-run batch event one Berth sent, for work it still has to do?

A batch travels on the default event bus, which admits any principal allowed events:PutEvents
on it: only `aws.*` sources are reserved (EventBridge user guide, "Amazon EventBridge events",
`source`), so its source proves nothing. What proves it is the run's record, which only Berth
writes: a batch event is a reference (run id, batch index, the spec version the run was planned
under) and is deployed only as the run's plan says. A batch is refused when

- no run of that id was opened and fanned out by Berth (forged),
- it carries anything beside the reference, such as images or services (forged: Berth's batches
  never do, and what it would deploy is not what Berth verified),
- its index is not one of the plan's batches, or its spec version is not the run's (forged),
- its batch is already done (a replay of a real one: an at-least-once redelivery, or someone
  putting a copy back on the bus; either way there is nothing left to do).

Pure: the flow reads the run's record and passes it in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from chalicelib.values.records import RunTally, SpecVersion


@dataclass(frozen=True)
class BatchRefusal:
    reason: str
    forged: bool
    """Not a batch Berth sent (told as a security notification), as opposed to a replay of one
    it did send (only logged)."""


def batch_refusal(
    run_id: str,
    index: int,
    spec: SpecVersion,
    extra_fields: Iterable[str],
    run: RunTally | None,
) -> BatchRefusal | None:
    """Why the batch `index` of run `run_id`, planned under `spec`, must do nothing; None when
    it is a batch of the run's plan still to be done."""
    if run is None or run.plan is None:
        return BatchRefusal(f"Berth opened and fanned out no run {run_id}", forged=True)
    carried = sorted(extra_fields)
    if carried:
        return BatchRefusal(
            f"the batch carries {', '.join(carried)}: Berth's batches carry only a reference, "
            f"and what run {run_id} deploys is in its record",
            forged=True,
        )
    plan = run.plan
    if not 0 <= index < len(plan.batches):
        return BatchRefusal(
            f"run {run_id} was planned as {len(plan.batches)} batches; it has no batch {index}",
            forged=True,
        )
    if spec != plan.spec:
        return BatchRefusal(
            f"the batch names spec {_version(spec)}; run {run_id} was planned under "
            f"{_version(plan.spec)}",
            forged=True,
        )
    if index in run.batches_done:
        return BatchRefusal(f"batch {index} of run {run_id} is already done", forged=False)
    return None


def _version(spec: SpecVersion) -> str:
    version = f" (version {spec.version_id})" if spec.version_id else ""
    return f"s3://{spec.bucket}/{spec.key}{version}"
