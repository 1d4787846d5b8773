"""What a redriven start finds on ECS when an earlier delivery of its event already deployed it.

That delivery registered the task definition and called UpdateService, then stopped before the
write that records it (a crash, a timeout, DynamoDB refusing the write). The redelivery renders
the same task definition, finds the service already running it, and ECS's PRIMARY deployment is
the one that delivery started: the record follows that deployment, or, when ECS has already
ended it, records the outcome ECS reports, instead of taking it for a settings-only change.
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.values.live import LiveService
from chalicelib.values.records import TerminalStatus

# A deployment's rolloutState: COMPLETED, FAILED or IN_PROGRESS (ECS API reference, Deployment,
# rolloutState; DescribeServices lists it on each of the service's deployments).
_ENDED: dict[str, TerminalStatus] = {"COMPLETED": "COMPLETED", "FAILED": "FAILED"}


@dataclass(frozen=True)
class FoundAgain:
    """ECS's primary deployment of a build an earlier delivery started."""

    deployment_id: str
    ended: TerminalStatus | None
    """The outcome ECS already reports for it; None while it still rolls."""

    def reason(self, task_definition_arn: str) -> str:
        """What the record says happened."""
        outcome = self.ended.lower() if self.ended else "is under way"
        return (
            f"found again: an earlier delivery of this event deployed "
            f"{task_definition_arn.rsplit('/', 1)[-1]} and stopped before recording it; "
            f"ECS's deployment {self.deployment_id} {outcome}"
        )


def found_again(
    live: LiveService | None, task_definition_arn: str, previous_task_definition_arn: str | None
) -> FoundAgain | None:
    """The deployment an earlier delivery started, when the service already runs the task
    definition this record would register although the record was claimed on another one
    (`previous_task_definition_arn`, what the service ran then). A settings-only change claims
    on the very task definition it keeps, so it is never taken for one."""
    if live is None or live.primary_deployment_id is None:
        return None
    if live.task_definition_arn != task_definition_arn:
        return None
    if previous_task_definition_arn in (None, task_definition_arn):
        return None
    ended = _ENDED.get(live.primary_rollout_state or "")
    return FoundAgain(live.primary_deployment_id, ended)
