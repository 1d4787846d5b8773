"""`berth rollback`, `promote` and `approve`: what a person asks of a deployed stage, recorded
and announced as asked by their AWS identity."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from berth.cli.failure import fail
from berth.cli.stage_options import F, connect_to, stage_options, take_where

if TYPE_CHECKING:
    from berth.commands.connect import Connection


def _asked_options(command: F) -> F:
    """The options of the commands that deploy an image a person asks for."""
    options = [
        click.option("--wait", is_flag=True, help="Follow the deployment to its outcome."),
        click.option(
            "--timeout", default=1800.0, show_default=True, type=float, help="Seconds --wait waits."
        ),
        click.option(
            "--interval", default=2.0, show_default=True, type=float, help="Seconds between polls."
        ),
        click.option(
            "--topic-arn",
            envvar="BERTH_TOPIC_ARN",
            help="Where the notification goes, instead of the stage's berth-notifications-<stage>.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return stage_options(command)


def _report_asked(
    conn: Connection, ask: Callable[[], list[Any]], wait: bool, timeout: float, interval: float
) -> None:
    """Run a rollback or a promotion, print what it started, follow it with --wait; exit 1
    unless it started (with --wait: completed)."""
    from berth.commands.rollback import RecordFollower, outcome_lines, record_of, refused

    outcomes = ask()
    record = record_of(conn.store, outcomes)
    for line in outcome_lines(outcomes, record):
        click.echo(line)
    if refused(outcomes):
        sys.exit(1)
    if not wait or record is None:
        return
    done = RecordFollower(conn.store, record, click.echo).follow(timeout, interval)
    if done.status != "COMPLETED":
        sys.exit(1)


@click.command()
@click.argument("environment")
@click.argument("service")
@click.option(
    "--to",
    metavar="TAG|DIGEST",
    help="The recorded image to go back to (default: the last one deployed before what runs).",
)
@_asked_options
def rollback(
    *,
    environment: str,
    service: str,
    to: str | None,
    wait: bool,
    timeout: float,
    interval: float,
    topic_arn: str | None,
    **kw: Any,
) -> None:
    """Redeploy an image from the service's records, as a push would, even if it is older.

    \b
    The image is the last one the service deployed completely before what it runs now, or
    the recorded tag or digest --to names (a digest as `berth status` shortens it will do).
    ECR must still hold it. Berth records and announces it as a rollback asked by your AWS
    identity, saying that it overrides "never older"; the service's dependencies are waited
    for as for a push. Exit status: 0 started (with --wait: completed), 1 otherwise.
    Examples:
      berth rollback dev apim
      berth rollback prod apim --to 4.7.0-7 --wait
    """
    from chalicelib.flows.rollback import rollback as roll_back

    conn = connect_to(take_where(kw))
    berth = conn.berth(topic_arn)
    asked = lambda: roll_back(  # noqa: E731
        berth, environment, service, to=to, requested_by=conn.caller.arn
    )
    _report_asked(conn, asked, wait, timeout, interval)


@click.command()
@click.argument("service")
@click.option("--from", "source", required=True, metavar="ENV", help="Where the image runs.")
@click.option("--to", "target", required=True, metavar="ENV", help="Where to deploy it.")
@click.option(
    "--force",
    "forced",
    metavar="REASON",
    help="Promote although --from's deployment has not completed; the reason is recorded and told.",
)
@_asked_options
def promote(
    *,
    service: str,
    source: str,
    target: str,
    forced: str | None,
    wait: bool,
    timeout: float,
    interval: float,
    topic_arn: str | None,
    **kw: Any,
) -> None:
    """Deploy to one environment the exact image (digest) a service runs in another.

    \b
    The image is the one Berth recorded as running in --from, once its deployment there
    completed (nothing in progress, the newest record COMPLETED); --force REASON promotes it
    anyway, the reason recorded and announced. ECR must still hold it. Berth
    records and announces it as a promotion asked by your AWS identity, as a push otherwise
    (dependencies waited for; if it is older than what runs, the record says it overrides
    "never older"). Exit status: 0 started (with --wait: completed), 1 otherwise.
    Example:
      berth promote apim --from dev --to prod --wait
    """
    from chalicelib.flows.rollback import promote as promote_image

    conn = connect_to(take_where(kw))
    berth = conn.berth(topic_arn)
    asked = lambda: promote_image(  # noqa: E731
        berth, service, source=source, target=target, requested_by=conn.caller.arn,
        forced=forced,
    )
    _report_asked(conn, asked, wait, timeout, interval)


@click.command()
@click.argument("environment")
@click.argument("service")
@click.option(
    "--record",
    "record_id",
    metavar="ID",
    help="The deployment record to approve (default: the service's active one).",
)
@click.option("--note", default="", help="What the record keeps beside who approved, and when.")
@click.option(
    "--approvals-url",
    envvar="BERTH_APPROVALS_URL",
    metavar="URL",
    help="The stack's API (chalice's Rest API URL, https://<id>.execute-api.<region>."
    "amazonaws.com/api/); `berth sandbox up` prints the sandbox's.",
)
@stage_options
def approve(
    environment: str, service: str, record_id: str | None, note: str, approvals_url: str | None,
    **kw: Any,
) -> None:  # fmt: skip
    """Let a deployment held at its approval gate move production traffic.

    \b
    A service with deployment.approval waits at POST_TEST_TRAFFIC_SHIFT (after its verification
    passed) until someone approves it; without an approval by its deadline, it is rolled back.
    The approval goes through the stack's IAM-authorised endpoint, signed with your AWS
    credentials: the approver recorded is the identity AWS authenticated, who must be one of
    the environment's approvers (and not the deployment's requester where the environment
    says so); the deadline is the stack's clock. The record keeps who, when and --note; a
    second approval changes nothing. Exit status: 0 approved (or approved already), 1 refused
    or nothing waits for approval.
    Examples:
      berth approve prod apim --note "change CHG-1042"
      berth approve prod apim --record 'D#<time>#<run>'   (record_id: berth history --json)
    """
    from berth.commands.approve import approval_lines, signed_approval
    from chalicelib.values.records import DeploymentRecord

    if not approvals_url:
        fail("berth: approve needs the stack's API: --approvals-url or BERTH_APPROVALS_URL")
        return
    conn = connect_to(take_where(kw))
    body = {"note": note, **({"record": record_id} if record_id else {})}
    status, said = signed_approval(
        conn.session, conn.region, approvals_url, environment=environment, service=service,
        body=body,
    )  # fmt: skip
    if status == 409:
        fail(f"berth: nothing to approve: {said.get('message')}")
        return
    if status != 200:
        fail(f"berth: approval refused ({status or 'not sent'}): {said.get('message')}")
        return
    record = DeploymentRecord.model_validate(said["record"])
    for line in approval_lines(record, bool(said["approved"])):
        click.echo(line)
