"""Issue 28: a stage's environments declared in one typed file (chalicelib/environments/
<stage>.yaml), validated like a spec with every problem located, and read alike by the Lambdas'
Settings, `berth validate --stage` and the sandbox."""

from __future__ import annotations

import json

import pytest

from berth.sandbox.sandbox import Sandbox
from berth.stages import stage_fence, stage_variables
from chalicelib.errors import EnvironmentsError
from chalicelib.settings import Settings
from chalicelib.spec import environments
from chalicelib.spec.environments import (
    compiled,
    compiled_environments,
    parse_environments,
    read_environments,
)
from chalicelib.spec.fence import ENVIRONMENT_VARIABLES
from tests.conftest import ROOT

LAMBDA_ENV = {"AWS_REGION": "us-east-1", "BERTH_SPEC_BUCKET": "b", "BERTH_TOPIC_ARN": "t"}

BAD = b"""\
berthEnvironments: 1
environments:
  dev:
    clusters: [wso2-dev]
    network:
      subnet: [subnet-1]
    testListeners: [https://apim-dev-test.example.com/health]
    approval:
      approvers: [release-managers]
  prod:
    clusters: [wso2-dev]
    defaultKeystores: maybe
  Prod: {clusters: [wso2-prod]}
"""


def problems(raw: bytes) -> list[str]:
    with pytest.raises(EnvironmentsError) as caught:
        parse_environments(raw, "chalicelib/environments/dev.yaml")
    return [str(p) for p in caught.value.problems]


def test_a_bad_environments_file_is_refused_with_every_problem_located():
    assert problems(BAD) == [
        "chalicelib/environments/dev.yaml:6:7: environments.dev.network.subnet: unknown field "
        "(did you mean 'subnets'?)",
        "chalicelib/environments/dev.yaml:7:21: environments.dev.testListeners[0]: "
        "'https://apim-dev-test.example.com/health' is not an origin: https://HOST[:PORT], "
        "without a path",
        "chalicelib/environments/dev.yaml:9:19: environments.dev.approval.approvers[0]: "
        "'release-managers' is not an IAM ARN (or an ARN prefix ending in *)",
        "chalicelib/environments/dev.yaml:12:5: environments.prod.defaultKeystores: 'maybe' is "
        "not true or false: write defaultKeystores: true or defaultKeystores: false",
        "chalicelib/environments/dev.yaml:13:3: environments.Prod: 'Prod' is not a name: "
        "lowercase letters, digits and '-', starting with a letter, at most 31 characters "
        "(e.g. 'prod')",
    ]


def test_two_environments_of_a_stage_never_share_a_cluster():
    raw = b"berthEnvironments: 1\nenvironments:\n  dev: {clusters: [c]}\n  prod: {clusters: [c]}\n"
    assert problems(raw) == [
        "chalicelib/environments/dev.yaml:4:21: environments.prod.clusters[0]: c is dev's "
        "cluster already: Berth tells an ECS event's environment by its cluster, so a cluster "
        "has one environment"
    ]


def test_a_file_that_is_not_an_environments_file_says_so():
    assert problems(b"berth: 1\n") == [
        "chalicelib/environments/dev.yaml:1:1: not a Berth environments file: the top-level key "
        "'berthEnvironments: 1' is missing"
    ]


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_the_shipped_stages_declare_their_environments_in_the_file_only(stage: str):
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    given = config["stages"][stage]["environment_variables"]
    assert sorted(ENVIRONMENT_VARIABLES & set(given)) == []
    assert read_environments(stage) is not None


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_the_lambdas_the_cli_and_the_sandbox_read_the_same_declaration(stage: str):
    # The Lambdas get the stage's variables from chalice, which no longer carry its environments
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    given = {**config["environment_variables"], **config["stages"][stage]["environment_variables"]}
    lambdas = Settings.from_environment({**LAMBDA_ENV, **given}).fence
    cli = stage_fence(stage, "us-east-1", overrides={})
    assert lambdas is not None and lambdas == cli
    assert lambdas.clusters == {"dev": frozenset({"wso2-dev"}), "prod": frozenset({"wso2-prod"})}
    assert lambdas.default_keystores == {"dev": True, "prod": False}
    assert lambdas.approvers["prod"] == frozenset(
        {"arn:aws:sts::123456789012:assumed-role/berth-release-managers/*"}
    )
    assert lambdas.self_approval == {"dev": True, "prod": False}
    if stage == "dev":  # the sandbox is the dev stage, its network widened to its own VPC
        sandboxed = Sandbox.__new__(Sandbox).settings().fence
        assert sandboxed is not None
        for field in ("clusters", "environment_roles", "listener_rules", "namespaces",
                      "self_approval", "default_keystores", "rollout_roles"):  # fmt: skip
            assert getattr(sandboxed, field) == getattr(lambdas, field), field
        # its approvers widened by its own operator (moto's identity), as its network is
        operator = frozenset({"arn:aws:sts::123456789012:user/moto"})
        assert sandboxed.approvers == {e: a | operator for e, a in lambdas.approvers.items()}


def test_requesters_approve_their_own_deployments_only_outside_production_by_default():
    raw = (
        b"berthEnvironments: 1\nenvironments:\n"
        b"  dev: {clusters: [a]}\n"
        b"  prod: {production: true, clusters: [b]}\n"
        b"  staging: {production: true, clusters: [c], approval: {requesterMayApprove: true}}\n"
    )
    declared = parse_environments(raw, "x.yaml")
    assert {e: d.self_approval for e, d in declared.environments.items()} == {
        "dev": True, "prod": False, "staging": True,
    }  # fmt: skip


def test_the_zips_compiled_file_reads_back_as_the_same_declaration():
    declared = read_environments("prod")
    assert declared is not None
    assert compiled_environments(compiled(declared).encode(), "prod.json") == declared


def test_berth_validate_reads_the_stages_file(tmp_path, monkeypatch):
    # Given a stage whose file binds dev to another cluster
    text = (ROOT / "chalicelib" / "environments" / "dev.yaml").read_text()
    (tmp_path / "dev.yaml").write_text(text.replace("clusters: [wso2-dev]", "clusters: [blue]"))
    monkeypatch.setattr(environments, "PACKAGED", tmp_path)
    # Then the CLI's fence and the Lambdas' variables are the file's
    assert stage_fence("dev", overrides={}).clusters["dev"] == frozenset({"blue"})
    assert stage_variables("dev")["BERTH_ENVIRONMENT_CLUSTERS"] == "dev=blue;prod=wso2-prod"
