"""The `berth` command: validate and render spec files, and run the embedded AWS sandbox."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from berth.stages import stage_fence
from chalicelib.errors import BerthError, SpecError
from chalicelib.rendering.images import DIGEST, PLACEHOLDER_DIGEST, ImageRef
from chalicelib.rendering.task_definition import render_task_definition
from chalicelib.spec.fence import StageFence
from chalicelib.spec.model import Spec
from chalicelib.spec.parse import MAX_FILE_READ, load_spec_file, parse_spec

if TYPE_CHECKING:
    from berth.commands.connect import Connection

F = TypeVar("F", bound=Callable[..., Any])


def _fail(message: str) -> None:
    click.echo(message, err=True)
    sys.exit(1)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="berth", prog_name="berth")
def main() -> None:
    """Berth: ship WSO2 API Manager and Enterprise Integrator to AWS ECS.

    \b
    Spec files describe one environment's services; Berth deploys them when a spec
    is uploaded to S3 or a tracked image is pushed to ECR.

    \b
    deploy, diff, status, history, rollback and promote act on a deployed stage through the
    standard AWS credential chain (--profile, --region, AWS_ENDPOINT_URL for `berth sandbox up`).
    """


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option(
    "--stage",
    help="Also check what the stage lets a spec reach (roles, repositories), as at upload.",
)
def validate(files: tuple[str, ...], stage: str | None) -> None:
    """Check spec files; print every problem as FILE:LINE:COL: FIELD: REASON.

    \b
    FILE `-` reads the spec from standard input (reported as <stdin>).
    Exit status: 0 when all files are valid, 1 when any is not, 2 on usage errors.
    Example:
      berth validate examples/wso2-dev.yaml examples/wso2-prod.json
      berth validate --stage dev examples/wso2-dev.yaml
      cat examples/wso2-dev.yaml | berth validate -
    """
    fence = _fence(stage) if stage is not None else None
    failed = False
    for path in files:
        try:
            spec = _load(path, fence)
        except SpecError as exc:
            failed = True
            for problem in exc.problems:
                click.echo(str(problem), err=True)
            continue
        names = ", ".join(spec.deployment_order())
        shown = STDIN_NAME if path == "-" else path
        click.echo(f"{shown}: valid ({spec.environment}: {names})")
    if failed:
        sys.exit(1)


def _fence(stage: str) -> StageFence:
    try:
        return stage_fence(stage)
    except KeyError as exc:
        raise click.BadParameter(str(exc.args[0]), param_hint="--stage") from None


STDIN_NAME = "<stdin>"


def _load(path: str, fence: StageFence | None = None) -> Spec:
    """A spec from a file, or from standard input for `-`."""
    if path == "-":
        return parse_spec(_stdin_bytes(), STDIN_NAME, fence)
    return load_spec_file(path, fence)


def _stdin_bytes() -> bytes:
    return sys.stdin.buffer.read(MAX_FILE_READ)


def _image_option(value: str, spec: Spec) -> tuple[str, ImageRef]:
    name, sep, ref = value.partition("=")
    if not sep or name not in spec.services:
        raise click.BadParameter(
            f"{value!r}: expected SERVICE=DIGEST or SERVICE=REPO:TAG@DIGEST with SERVICE one of "
            f"{', '.join(spec.services)}",
            param_hint="--image",
        )
    repository = spec.services[name].image.repository
    tag = None
    digest = ref
    if "@" in ref:
        head, digest = ref.rsplit("@", 1)
        head = head.rsplit("/", 1)[-1]
        repository, _, tag_text = head.partition(":")
        tag = tag_text or None
    if not DIGEST.match(digest):
        raise click.BadParameter(f"{digest!r} is not a sha256 digest", param_hint="--image")
    return name, ImageRef(repository, digest, tag)


@main.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--service", "only", help="Render only this service.")
@click.option(
    "--image",
    "images",
    multiple=True,
    metavar="SERVICE=DIGEST|SERVICE=REPO:TAG@DIGEST",
    help="Pin a service to an image digest, optionally with the repository and tag (as in an "
    "image URI; the tag becomes the berth.image.tag label). Repeatable.",
)
@click.option("--account", default="123456789012", show_default=True, help="AWS account of ECR.")
@click.option("--region", default="us-east-1", show_default=True, help="AWS region of ECR.")
def render(file: str, only: str | None, images: tuple[str, ...], account: str, region: str) -> None:
    """Print the ECS task definition(s) Berth would register for a spec, as JSON.

    \b
    --image takes SERVICE=sha256:<64 hex>, or SERVICE=REPO:TAG@sha256:<64 hex> (an image URI
    such as 123456789012.dkr.ecr.us-east-1.amazonaws.com/wso2am:4.7.0-9@sha256:... works too).
    Examples:
      berth render examples/wso2-dev.yaml --service apim
      berth render examples/wso2-dev.yaml --image apim=sha256:<64 hex>
      berth render examples/wso2-dev.yaml --image apim=wso2am:4.7.0-9@sha256:<64 hex>
    """
    try:
        spec = load_spec_file(file)
    except SpecError as exc:
        _fail(str(exc))
        return
    if only is not None and only not in spec.services:
        raise click.BadParameter(f"{only!r} is not a service of {file}", param_hint="--service")
    pinned = dict(_image_option(value, spec) for value in images)
    rendered: dict[str, Any] = {}
    for name in spec.deployment_order():
        if only is not None and name != only:
            continue
        image = pinned.get(name)
        if image is None:
            click.echo(
                f"{name}: no --image given; using the placeholder digest {PLACEHOLDER_DIGEST}",
                err=True,
            )
            image = ImageRef(spec.services[name].image.repository, PLACEHOLDER_DIGEST, None)
        rendered[name] = render_task_definition(spec, name, image, account, region)
    output: Any = rendered[only] if only is not None else rendered
    click.echo(json.dumps(output, indent=2, sort_keys=True))


# ---- commands on a deployed stage ----------------------------------------------------------------


def _stage_options(command: F) -> F:
    """Where a command acts: the stage's resources, reached with the standard credential chain."""
    options = [
        click.option(
            "--stage",
            default="dev",
            show_default=True,
            envvar="BERTH_STAGE",
            help="The Berth stage: its resources are named as infra/resources.yaml names them.",
        ),
        click.option("--profile", help="AWS profile (default: the standard credential chain)."),
        click.option("--region", help="AWS region (default: AWS_REGION or the profile's)."),
        click.option(
            "--spec-bucket",
            envvar="BERTH_SPEC_BUCKET",
            help="Instead of berth-specs-<account>-<stage>.",
        ),
        click.option(
            "--deployments-table",
            envvar="BERTH_DEPLOYMENTS_TABLE",
            help="Instead of berth-deployments-<stage>.",
        ),
        click.option(
            "--specs-table", envvar="BERTH_SPECS_TABLE", help="Instead of berth-specs-<stage>."
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _connect(where: dict[str, Any]) -> Connection:
    from berth.commands.connect import Overrides, connect

    return connect(
        where["stage"],
        where["profile"],
        where["region"],
        Overrides(where["spec_bucket"], where["deployments_table"], where["specs_table"]),
    )


def _where(kwargs: dict[str, Any]) -> dict[str, Any]:
    names = ("stage", "profile", "region", "spec_bucket", "deployments_table", "specs_table")
    return {name: kwargs.pop(name) for name in names}


def _load_or_fail(path: str, fence: StageFence | None, status: int = 1) -> Spec:
    try:
        return _load(path, fence)
    except SpecError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        sys.exit(status)


@main.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--env", "environment", help="The environment (default: the spec's own).")
@click.option("--wait", is_flag=True, help="Follow the run until every service has an outcome.")
@click.option(
    "--timeout", default=1800.0, show_default=True, type=float, help="Seconds --wait waits."
)
@click.option(
    "--interval", default=2.0, show_default=True, type=float, help="Seconds between polls."
)
@_stage_options
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
    Examples:
      berth deploy examples/wso2-dev.yaml --wait
      berth deploy --stage prod --profile prod examples/wso2-prod.json
    """
    from berth.commands.deploy import Follower, spec_key, succeeded, summary, upload

    where = _where(kw)
    spec = _load_or_fail(file, _fence(where["stage"]))
    environment = environment or spec.environment
    if environment != spec.environment:
        raise click.BadParameter(
            f"the spec is for environment {spec.environment!r}; Berth would reject it under "
            f"specs/{environment}/",
            param_hint="--env",
        )
    body = _stdin_bytes() if file == "-" else Path(file).read_bytes()
    conn = _connect(where)
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


@main.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--color/--no-color", default=None, help="Colour the diff (default: on a terminal).")
@_stage_options
def diff(file: str, color: bool | None, **kw: Any) -> None:
    """Show what uploading a spec would change, per service, against what ECS runs.

    \b
    For each service: a unified diff of the live task definition against the one Berth would
    render (both normalised: only what Berth owns, ECS defaults applied), and of the service
    settings Berth owns; the image is what the service runs now if it still follows the track,
    else the newest tracked tag in ECR. Services that would not change are listed as such.
    Exit status (as diff's): 0 nothing would change, 1 something would, 2 trouble.
    Example:
      berth diff examples/wso2-dev.yaml
    """
    from berth.commands.diff import Stage, changes_anything, diff_lines, diff_spec

    where = _where(kw)
    fence = _fence(where["stage"])
    spec = _load_or_fail(file, fence, status=2)
    try:
        conn = _connect(where)
        stage = Stage(conn.store, conn.ecs, conn.ecr, conn.account, conn.region, fence)
        diffs = diff_spec(stage, spec)
    except BerthError as exc:
        click.echo(f"berth: {exc}", err=True)
        sys.exit(2)
    for line in diff_lines(diffs):
        click.echo(line, color=color)
    sys.exit(1 if changes_anything(diffs) else 0)


@main.command()
@click.argument("environment", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option(
    "--html",
    "html_file",
    type=click.Path(dir_okay=False, writable=True),
    help="Also write a self-contained HTML page (what runs, recent deployments) to this file.",
)
@click.option("--history", default=10, show_default=True, help="Deployments per service in --html.")
@_stage_options
def status(
    environment: str | None, as_json: bool, html_file: str | None, history: int, **kw: Any
) -> None:
    """What every service of every environment (or of ENVIRONMENT) runs, and how it got there.

    \b
    Per service: the image tag and digest of the live task definition, the task definition,
    the rollout state of ECS's primary deployment (running/desired tasks), Berth's last
    outcome and when. Rejected uploads show as the service `(spec)`.
    Examples:
      berth status
      berth status dev --json
      berth status --html status.html
    """
    from datetime import UTC, datetime

    from berth.commands.report import html_report
    from berth.commands.status import collect, status_json, status_table

    conn = _connect(_where(kw))
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


@main.command()
@click.argument("environment")
@click.argument("service")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=1))
@click.option("--json", "as_json", is_flag=True, help="Print the records as JSON lines.")
@_stage_options
def history(environment: str, service: str, limit: int, as_json: bool, **kw: Any) -> None:
    """A service's deployment records, newest first: trigger, outcome, reason, causes.

    \b
    SERVICE `(spec)` lists the environment's rejected spec uploads.
    Examples:
      berth history dev apim
      berth history prod ei --limit 5 --json
    """
    from berth.commands.status import history_lines, record_json

    conn = _connect(_where(kw))
    records = conn.store.history(environment, service, limit)
    if not records:
        _fail(f"berth: no deployment records for {environment}/{service}")
    if as_json:
        for record in records:
            click.echo(json.dumps(record_json(record), sort_keys=True))
        return
    for line in history_lines(records):
        click.echo(line)


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
    return _stage_options(command)


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


@main.command()
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

    conn = _connect(_where(kw))
    berth = conn.berth(topic_arn)
    asked = lambda: roll_back(  # noqa: E731
        berth, environment, service, to=to, requested_by=conn.caller.arn
    )
    _report_asked(conn, asked, wait, timeout, interval)


@main.command()
@click.argument("service")
@click.option("--from", "source", required=True, metavar="ENV", help="Where the image runs.")
@click.option("--to", "target", required=True, metavar="ENV", help="Where to deploy it.")
@_asked_options
def promote(
    *,
    service: str,
    source: str,
    target: str,
    wait: bool,
    timeout: float,
    interval: float,
    topic_arn: str | None,
    **kw: Any,
) -> None:
    """Deploy to one environment the exact image (digest) a service runs in another.

    \b
    The image is the one Berth recorded as running in --from; ECR must still hold it. Berth
    records and announces it as a promotion asked by your AWS identity, as a push otherwise
    (dependencies waited for; if it is older than what runs, the record says it overrides
    "never older"). Exit status: 0 started (with --wait: completed), 1 otherwise.
    Example:
      berth promote apim --from dev --to prod --wait
    """
    from chalicelib.flows.rollback import promote as promote_image

    conn = _connect(_where(kw))
    berth = conn.berth(topic_arn)
    asked = lambda: promote_image(  # noqa: E731
        berth, service, source=source, target=target, requested_by=conn.caller.arn
    )
    _report_asked(conn, asked, wait, timeout, interval)


@main.command()
@click.argument("environment")
@click.argument("service")
@click.option(
    "--record",
    "record_id",
    metavar="ID",
    help="The deployment record to approve (default: the service's active one).",
)
@click.option("--note", default="", help="What the record keeps beside who approved, and when.")
@_stage_options
def approve(environment: str, service: str, record_id: str | None, note: str, **kw: Any) -> None:
    """Let a deployment held at its approval gate move production traffic.

    \b
    A service with deployment.approval waits at POST_TEST_TRAFFIC_SHIFT (after its verification
    passed) until someone approves it; without an approval by its deadline, it is rolled back.
    The approval (your AWS identity, the time, --note) is kept on the deployment record, only
    while it waits; a second approval changes nothing. Exit status: 0 approved (or approved
    already), 1 nothing waits for approval.
    Examples:
      berth approve prod apim --note "change CHG-1042"
      berth approve prod apim --record 'D#<time>#<run>'   (record_id: berth history --json)
    """
    from berth.commands.approve import approval_lines
    from chalicelib.decisions.approval import NotWaiting
    from chalicelib.flows.approval import approve as record_approval

    conn = _connect(_where(kw))
    try:
        record, approved = record_approval(
            conn.berth(), environment, service, by=conn.caller.arn, note=note,
            record_id=record_id,
        )  # fmt: skip
    except NotWaiting as exc:
        _fail(f"berth: nothing to approve: {exc}")
        return
    for line in approval_lines(record, approved):
        click.echo(line)


def run() -> None:
    """Entry point: any failure is one line and exit status 1 (BERTH_DEBUG=1: traceback)."""
    try:
        main(standalone_mode=True)
    except BerthError as exc:
        _fail(f"berth: {exc}")
    except Exception as exc:
        if os.environ.get("BERTH_DEBUG"):
            raise
        _fail(f"berth: unexpected {type(exc).__name__}: {exc} (set BERTH_DEBUG=1 for details)")


# ---- the sandbox ---------------------------------------------------------------------------------


@main.group()
def sandbox() -> None:
    """Run Berth on a local AWS stand-in (a moto server on 127.0.0.1; ECS rollouts simulated)."""


def _timeline_options(rollout_seconds: float) -> Callable[[F], F]:
    """The options of the sandbox commands that print a timeline."""

    def add(command: F) -> F:
        command = click.option(
            "--json", "show_json", is_flag=True, help="Also print each notification's JSON."
        )(command)
        return click.option(
            "--rollout-seconds",
            default=rollout_seconds,
            show_default=True,
            type=float,
            help="How long a simulated ECS rollout takes.",
        )(command)

    return add


@sandbox.command()
@_timeline_options(rollout_seconds=0.3)
def demo(rollout_seconds: float, show_json: bool) -> None:
    """Upload a spec, push images, break one, and watch Berth deploy, roll back and report.

    \b
    Exit status 0 only if every expected outcome was observed. Example:
      berth sandbox demo --json
    """
    from berth.sandbox.demo import run_demo
    from berth.sandbox.server import quiet_logs

    quiet_logs()
    if not run_demo(rollout_seconds, show_json):
        sys.exit(1)


@sandbox.command()
@_timeline_options(rollout_seconds=2.0)
@click.option(
    "--seed",
    is_flag=True,
    help="First set up the example dev environment: push its images, upload its spec.",
)
def up(rollout_seconds: float, show_json: bool, seed: bool) -> None:
    """Run the sandbox until Ctrl-C, printing deliveries and notifications as they happen.

    \b
    It writes out/sandbox-wso2-dev.yaml: examples/wso2-dev.yaml with the sandbox's network.
    --seed first pushes wso2am:4.7.0-1 and wso2mi:4.4.0-1 and deploys that spec. Then, in
    another shell in the same directory, with the printed variables exported:
      berth sandbox push wso2am:4.7.0-9
      berth status
      berth history dev apim
      berth diff out/sandbox-wso2-dev.yaml
      berth deploy out/sandbox-wso2-dev.yaml --wait
    (Without --seed, push those two images before deploying: Berth rejects a spec no image
    follows.)
    Example:
      berth sandbox up --seed
    """
    import time

    from berth.sandbox.demo import Timeline
    from berth.sandbox.sandbox import Sandbox, example_spec
    from berth.sandbox.seed import seed_example
    from berth.sandbox.server import quiet_logs

    quiet_logs()
    timeline = Timeline(show_json=show_json)
    with Sandbox(rollout_seconds=rollout_seconds) as box:
        box.on_delivery = timeline.delivery
        box.on_notification = timeline.notification
        ready = os.path.abspath(os.path.join("out", "sandbox-wso2-dev.yaml"))
        os.makedirs(os.path.dirname(ready), exist_ok=True)
        with open(ready, "w") as handle:
            handle.write(box.adapt_spec(example_spec()))
        if seed:
            click.echo("Seeding the example dev environment (images, then the spec)...")
            seed_example(box)
        click.echo("Berth sandbox is up (ECS rollouts are simulated). Export these to use it:")
        for key, value in box.env_vars().items():
            click.echo(f"  export {key}={value}")
        click.echo(f"A spec with the sandbox's network: {ready}")
        click.echo("Ctrl-C stops it.")
        try:
            while True:
                if not box.step():
                    time.sleep(0.2)
        except KeyboardInterrupt:
            click.echo("stopped")


@sandbox.command()
@click.argument("image", metavar="REPOSITORY:TAG")
@click.option(
    "--broken-health-check",
    is_flag=True,
    help="Mark the image so its simulated tasks fail their health check.",
)
def push(image: str, broken_health_check: bool) -> None:
    """Push an image to a running sandbox (`berth sandbox up`) and emit ECR's push event.

    \b
    Needs AWS_ENDPOINT_URL from `berth sandbox up`. Example:
      berth sandbox push wso2am:4.7.0-2
    """
    import boto3

    from berth.sandbox.images import push_image
    from berth.sandbox.server import guard_loopback, is_loopback

    repository, sep, tag = image.partition(":")
    if not sep or not repository or not tag:
        raise click.BadParameter(f"{image!r}: expected REPOSITORY:TAG", param_hint="IMAGE")
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "")
    if not is_loopback(endpoint):
        _fail("berth: set AWS_ENDPOINT_URL to the sandbox endpoint printed by `berth sandbox up`")
    guard_loopback()
    region = os.environ.get("AWS_REGION", "us-east-1")
    ecr = boto3.client("ecr", endpoint_url=endpoint, region_name=region)
    events = boto3.client("events", endpoint_url=endpoint, region_name=region)
    digest = push_image(ecr, events, repository, tag, broken_health_check)
    click.echo(f"pushed {repository}:{tag} ({digest})")


@sandbox.command()
@click.argument("event_file", type=click.Path(dir_okay=False))
@click.option(
    "--spec",
    "spec_file",
    type=click.Path(dir_okay=False),
    help="Accept this spec as its environment's desired state first.",
)
def replay(event_file: str, spec_file: str | None) -> None:
    """Deliver one raw EventBridge event to a fresh sandbox; print what Berth did as JSON lines.

    \b
    Exit status: 0 when the event was handled or deliberately ignored, 1 when it was
    rejected as malformed. Example:
      berth sandbox replay examples/events/ecr-image-push-wso2am.json --spec examples/wso2-dev.yaml
    """
    from berth.sandbox.replay import replay_event
    from berth.sandbox.server import quiet_logs

    quiet_logs()
    try:
        with open(event_file, "rb") as handle:
            raw = handle.read()
    except OSError as exc:
        _fail(f"berth: cannot read {event_file}: {exc.strerror}")
        return
    spec_text = None
    if spec_file is not None:
        try:
            spec = load_spec_file(spec_file)
        except SpecError as exc:
            _fail(str(exc))
            return
        spec_text = json.dumps(spec.model_dump(by_alias=True, exclude_defaults=True))
    lines, malformed = replay_event(raw, event_file, spec_text)
    for line in lines:
        click.echo(json.dumps(line, sort_keys=True, default=str))
    if malformed:
        sys.exit(1)
