"""`berth sandbox` (demo, up, push, replay): Berth on a local AWS stand-in, a moto server on
127.0.0.1 with ECS rollouts simulated."""

from __future__ import annotations

import json
import os
import shlex
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any, TypeVar

import click

from berth.cli.failure import SANDBOX, fail
from chalicelib.adapters import aws_errors
from chalicelib.errors import AwsUnreachable, SpecError
from chalicelib.spec.parse import load_spec_file

F = TypeVar("F", bound=Callable[..., Any])



def export_lines(variables: dict[str, str]) -> list[str]:
    """`export NAME=value` lines a POSIX shell reads back as exactly `variables`: values are
    quoted (shlex.quote), since the fence's `dev=a;prod=b` would otherwise end the command at
    `;` and every BERTH_ENVIRONMENT_* (compiled from the environments file) would keep only its
    first environment."""
    return [f"export {key}={shlex.quote(value)}" for key, value in variables.items()]

@click.group()
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


@contextmanager
def _stop_requested(*wakes: threading.Event) -> Iterator[threading.Event]:
    """An event that SIGINT (Ctrl-C) or SIGTERM sets, for `sandbox up` to stop between steps;
    the signal sets `wakes` too, so that a loop asleep on one of them turns and sees the stop.

    A KeyboardInterrupt raised wherever the main thread happens to be, inside a sandbox step,
    could be swallowed there or leave `up` hanging; a handler that only sets an event lets the
    loop notice at its next turn and stop cleanly. signal.signal also replaces a SIG_IGN the
    process inherited (a shell without job control starts background commands ignoring
    SIGINT). The previous handlers are restored on exit, before the sandbox is torn down.
    """
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()
        for wake in wakes:
            wake.set()

    watched = (signal.SIGINT, signal.SIGTERM)
    previous = {signum: signal.signal(signum, request_stop) for signum in watched}
    try:
        yield stop
    finally:
        for signum, handler in previous.items():
            # None: a handler not installed from Python; the default is the closest to it.
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)


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
    from berth.sandbox.demo import Timeline
    from berth.sandbox.sandbox import Sandbox, example_spec
    from berth.sandbox.seed import seed_example
    from berth.sandbox.server import quiet_logs

    quiet_logs()
    timeline = Timeline(show_json=show_json)
    # A hook waiting on an approval is asked again once a second, not every 60 ms: `up` sleeps.
    with Sandbox(rollout_seconds=rollout_seconds, shortest_wait=1.0) as box:
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
        for line in export_lines(box.env_vars()):
            click.echo(f"  {line}")
        click.echo(f"A spec with the sandbox's network: {ready}")
        with _stop_requested(box.wake) as stop:
            click.echo("Ctrl-C stops it.")
            box.serve(stop)  # asleep until work arrives or a simulated rollout is due
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
    Needs AWS_ENDPOINT_URL from `berth sandbox up`. Examples:
      berth sandbox push wso2am:4.7.0-9
      berth sandbox push --broken-health-check wso2am:4.7.0-10
    """
    import boto3

    from berth.sandbox.images import push_image
    from berth.sandbox.server import guard_loopback, is_loopback

    repository, sep, tag = image.partition(":")
    if not sep or not repository or not tag:
        raise click.BadParameter(f"{image!r}: expected REPOSITORY:TAG", param_hint="IMAGE")
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "")
    if not is_loopback(endpoint):
        fail("berth: set AWS_ENDPOINT_URL to the sandbox endpoint printed by `berth sandbox up`")
    guard_loopback()
    region = os.environ.get("AWS_REGION", "us-east-1")
    ecr = boto3.client("ecr", endpoint_url=endpoint, region_name=region)
    events = boto3.client("events", endpoint_url=endpoint, region_name=region)
    try:
        pushed = aws_errors("PutImage")(push_image)
        digest = pushed(ecr, events, repository, tag, broken_health_check)
    except AwsUnreachable:
        fail(
            f"berth: no sandbox answers at AWS_ENDPOINT_URL ({endpoint}): {SANDBOX}, then push "
            "again"
        )
        return
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
        fail(f"berth: cannot read {event_file}: {exc.strerror}")
        return
    spec_text = None
    if spec_file is not None:
        try:
            spec = load_spec_file(spec_file)
        except SpecError as exc:
            fail(str(exc))
            return
        spec_text = json.dumps(spec.model_dump(by_alias=True, exclude_defaults=True))
    lines, malformed = replay_event(raw, event_file, spec_text)
    for line in lines:
        click.echo(json.dumps(line, sort_keys=True, default=str))
    if malformed:
        sys.exit(1)
