"""How every `berth` command fails: one line on standard error, exit status 1; for AWS that
cannot be reached or credentials not found, the line says how to point the command at a stage
or at `berth sandbox up`."""

from __future__ import annotations

import os
import sys

import click

from chalicelib.errors import AwsCallFailed, AwsCredentialsMissing, AwsUnreachable, BerthError

SANDBOX = "run `berth sandbox up` in another shell and paste the export lines it prints here"
STAGE = "--stage (default dev, or BERTH_STAGE)"
# What AWS answers when a stage's table or bucket does not exist: DynamoDB's
# ResourceNotFoundException ("The operation tried to access a nonexistent table", DynamoDB API
# reference, Common errors) and S3's NoSuchBucket (S3 API reference, Error responses).
MISSING_RESOURCE = {"ResourceNotFoundException", "NoSuchBucket"}


def fail(message: str) -> None:
    click.echo(message, err=True)
    sys.exit(1)


def told(exc: BerthError) -> str:
    """The line a person reads for a failure: Berth's error, and what to do next when the
    command could not reach a stage."""
    return f"berth: {exc}{next_step(exc)}"


def next_step(exc: BerthError) -> str:
    if isinstance(exc, AwsCredentialsMissing):
        return (
            f". No AWS credentials: for a deployed stage, give them as for the AWS CLI (aws "
            f"configure, AWS_PROFILE or --profile) and name the stage with {STAGE}; to try "
            f"Berth locally, {SANDBOX} (AWS_ENDPOINT_URL and the sandbox's credentials)"
        )
    if isinstance(exc, AwsUnreachable):
        endpoint = os.environ.get("AWS_ENDPOINT_URL")
        if endpoint:
            return (
                f". Nothing answers at AWS_ENDPOINT_URL ({endpoint}): if that is a sandbox, "
                f"{SANDBOX}; to reach AWS itself, unset AWS_ENDPOINT_URL and name the stage "
                f"with {STAGE}"
            )
        return (
            f". AWS cannot be reached from here: check the network, a proxy and --region; to "
            f"try Berth locally, {SANDBOX}"
        )
    if isinstance(exc, AwsCallFailed) and exc.code in MISSING_RESOURCE:
        return (
            f". The stage's table or bucket is not there: check {STAGE} and --region, or name "
            "them with --deployments-table, --specs-table and --spec-bucket (`berth sandbox up` "
            "prints the sandbox's)"
        )
    return ""
