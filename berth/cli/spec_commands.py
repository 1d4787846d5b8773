"""`berth validate` and `berth render`: what Berth makes of a spec file, without AWS."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from berth.cli.failure import fail
from berth.cli.spec_input import STDIN_NAME, fence_of_stage, load_spec
from chalicelib.errors import SpecError
from chalicelib.rendering.images import DIGEST, PLACEHOLDER_DIGEST, ImageRef
from chalicelib.rendering.task_definition import render_task_definition
from chalicelib.spec.model import Spec
from chalicelib.spec.parse import load_spec_file


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option(
    "--stage",
    help="Also check what the stage lets a spec reach (its environments file, "
    "chalicelib/environments/<stage>.yaml, and its repositories), as at upload.",
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
    fence = fence_of_stage(stage) if stage is not None else None
    failed = False
    for path in files:
        try:
            spec = load_spec(path, fence)
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


@click.command()
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
        fail(str(exc))
        return
    if only is not None and only not in spec.services:
        # An `ha: true` service is rendered as its nodes (chalicelib.spec.ha): name them.
        listed = ", ".join(spec.deployment_order())
        raise click.BadParameter(
            f"{only!r} is not a service of {file} (its services: {listed})", param_hint="--service"
        )
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
