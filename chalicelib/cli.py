"""The `berth` command: validate and render spec files, and run the embedded AWS sandbox."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from .errors import BerthError, SpecError
from .render import DIGEST, PLACEHOLDER_DIGEST, ImageRef, render_task_definition
from .spec import Spec, load_spec_file


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
def validate(files: tuple[str, ...]) -> None:
    """Check spec files; print every problem as FILE:LINE:COL: FIELD: REASON.

    \b
    Exit status: 0 when all files are valid, 1 when any is not, 2 on usage errors.
    Example:
      berth validate examples/wso2-dev.yaml examples/wso2-prod.json
    """
    failed = False
    for path in files:
        try:
            spec = load_spec_file(path)
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
    """Entry point that turns any Berth error into one line and exit status 1."""
    try:
        main(standalone_mode=True)
    except BerthError as exc:
        _fail(f"berth: {exc}")
