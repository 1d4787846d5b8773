"""Is a record's start still the present's? A record of a spec version is decided under that
version: once the environment accepted another one, the record is stale and never starts,
whichever event asks (a wide run's batch, a dependency's completion, a retry, a redrive).

A newer spec that changes the service claims its head, which supersedes the older record as any
claim does; this is for the newer spec that claims nothing ("nothing changed": it pins what
runs), which leaves the older record PENDING and the head naming it. A push's, a rollback's or
a promotion's record is decided under its head, not a spec version (a newer push or spec that
changes the service claims the head): None here.

Pure: the flow asks the store to take the start lease under the version this names, and tells
the reason this gives when the store says the accepted spec moved on.
"""

from __future__ import annotations

from chalicelib.values.records import AcceptedSpec, DeploymentRecord, SpecVersion


def decided_under(record: DeploymentRecord) -> SpecVersion | None:
    """The spec version whose acceptance `record`'s start depends on; None for a record that is
    decided under its head only, or of an unversioned spec object."""
    spec = record.trigger.spec
    if record.trigger.kind != "spec" or spec is None or spec.version_id is None:
        return None
    return spec


def stale_reason(record: DeploymentRecord, accepted: AcceptedSpec | None) -> str:
    """Why `record`, decided under an older spec version, was not started."""
    spec = decided_under(record)
    before = f"version {spec.version_id} of s3://{spec.bucket}/{spec.key}" if spec else "its spec"
    if accepted is None:
        now = "the environment has no accepted spec any more"
    else:
        source = accepted.source
        now = (
            f"version {source.version_id} was accepted since "
            f"(s3://{source.bucket}/{source.key}, at {accepted.accepted_at.isoformat()})"
        )
    return (
        f"decided under {before}; {now}: not started, the newer spec decides what "
        f"{record.service} runs"
    )
