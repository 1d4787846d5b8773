"""`make package`'s merge template: infra/resources.yaml plus one stage's precise EventBridge
rules and function names, for `chalice package --merge-template` (operator side, never zipped)."""

from __future__ import annotations

import argparse
import copy
import json
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml

from berth.sandbox.infra import load_template
from berth.stages import stage_variables
from chalicelib.decisions.verification import ANSWER_MARGIN_SECONDS
from chalicelib.spec.deployment import VERIFY_TIMEOUT_MAX
from chalicelib.spec.fence import ENVIRONMENT_VARIABLES, environment_clusters
from chalicelib.values import triggers

# The environments' clusters when a stage in .chalice/config.json names none.
DEFAULT_CLUSTERS: tuple[str, ...] = ("wso2-dev", "wso2-prod")
# The stage environment variable in .chalice/config.json that names the clusters.
CLUSTERS_VARIABLE = "BERTH_CLUSTERS"


def cloudformation_patterns(
    clusters: Iterable[str], repositories: Iterable[str] = triggers.IMAGE_REPOSITORIES
) -> dict[str, dict[str, Any]]:
    """`patterns` for the packaged template: the bucket is the template's SpecBucket, and the
    partition, region and account are resolved by CloudFormation when the stack is deployed."""
    prefixes = [
        {
            "Fn::Sub": triggers.service_arn_prefix(
                c, "${AWS::AccountId}", "${AWS::Region}", "${AWS::Partition}"
            )
        }
        for c in clusters
    ]
    return triggers.narrowed({"Ref": "SpecBucket"}, repositories, prefixes)


def logical_id(function: str) -> str:
    """The logical id `chalice package` gives a function (on_spec_uploaded -> OnSpecUploaded;
    the REST API's routes are one function, APIHandler)."""
    if function == triggers.API_FUNCTION:
        return "APIHandler"
    return "".join(part.capitalize() for part in function.split("_"))


def stage_clusters(config: dict[str, Any], stage: str) -> list[str]:
    """The clusters a stage's environments run on: its BERTH_CLUSTERS variable (comma-separated),
    else the top-level one, else DEFAULT_CLUSTERS."""
    listed = stage_variables(stage, config).get(CLUSTERS_VARIABLE, ",".join(DEFAULT_CLUSTERS))
    clusters = [c.strip() for c in listed.split(",") if c.strip()]
    if not clusters:
        raise ValueError(f"stage {stage}: {CLUSTERS_VARIABLE} names no cluster")
    return clusters


# The stage environment variable in .chalice/config.json that names the image repositories.
REPOSITORIES_VARIABLE = "BERTH_IMAGE_REPOSITORIES"


def stage_repositories(config: dict[str, Any], stage: str) -> list[str]:
    """The repositories whose pushes wake a stage: its BERTH_IMAGE_REPOSITORIES (comma-separated:
    Berth's own plus the sidecar images it mirrors), else Berth's own; sorted."""
    listed = stage_variables(stage, config).get(REPOSITORIES_VARIABLE, "")
    repositories = sorted({r.strip() for r in listed.split(",") if r.strip()})
    return repositories or list(triggers.IMAGE_REPOSITORIES)


# Berth's verification hook calls the environments' test listeners, which are internal load
# balancers: a function is in no VPC unless configured ("By default, Lambda functions don't run
# inside a VPC... To access private resources, connect your function to the VPC's subnets":
# Lambda developer guide, "Giving Lambda functions access to resources in an Amazon VPC"). Chalice
# renders a function's `subnet_ids` and `security_group_ids` (.chalice/config.json, per function)
# as its VpcConfig; the ENI permissions Lambda needs for it are the policy's
# VerifyHookNetworkInterfaces statement (the actions of AWSLambdaVPCAccessExecutionRole).
HOOK_FUNCTION = "verify_rollout"
HOOK_VARIABLE = "BERTH_VERIFY_HOOK_FUNCTION"


def hook_network_problem(config: dict[str, Any], stage: str) -> str | None:
    """Why a stage with a verification hook cannot be packaged as it is: its hook has no VPC
    configuration (subnets and security groups both), so it could reach no internal listener."""
    if not stage_variables(stage, config).get(HOOK_VARIABLE):
        return None
    function = config["stages"][stage].get("lambda_functions", {}).get(HOOK_FUNCTION, {})
    if function.get("subnet_ids") and function.get("security_group_ids"):
        return None
    return (
        f"stage {stage}: {HOOK_VARIABLE} names Berth's verification hook, but "
        f'stages.{stage}.lambda_functions.{HOOK_FUNCTION} in .chalice/config.json has no '
        '"subnet_ids" and "security_group_ids": give the subnets and the security group from '
        "which the hook reaches every environment's test listeners (docs/spec.md, "
        '"Deployment strategies")'
    )


SHARING_VARIABLE = "BERTH_SHARES_CLUSTERS_WITH"


def _bound_clusters(config: dict[str, Any], stage: str) -> set[str]:
    declared = stage_variables(stage, config).get("BERTH_ENVIRONMENT_CLUSTERS", "")
    return set().union(*environment_clusters(declared).values())


def shared_cluster_problem(config: dict[str, Any], stage: str) -> str | None:
    """Why `stage` cannot be packaged as it is: another stage of the same configuration binds
    one of its clusters and the operator did not say that is meant. Two stages on one cluster
    keep to their own services by the berth:stage tag (their policies condition UpdateService
    and DeleteService on it), but one stage by mistake deploying where another does is what an
    operator should have to state (BERTH_SHARES_CLUSTERS_WITH=<stage>,...)."""
    mine = _bound_clusters(config, stage)
    declared = stage_variables(stage, config).get(SHARING_VARIABLE, "")
    allowed = {s.strip() for s in declared.split(",") if s.strip()}
    for other in sorted(config.get("stages", {})):
        shared = mine & _bound_clusters(config, other) if other != stage else set()
        if shared and other not in allowed:
            return (
                f"stage {stage} binds cluster(s) {', '.join(sorted(shared))}, which stage {other} "
                "binds too (their chalicelib/environments files' clusters): give each stage its "
                "own clusters, or "
                f'say it is meant with "{SHARING_VARIABLE}": "{other}" in stages.{stage}.'
                "environment_variables (each stage then changes only services tagged "
                "berth:stage for it)"
            )
    return None


def environment_variables_problem(config: dict[str, Any], stage: str) -> str | None:
    """Why `stage` cannot be packaged: its configuration declares environments in variables
    as well as in its environments file. The file is the one place (docs/environments.md);
    the variables are only how the sandbox and tests widen it in their own process."""
    given = {
        **config.get("environment_variables", {}),
        **config["stages"][stage].get("environment_variables", {}),
    }
    declared = sorted(ENVIRONMENT_VARIABLES & set(given))
    if not declared:
        return None
    return (
        f"stage {stage} declares {', '.join(declared)} in .chalice/config.json: declare each "
        f"environment in chalicelib/environments/{stage}.yaml instead (docs/environments.md), "
        "its one declaration"
    )


# Chalice's default function timeout (chalice's config documentation, `lambda_timeout`: 60).
CHALICE_DEFAULT_TIMEOUT = 60
# Both verification calls at the spec's longest timeout, then recording and answering ECS.
HOOK_SECONDS_NEEDED = 2 * VERIFY_TIMEOUT_MAX + ANSWER_MARGIN_SECONDS


def hook_timeout(config: dict[str, Any], stage: str) -> int:
    """The hook function's timeout as chalice resolves it: the function's own, else the
    stage's, else the file's top level, else chalice's default."""
    own = config["stages"][stage].get("lambda_functions", {}).get(HOOK_FUNCTION, {})
    for level in (own, config["stages"][stage], config):
        if "lambda_timeout" in level:
            return int(level["lambda_timeout"])
    return CHALICE_DEFAULT_TIMEOUT


def hook_timeout_problem(config: dict[str, Any], stage: str) -> str | None:
    """Why the stage's hook could be killed by Lambda mid-verification: its timeout is shorter
    than two calls at the longest verify.timeout a spec may set plus the time to answer."""
    if not stage_variables(stage, config).get(HOOK_VARIABLE):
        return None
    seconds = hook_timeout(config, stage)
    if seconds >= HOOK_SECONDS_NEEDED:
        return None
    return (
        f"stage {stage}: {HOOK_FUNCTION} times out after {seconds} s, but a spec may ask for two "
        f"verification calls of {VERIFY_TIMEOUT_MAX} s each, then the hook records and answers "
        f"ECS ({ANSWER_MARGIN_SECONDS} s): set stages.{stage}.lambda_functions.{HOOK_FUNCTION}"
        f'.lambda_timeout to {HOOK_SECONDS_NEEDED} or more in .chalice/config.json'
    )


def merge_template(
    resources: dict[str, Any],
    stage: str,
    clusters: Sequence[str],
    repositories: Sequence[str] = triggers.IMAGE_REPOSITORIES,
) -> dict[str, Any]:
    """infra/resources.yaml plus what chalice's merge (a deep merge: dicts merge key by key, a
    list or a value replaces) must change in chalice's own resources for `stage`:

    - each rule's Pattern becomes `cloudformation_patterns(clusters)`; chalice's Pattern is a
      dict, so a whole Pattern is given here and deep-merges over it key by key;
    - each function is named `berth-<stage>-<function>`, as `chalice deploy` names it, so its log
      group /aws/lambda/berth-<stage>-<function> is the one .chalice/policy-<stage>.json allows
      whatever the stack is called (CloudFormation would otherwise name it
      <stack>-<LogicalId>-<random>);
    - the Stage parameter only accepts the stage packaged (the policy file names its resources).

    Clusters are fixed at package time from .chalice/config.json: an EventBridge pattern needs one
    {"prefix": ...} object per cluster, and CloudFormation has no loop that turns a
    CommaDelimitedList into a list of objects (Fn::ForEach only generates keys of a mapping).
    """
    merged = copy.deepcopy(resources)
    merged["Parameters"]["Stage"].update({"Default": stage, "AllowedValues": [stage]})
    narrowed = cloudformation_patterns(clusters, repositories)
    for function in triggers.FUNCTIONS:
        name = logical_id(function)
        properties: dict[str, Any] = {"FunctionName": {"Fn::Sub": f"berth-${{Stage}}-{function}"}}
        if function in narrowed:
            properties["Events"] = {f"{name}Event": {"Properties": {"Pattern": narrowed[function]}}}
        merged["Resources"].setdefault(name, {}).setdefault("Properties", {}).update(properties)
    return merged


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m berth.package STAGE RESOURCES CONFIG OUT`: write the merge template."""
    parser = argparse.ArgumentParser(prog="python -m berth.package", description=main.__doc__)
    parser.add_argument("stage")
    parser.add_argument("resources", type=Path, help="infra/resources.yaml")
    parser.add_argument("config", type=Path, help=".chalice/config.json")
    parser.add_argument("out", type=Path, help="the merge template to write (.yaml)")
    args = parser.parse_args(argv)
    config = json.loads(args.config.read_text())
    if args.stage not in config.get("stages", {}):
        parser.error(f"{args.config} has no stage {args.stage!r}")
    for problem in (hook_network_problem(config, args.stage),
                    hook_timeout_problem(config, args.stage),
                    shared_cluster_problem(config, args.stage),
                    environment_variables_problem(config, args.stage)):  # fmt: skip
        if problem is not None:
            parser.error(problem)
    resources = load_template(args.resources)
    merged = merge_template(
        resources, args.stage, stage_clusters(config, args.stage),
        stage_repositories(config, args.stage),
    )  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(yaml.safe_dump(merged, sort_keys=False, width=100))
    return 0


if __name__ == "__main__":
    sys.exit(main())
