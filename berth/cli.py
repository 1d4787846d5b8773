"""The `berth` command: validate and render spec files, and run the embedded AWS sandbox."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from chalicelib.errors import BerthError, SpecError
from chalicelib.render import DIGEST, PLACEHOLDER_DIGEST, ImageRef, render_task_definition
from chalicelib.spec import Spec, load_spec_file

from .stages import stage_fence

F = TypeVar("F", bound=Callable[..., Any])


def _fail(message: str) -> None:
    click.echo(message, err=True)
    sys.exit(1)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Berth: ship WSO2 API Manager and Enterprise Integrator to AWS ECS.

    \b
    Spec files describe one environment's services; Berth deploys them when a spec
    is uploaded to S3 or a tracked image is pushed to ECR.
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
    Exit status: 0 when all files are valid, 1 when any is not, 2 on usage errors.
    Example:
      berth validate examples/wso2-dev.yaml examples/wso2-prod.json
      berth validate --stage dev examples/wso2-dev.yaml
    """
    fence = None
    if stage is not None:
        try:
            fence = stage_fence(stage)
        except KeyError as exc:
            raise click.BadParameter(str(exc.args[0]), param_hint="--stage") from None
    failed = False
    for path in files:
        try:
            spec = load_spec_file(path, fence)
        except SpecError as exc:
            failed = True
            for problem in exc.problems:
                click.echo(str(problem), err=True)
            continue
        names = ", ".join(spec.deployment_order())
        click.echo(f"{path}: valid ({spec.environment}: {names})")
    if failed:
        sys.exit(1)


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
    metavar="SERVICE=DIGEST",
    help="Pin a service to an image digest (repeatable).",
)
@click.option("--account", default="123456789012", show_default=True, help="AWS account of ECR.")
@click.option("--region", default="us-east-1", show_default=True, help="AWS region of ECR.")
def render(file: str, only: str | None, images: tuple[str, ...], account: str, region: str) -> None:
    """Print the ECS task definition(s) Berth would register for a spec, as JSON.

    \b
    Examples:
      berth render examples/wso2-dev.yaml --service apim
      berth render examples/wso2-dev.yaml --image apim=sha256:<64 hex>
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
    from .sandbox.demo import run_demo
    from .sandbox.server import quiet_logs

    quiet_logs()
    if not run_demo(rollout_seconds, show_json):
        sys.exit(1)


@sandbox.command()
@_timeline_options(rollout_seconds=2.0)
def up(rollout_seconds: float, show_json: bool) -> None:
    """Run the sandbox until Ctrl-C, printing deliveries and notifications as they happen.

    \b
    In another shell, with the printed variables exported:
      aws s3 cp examples/wso2-dev.yaml s3://$BERTH_SPEC_BUCKET/specs/dev/wso2.yaml
      berth sandbox push wso2am:4.7.0-2
    (The spec's subnets must be the sandbox's: `up` prints a ready spec path.)
    """
    import time

    from .sandbox.demo import Timeline
    from .sandbox.sandbox import Sandbox, example_spec
    from .sandbox.server import quiet_logs

    quiet_logs()
    timeline = Timeline(show_json=show_json)
    with Sandbox(rollout_seconds=rollout_seconds) as box:
        box.on_delivery = timeline.delivery
        box.on_notification = timeline.notification
        ready = os.path.abspath("out/sandbox-wso2-dev.yaml")
        os.makedirs(os.path.dirname(ready), exist_ok=True)
        with open(ready, "w") as handle:
            handle.write(box.adapt_spec(example_spec()))
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

    from .sandbox.sandbox import push_image
    from .sandbox.server import guard_loopback, is_loopback

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
      berth sandbox replay ../shared/events/ecr-image-push.json --spec examples/wso2-dev.yaml
    """
    from .sandbox.replay import replay_event
    from .sandbox.server import quiet_logs

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
