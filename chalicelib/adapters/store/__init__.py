"""DynamoDB persistence of deployment records, service heads and accepted specs.

Every state change is a conditional write: a record moves only from the statuses the caller
expects, a head only from the revision the caller read, a spec only to a newer S3 sequencer.
Whoever wins the write is the one who acts and notifies; the loser learns it lost.

`Store` is the one entry; each part of it lives in its own module, over `table` (the tables,
typed items, the conditional put): `records`, `heads`, `transactions` (a record with its head,
all or nothing), `runs`, `external`, `specs` and `schema_runs`.
"""

from __future__ import annotations

from .external import ExternalDeployments
from .runs import WideRuns
from .schema_runs import SchemaRuns
from .specs import AcceptedSpecs
from .transactions import RecordsWithHeads


class Store(RecordsWithHeads, WideRuns, ExternalDeployments, AcceptedSpecs, SchemaRuns):
    """Berth's tables: deployments (records, heads, external deployments) and specs."""


__all__ = ["Store"]
