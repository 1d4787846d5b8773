"""IAM backs each environment's fence (issue 15): the stage's roles, secrets and ECS services are
the ones its configuration binds to its environments, in the policy and in the template."""

from __future__ import annotations

import json

import pytest

from berth.sandbox.infra import load_template
from berth.stages import stage_fence, stage_variables
from chalicelib.spec.fence import environment_map
from tests.conftest import ROOT


def policy(stage: str) -> dict[str, dict]:
    document = json.loads((ROOT / ".chalice" / f"policy-{stage}.json").read_text())
    return {s["Sid"]: s for s in document["Statement"]}


def template_roles(stage: str) -> dict[str, dict]:
    """The template's ECS task roles by the name they get in `stage`."""
    roles = {}
    for resource in load_template()["Resources"].values():
        if resource["Type"] != "AWS::IAM::Role" or "RoleName" not in resource["Properties"]:
            continue
        name = resource["Properties"]["RoleName"]["Fn::Sub"].replace("${Stage}", stage)
        roles[name] = resource["Properties"]
    return roles


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_each_environment_has_its_own_roles_in_config_policy_and_template(stage):
    declared = environment_map(stage_variables(stage)["BERTH_ENVIRONMENT_ROLES"])
    assert declared == {
        env: [f"berth-task-execution-{stage}-{env}", f"berth-task-{stage}-{env}"]
        for env in ("dev", "prod")
    }
    every = {name for names in declared.values() for name in names}
    passable = {arn.rsplit("/", 1)[-1] for arn in policy(stage)["PassOnlyTheTaskRoles"]["Resource"]}
    tasks = {name for name in template_roles(stage) if name.startswith("berth-task")}
    assert passable == every == tasks


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_an_execution_role_reads_only_its_environments_secrets(stage):
    fence = stage_fence(stage, overrides={})
    for env, prefix in fence.secret_prefixes.items():
        role = template_roles(stage)[f"berth-task-execution-{stage}-{env}"]
        [inline] = role["Policies"]
        statements = inline["PolicyDocument"]["Statement"]
        granted = {s["Action"]: s["Resource"]["Fn::Sub"] for s in statements}
        base = "arn:${AWS::Partition}:{}:${AWS::Region}:${AWS::AccountId}:"
        assert granted == {
            "secretsmanager:GetSecretValue": base.replace("{}", "secretsmanager") + f"secret:{prefix}*",
            "ssm:GetParameters": base.replace("{}", "ssm") + f"parameter/{prefix}*",
        }  # fmt: skip
    # The task roles get no policy but EFS mounting (below): nothing else a spec could borrow.
    task = template_roles(stage)[f"berth-task-{stage}-dev"]
    assert [p["PolicyName"] for p in task["Policies"]] == ["wso2-dev-file-systems"]
    assert "ManagedPolicyArns" not in task


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_a_task_role_mounts_only_its_environments_file_systems(stage):
    fence = stage_fence(stage, overrides={})
    assert set(fence.file_systems) == {"dev", "prod"}
    for env in fence.file_systems:
        [inline] = template_roles(stage)[f"berth-task-{stage}-{env}"]["Policies"]
        [statement] = inline["PolicyDocument"]["Statement"]
        assert statement == {
            "Effect": "Allow",
            "Action": ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"],
            "Resource": {"Fn::Sub": "arn:${AWS::Partition}:elasticfilesystem:${AWS::Region}:"
                                    "${AWS::AccountId}:file-system/*"},
            "Condition": {"StringEquals": {"aws:ResourceTag/berth:environment": env}},
        }  # fmt: skip


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_ecs_service_actions_are_granted_only_on_the_environments_clusters(stage):
    clusters = sorted(set().union(*stage_fence(stage, overrides={}).clusters.values()))
    resources = [f"arn:*:ecs:*:*:service/{c}/*" for c in clusters]
    granting = {"ServicesOfTheEnvironmentsClusters", "CreateServicesTaggedForThisStage",
                "ChangeOnlyThisStagesServices", "AdoptServicesNoStageOwns"}  # fmt: skip
    for sid in granting:
        assert policy(stage)[sid]["Resource"] == resources, sid
    # Issue 28: creating and changing are conditioned on the stage's own berth:stage tag.
    assert policy(stage)["CreateServicesTaggedForThisStage"]["Condition"] == {
        "StringEquals": {"aws:RequestTag/berth:stage": stage}
    }
    assert policy(stage)["ChangeOnlyThisStagesServices"]["Condition"] == {
        "StringEquals": {"aws:ResourceTag/berth:stage": stage}
    }
    # No other statement grants a service action.
    for sid, other in policy(stage).items():
        actions = [other["Action"]] if isinstance(other["Action"], str) else other["Action"]
        if sid not in granting:
            assert not {"ecs:CreateService", "ecs:UpdateService"} & set(actions), sid


def test_a_prod_role_in_a_dev_spec_is_refused_at_upload(sandbox):
    # Issue 15: one execution role per stage could read every wso2/* secret; now a dev spec
    # naming prod's role (which reads wso2/prod/) is refused before anything runs.
    from berth.sandbox.sandbox import example_spec

    sandbox.push("wso2mi", "4.4.0-1")
    sandbox.push("wso2am", "4.7.0-1")
    sandbox.upload_spec(
        sandbox.adapt_spec(example_spec()).replace(
            "role/berth-task-execution-dev-dev", "role/berth-task-execution-dev-prod"
        )
    )
    sandbox.run_until_idle()
    [note] = sandbox.notifications
    assert note.document["errors"] == [
        "s3://berth-specs-123456789012-dev/specs/dev/wso2.yaml:4:1: executionRoleArn: role "
        "berth-task-execution-dev-prod is not one of environment dev's roles (berth-task-dev-dev, "
        "berth-task-execution-dev-dev): each environment's tasks run under its own roles "
        "(environments.dev.roles in chalicelib/environments/dev.yaml)"
    ]
    assert sandbox.recorder.ecs_mutations() == []


def test_a_prod_secret_in_a_dev_spec_is_refused_at_upload(sandbox):
    from berth.sandbox.sandbox import example_spec

    sandbox.push("wso2mi", "4.4.0-1")
    sandbox.push("wso2am", "4.7.0-1")
    sandbox.upload_spec(
        sandbox.adapt_spec(example_spec()).replace("secret:wso2/dev/db", "secret:wso2/prod/db")
    )
    sandbox.run_until_idle()
    [note] = sandbox.notifications
    [error] = note.document["errors"]
    assert error.endswith(
        ": services.apim.secrets.DB_PASSWORD: secret wso2/prod/db is outside environment dev's "
        "secrets: name one under wso2/dev/ (environments.dev.secretsPrefix in chalicelib/environments/dev.yaml)"
    )
    assert sandbox.recorder.ecs_mutations() == []


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_stop_task_is_granted_only_on_the_environments_clusters_tasks(stage):
    """Issue 29: a superseded schema task is stopped; StopTask authorizes on the task, with its
    cluster as ecs:cluster (Service Authorization Reference, Amazon ECS), like RunTask."""
    clusters = sorted(set().union(*stage_fence(stage, overrides={}).clusters.values()))
    statement = policy(stage)["StopSupersededSchemaTasks"]
    assert statement["Action"] == "ecs:StopTask"
    assert statement["Resource"] == [f"arn:*:ecs:*:*:task/{c}/*" for c in clusters]
    assert statement["Condition"] == {
        "ArnLike": {"ecs:cluster": [f"arn:*:ecs:*:*:cluster/{c}" for c in clusters]}
    }
    for sid, other in policy(stage).items():
        actions = [other["Action"]] if isinstance(other["Action"], str) else other["Action"]
        assert sid == "StopSupersededSchemaTasks" or "ecs:StopTask" not in actions, sid
