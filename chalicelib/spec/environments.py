"""A stage's environments, declared by the operator in one typed file per stage
(`chalicelib/environments/<stage>.yaml`, in the Lambda zip: deployed with the stack, never
writable by spec uploaders) and validated like a spec, every problem located.

What the file declares is what a stage's fence variables used to spell as `env=value;...`
strings (FENCE_VARIABLES): `fence_variables` gives them in that spelling, so the Lambdas, the CLI
and the sandbox build the same StageFence from the same declaration; and who may approve a
deployment held at its approval gate (`Approval`), which no variable ever declared.
"""

from __future__ import annotations

from pathlib import Path as FilePath
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, ValidationError

from chalicelib.errors import EnvironmentsError, SpecProblem

from .base import NAME, SpecModel
from .located import Located, Path, SourceError
from .parse import located_problem
from .reasons import validation_reason

# Where the shipped stages' files are: inside chalicelib, which chalice zips recursively
# (chalice docs, "Multifile Support"), so a Lambda reads its stage's file from its own package.
PACKAGED = FilePath(__file__).resolve().parents[1] / "environments"
Origin = Annotated[str, Field(pattern=r"^https?://[^/\s]+$")]


class Network(SpecModel):
    """Where the environment's tasks attach."""

    subnets: list[str] = Field(default=[], max_length=16)
    security_groups: list[str] = Field(default=[], max_length=5)
    target_groups: list[str] = []
    """Target group ARNs, or ARN prefixes ending in `*`."""
    public_ip: bool = False


class RolloutRoles(SpecModel):
    """ECS's roles for blue/green, canary and linear deployments: the infrastructure role it
    manages load balancers with, and the role it invokes lifecycle hooks with."""

    load_balancer: str = Field(pattern=r"^[\w+=,.@-]{1,64}$")
    hook: str = Field(pattern=r"^[\w+=,.@-]{1,64}$")


def _arn(value: str) -> str:
    if not value.startswith("arn:") or any(c.isspace() for c in value):
        raise ValueError(f"{value!r} is not an IAM ARN (or an ARN prefix ending in *)")
    return value


Approver = Annotated[str, AfterValidator(_arn)]


class Approval(SpecModel):
    """Who may approve a deployment held at its approval gate (`deployment.approval`)."""

    approvers: list[Approver] = []
    """IAM ARNs as AWS gives the caller's (API Gateway's `requestContext.identity.userArn`: a
    user, or an assumed role's session `arn:aws:sts::<account>:assumed-role/<role>/<session>`),
    or prefixes ending in `*` (`arn:aws:sts::123456789012:assumed-role/release-managers/*`).
    None listed: nobody may approve."""
    requester_may_approve: bool | None = None
    """Whether the person who asked for the deployment (its trigger's requester) may approve
    it; default: not in a production environment (`production: true`), yes elsewhere."""


class Environment(SpecModel):
    """One environment of the stage: what its specs may reach, and who approves its deployments."""

    production: bool = False
    """A production environment: by default its requesters may not approve their own
    deployments."""
    clusters: list[str] = Field(min_length=1)
    secrets_prefix: str | None = Field(default=None, pattern=r"^[\w/+=.@-]+/$")
    """Default `wso2/<environment>/`."""
    roles: list[str] = []
    """The task and execution role names its tasks run under."""
    network: Network = Network()
    adopt: list[str] = []
    """Untagged live services it may take over, `cluster/service`."""
    file_systems: list[str] = []
    rollout_roles: RolloutRoles | None = None
    test_listeners: list[Origin] = []
    """Origins `scheme://host[:port]` the verification hook may call."""
    listener_rules: list[str] = []
    namespaces: list[str] = []
    default_keystores: bool = False
    """Whether WSO2 services may run on the images' public default keystores (development only)."""
    approval: Approval = Approval()

    @property
    def self_approval(self) -> bool:
        """Whether a deployment's requester may approve it (default: not in production)."""
        chosen = self.approval.requester_may_approve
        return (not self.production) if chosen is None else chosen


class EnvironmentsFile(SpecModel):
    berth_environments: Literal[1] = Field(alias="berthEnvironments")
    environments: dict[Annotated[str, Field(pattern=NAME)], Environment] = Field(min_length=1)


def parse_environments(raw: bytes, file: str) -> EnvironmentsFile:
    """Validate an environments file's bytes; raise EnvironmentsError with every problem located
    (file:line:col: field: reason), as a spec's are."""
    from .source import load_document

    try:
        doc = load_document(raw, as_json=file.lower().endswith(".json"))
    except SourceError as exc:
        raise EnvironmentsError([SpecProblem(file, "", exc.reason, exc.line, exc.column)]) from None
    return _validated(doc, file)


def compiled_environments(raw: bytes, file: str) -> EnvironmentsFile:
    """The JSON `make package` writes into the zip from the validated YAML (`compiled`): read
    with the json module, so that no Lambda loads a YAML parser for it (issue 17, cold start);
    a problem is named by its field, without a position."""
    import json

    return _validated(Located(json.loads(raw)), file)


def compiled(declared: EnvironmentsFile) -> str:
    """The declaration as the zip carries it (`compiled_environments` reads it back)."""
    import json

    return json.dumps(declared.model_dump(by_alias=True, mode="json"), indent=1) + "\n"


def _validated(doc: Located, file: str) -> EnvironmentsFile:
    if not isinstance(doc.data, dict) or "berthEnvironments" not in doc.data:
        reason = "not a Berth environments file: the top-level key 'berthEnvironments: 1' is "
        reason += "missing"
        raise EnvironmentsError([located_problem(file, doc, (), reason)])
    try:
        declared = EnvironmentsFile.model_validate(doc.data)
    except ValidationError as exc:
        problems = [
            located_problem(file, doc, _field(e["loc"]), validation_reason(e, EnvironmentsFile))
            for e in exc.errors()
        ]
        raise EnvironmentsError(problems) from None
    located = [located_problem(file, doc, loc, reason) for loc, reason in _shared(declared)]
    if located:
        raise EnvironmentsError(located)
    return declared


def _field(loc: tuple[str | int, ...]) -> Path:
    """pydantic's location of an error; a refused mapping key is the key's own field."""
    return tuple(part for part in loc if part != "[key]")


def _shared(declared: EnvironmentsFile) -> list[tuple[Path, str]]:
    """Two environments of one stage never share a cluster: Berth tells which environment an
    ECS event is for by its cluster (chalicelib.flows.rollout)."""
    owner: dict[str, str] = {}
    problems: list[tuple[Path, str]] = []
    for env, environment in declared.environments.items():
        for i, cluster in enumerate(environment.clusters):
            if cluster in owner:
                reason = f"{cluster} is {owner[cluster]}'s cluster already: Berth tells an ECS "
                reason += "event's environment by its cluster, so a cluster has one environment"
                problems.append((("environments", env, "clusters", i), reason))
            owner.setdefault(cluster, env)
    return problems


def packaged_file(stage: str) -> FilePath:
    """The stage's environments file as the operator writes it."""
    return PACKAGED / f"{stage}.yaml"


def read_environments(stage: str, path: str | None = None) -> EnvironmentsFile | None:
    """The stage's declaration: `path` when given (relative to the package root), else the
    zip's compiled `<stage>.json`, else the source tree's `<stage>.yaml`; None when the stage
    has none."""
    packaged = [PACKAGED / f"{stage}.json", packaged_file(stage)]
    files = [PACKAGED.parent / path] if path else packaged
    file = next((f for f in files if f.is_file()), None)
    if file is None:
        return None
    root = PACKAGED.parents[1]
    shown = str(file.relative_to(root)) if file.is_relative_to(root) else str(file)
    if file.suffix == ".json":
        return compiled_environments(file.read_bytes(), shown)
    return parse_environments(file.read_bytes(), shown)


def fence_variables(declared: EnvironmentsFile) -> dict[str, str]:
    """The declaration in the fence variables' spelling (chalicelib.spec.fence.FENCE_VARIABLES),
    which `fence_from_variables` turns into the stage's StageFence: one reading for every
    consumer. Only what some environment declares is given."""
    envs = declared.environments

    def joined(values: dict[str, list[str]]) -> str:
        return ";".join(f"{env}={','.join(v)}" for env, v in values.items() if v)

    variables = {
        "BERTH_ENVIRONMENT_CLUSTERS": joined({e: d.clusters for e, d in envs.items()}),
        "BERTH_ENVIRONMENT_SECRETS": joined(
            {e: [d.secrets_prefix or f"wso2/{e}/"] for e, d in envs.items()}
        ),
        "BERTH_ENVIRONMENT_ROLES": joined({e: d.roles for e, d in envs.items()}),
        "BERTH_ENVIRONMENT_SUBNETS": joined({e: d.network.subnets for e, d in envs.items()}),
        "BERTH_ENVIRONMENT_SECURITY_GROUPS": joined(
            {e: d.network.security_groups for e, d in envs.items()}
        ),
        "BERTH_ENVIRONMENT_TARGET_GROUPS": joined(
            {e: d.network.target_groups for e, d in envs.items()}
        ),
        "BERTH_ENVIRONMENT_PUBLIC_IP": joined(
            {e: [str(d.network.public_ip).lower()] for e, d in envs.items()}
        ),
        "BERTH_ENVIRONMENT_ADOPT": joined({e: d.adopt for e, d in envs.items()}),
        "BERTH_ENVIRONMENT_FILE_SYSTEMS": joined({e: d.file_systems for e, d in envs.items()}),
        "BERTH_ENVIRONMENT_ROLLOUT_ROLES": joined(
            {
                e: [d.rollout_roles.load_balancer, d.rollout_roles.hook]
                for e, d in envs.items()
                if d.rollout_roles is not None
            }
        ),
        "BERTH_ENVIRONMENT_TEST_LISTENERS": joined({e: d.test_listeners for e, d in envs.items()}),
        "BERTH_ENVIRONMENT_LISTENER_RULES": joined({e: d.listener_rules for e, d in envs.items()}),
        "BERTH_ENVIRONMENT_NAMESPACES": joined({e: d.namespaces for e, d in envs.items()}),
        "BERTH_ENVIRONMENT_DEFAULT_KEYSTORES": joined(
            {e: [str(d.default_keystores).lower()] for e, d in envs.items()}
        ),
        "BERTH_ENVIRONMENT_APPROVERS": joined({e: d.approval.approvers for e, d in envs.items()}),
        "BERTH_ENVIRONMENT_SELF_APPROVAL": joined(
            {e: [str(d.self_approval).lower()] for e, d in envs.items()}
        ),
    }
    return {k: v for k, v in variables.items() if v}
