"""`berth deploy`, `diff`, `status` and `history`: uploading a spec to a deployed stage, and
reading what the stage runs and how it got there."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from berth.cli.failure import fail, told
from berth.cli.spec_input import fence_of_stage, load_or_fail, stdin_bytes
from berth.cli.stage_options import connect_to, stage_options, take_where
from chalicelib.errors import BerthError


@click.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--env", "environment", help="The environment (default: the spec's own).")
@click.option("--wait", is_flag=True, help="Follow the run until every service has an outcome.")
@click.option(
    "--timeout", default=1800.0, show_default=True, type=float, help="Seconds --wait waits."
)
@click.option(
    "--interval", default=2.0, show_default=True, type=float, help="Seconds between polls."
)
@stage_options
def deploy(
    file: str, environment: str | None, wait: bool, timeout: float, interval: float, **kw: Any
) -> None:
    """Validate a spec, upload it to the stage's spec bucket and print its version id.

    \b
    The key is the environment's spec file when it has one (Berth takes one spec file per
    environment), else specs/<environment>/<file name>; its S3 event makes Berth deploy it.
    With --wait, follow Berth's records of that exact version until every service has an
    outcome. Exit status: 0 uploaded (with --wait: every service deployed, or nothing to
    change), 1 invalid, rejected, failed, rolled back or timed out.
    Examples (the first on `berth sandbox up`, which writes that file; the second on AWS):
      berth deploy out/sandbox-wso2-dev.yaml --wait
      berth deploy --stage prod --profile prod examples/wso2-prod.json
    """
    from berth.commands.deploy import Follower, spec_key, succeeded, summary, upload

    where = take_where(kw)
    spec = load_or_fail(file, fence_of_stage(where["stage"]))
    environment = environment or spec.environment
    if environment != spec.environment:
        raise click.BadParameter(
            f"the spec is for environment {spec.environment!r}; Berth would reject it under "
            f"specs/{environment}/",
            param_hint="--env",
        )
    body = stdin_bytes() if file == "-" else Path(file).read_bytes()
    conn = connect_to(where)
    accepted = conn.store.accepted_spec(environment)
    key = spec_key(
        environment, "spec.yaml" if file == "-" else file, accepted.source.key if accepted else None
    )
    uploaded = upload(conn.s3, conn.spec_bucket, key, body)
    click.echo(f"uploaded {uploaded.url} version {uploaded.version_id}")
    if not wait:
        return
    follower = Follower(
        conn.store, environment, list(spec.services), uploaded.version_id, click.echo
    )
    records = follower.follow(timeout, interval)
    click.echo(summary(records))
    if not succeeded(records):
        sys.exit(1)


@click.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--color/--no-color", default=None, help="Colour the diff (default: on a terminal).")
@stage_options
def diff(file: str, color: bool | None, **kw: Any) -> None:
    """Show what uploading a spec would change, per service, against what ECS runs.

    \b
    For each service: a unified diff of the live task definition against the one Berth would
    render (both normalised: only what Berth owns, ECS defaults applied), and of the service
    settings Berth owns; the image is what the service runs now if it still follows the track,
    else the newest tracked tag in ECR. Services that would not change are listed as such.
    Exit status (as diff's): 0 nothing would change, 1 something would, 2 trouble.
    Examples (the first on `berth sandbox up`, which writes that file; the second on AWS):
      berth diff out/sandbox-wso2-dev.yaml
      berth diff --stage prod --profile prod examples/wso2-prod.json
    """
    from berth.commands.diff import Stage, changes_anything, diff_lines, diff_spec

    where = take_where(kw)
    fence = fence_of_stage(where["stage"])
    spec = load_or_fail(file, fence, status=2)
    try:
        conn = connect_to(where)
        stage = Stage(conn.store, conn.ecs, conn.ecr, conn.account, conn.region, fence)
        diffs = diff_spec(stage, spec)
    except BerthError as exc:
        click.echo(told(exc), err=True)
        sys.exit(2)
    for line in diff_lines(diffs):
        click.echo(line, color=color)
    sys.exit(1 if changes_anything(diffs) else 0)


@click.command()
@click.argument("environment", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option(
    "--html",
    "html_file",
    type=click.Path(dir_okay=False, writable=True),
    help="Also write a self-contained HTML page (what runs, recent deployments) to this file.",
)
@click.option("--history", default=10, show_default=True, help="Deployments per service in --html.")
@stage_options
def status(
    environment: str | None, as_json: bool, html_file: str | None, history: int, **kw: Any
) -> None:
    """What every service of every environment (or of ENVIRONMENT) runs, and how it got there.

    \b
    Per service: the image tag and digest of the live task definition, the task definition,
    the rollout state of ECS's primary deployment (running/desired tasks), Berth's last
    outcome and when. An upload rejected since the spec that runs was accepted shows as the
    service `(spec)`; `berth history ENV '(spec)'` lists every rejected upload.
    Examples:
      berth status
      berth status dev --json
      berth status --html status.html
    """
    from datetime import UTC, datetime

    from berth.commands.report import html_report
    from berth.commands.status import collect, status_json, status_table

    conn = connect_to(take_where(kw))
    rows = collect(conn.store, conn.ecs, environment, history if html_file else 1)
    if as_json:
        click.echo(json.dumps(status_json(rows), indent=2, sort_keys=True))
    else:
        for line in status_table(rows):
            click.echo(line)
    if html_file:
        title = f"Berth {conn.stage}" + (f": {environment}" if environment else "")
        Path(html_file).write_text(html_report(rows, title, datetime.now(UTC)), encoding="utf-8")
        click.echo(f"wrote {html_file}", err=True)


@click.command()
@click.argument("environment")
@click.argument("service")
@click.option(
    "--limit", default=20, show_default=True, type=click.IntRange(min=1),
    help="How many records, newest first.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the records as JSON lines.")
@stage_options
def history(environment: str, service: str, limit: int, as_json: bool, **kw: Any) -> None:
    """A service's deployment records, newest first: trigger, outcome, reason, causes.

    \b
    SERVICE `(spec)` lists the environment's rejected spec uploads.
    Examples:
      berth history dev apim
      berth history prod mi --limit 5 --json
    """
    from berth.commands.status import history_lines, record_json

    conn = connect_to(take_where(kw))
    records = conn.store.history(environment, service, limit)
    if not records:
        fail(f"berth: no deployment records for {environment}/{service}")
    if as_json:
        for record in records:
            click.echo(json.dumps(record_json(record), sort_keys=True))
        return
    for line in history_lines(records):
        click.echo(line)
