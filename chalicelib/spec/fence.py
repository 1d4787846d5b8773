"""What a stage lets a spec reach, declared by the operator outside specs (the stage's
configuration and its environments file, chalicelib/environments/<stage>.yaml, deployed with
the stack) and enforced before any AWS call: a spec naming a role
the stage's iam:PassRole does not cover, or a repository its ECR statements do not cover, would
otherwise validate and fail with AccessDenied halfway through a deployment; a spec naming
another environment's secret, role, subnet or target group would succeed, and reach it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass(frozen=True)
class NetworkFence:
    """Where an environment's tasks may attach: its subnets, security groups and target groups
    (ARNs, or ARN prefixes ending in `*`), and whether a task may get a public IP."""

    subnets: frozenset[str] = frozenset()
    security_groups: frozenset[str] = frozenset()
    target_groups: frozenset[str] = frozenset()
    public_ip: bool = False


@dataclass(frozen=True)
class StageFence:
    """Role names the stage may pass to ECS tasks, the ECR repositories it may deploy, and each
    environment's clusters, secret prefix, roles and network (empty: not declared, not
    checked); the stage's own account and region (None: not checked)."""

    roles: frozenset[str]
    repositories: frozenset[str]
    clusters: dict[str, frozenset[str]] = field(default_factory=dict)
    secret_prefixes: dict[str, str] = field(default_factory=dict)
    environment_roles: dict[str, frozenset[str]] = field(default_factory=dict)
    networks: dict[str, NetworkFence] = field(default_factory=dict)
    adoptable: dict[str, frozenset[str]] = field(default_factory=dict)
    file_systems: dict[str, frozenset[str]] = field(default_factory=dict)
    """Each environment's EFS file systems (the environments file's `fileSystems`); empty: not
    declared, not checked. Once declared, an environment it does not list mounts none."""
    account: str | None = None
    region: str | None = None
    rollout_roles: dict[str, tuple[str, str]] = field(default_factory=dict)
    """Each environment's roles for ECS's blue/green, canary and linear deployments: (the
    infrastructure role ECS manages its load balancers with, the role ECS invokes lifecycle hooks
    with), role names (the environments file's `rolloutRoles`)."""
    verify_hook: str | None = None
    """The name of Berth's verification hook Lambda (BERTH_VERIFY_HOOK_FUNCTION)."""
    listener_rules: dict[str, frozenset[str]] = field(default_factory=dict)
    """Each environment's load balancer listener rules (or listeners, for NLBs) that its
    blue/green, canary and linear deployments may switch: ARNs, or prefixes ending in `*`
    (the environments file's `listenerRules`); empty: not declared, not checked."""
    namespaces: dict[str, frozenset[str]] = field(default_factory=dict)
    """Each environment's Service Connect (Cloud Map) namespaces, names or ARNs
    (the environments file's `namespaces`); empty: not declared, not checked."""
    default_keystores: dict[str, bool] = field(default_factory=dict)
    """Whether each environment may run WSO2 services on the images' public default keystores
    (the environments file's `defaultKeystores: true`); once declared, an environment not listed
    may not. Empty: not declared, not checked."""
    stage: str | None = None
    """The stage's own name (BERTH_STAGE): what Berth creates is tagged berth:stage with it, and
    a service tagged for another stage, or not for this one, is never changed or retired."""
    test_listeners: dict[str, frozenset[str]] = field(default_factory=dict)
    """Each environment's test listeners, as origins `scheme://host[:port]`
    (the environments file's `testListeners`): the only addresses a spec's verify.testUrl may
    name, so the hook sends a smoke header's secret nowhere else. An environment not listed verifies
    through none."""
    approvers: dict[str, frozenset[str]] = field(default_factory=dict)
    """Who may approve each environment's deployments held at their approval gate: IAM ARNs as
    AWS gives the caller's, or prefixes ending in `*` (the environments file's
    `approval.approvers`). An environment not listed: nobody may."""
    self_approval: dict[str, bool] = field(default_factory=dict)
    """Whether each environment's requesters may approve their own deployments (the
    environments file's `approval.requesterMayApprove`; default: not in production). An
    environment not listed: no."""


def environment_map(declared: str) -> dict[str, list[str]]:
    """`dev=a,b;prod=c` as environment -> [values]."""
    mapped: dict[str, list[str]] = {}
    for entry in filter(None, (e.strip() for e in declared.split(";"))):
        environment, _, values = entry.partition("=")
        mapped[environment.strip()] = [v.strip() for v in values.split(",") if v.strip()]
    return mapped


def environment_clusters(declared: str) -> dict[str, frozenset[str]]:
    """`dev=wso2-dev;prod=wso2-prod,wso2-prod-b` as environment -> clusters."""
    return {env: frozenset(names) for env, names in environment_map(declared).items()}


def secret_prefixes(declared: str, environments: Iterable[str]) -> dict[str, str]:
    """Each environment's secret prefix: `dev=wso2/dev/;prod=wso2/prod/` as declared, else
    `wso2/<environment>/` for every environment the stage declares."""
    prefixes = {env: f"wso2/{env}/" for env in environments}
    prefixes.update({env: values[0] for env, values in environment_map(declared).items() if values})
    return prefixes


@dataclass(frozen=True)
class FenceVariables:
    """The stage configuration's fence, as its environment variables spell it."""

    task_roles: str = ""
    image_repositories: str = ""
    clusters: str = ""
    secrets: str = ""
    roles: str = ""
    subnets: str = ""
    security_groups: str = ""
    target_groups: str = ""
    public_ip: str = ""
    adopt: str = ""
    file_systems: str = ""
    account: str = ""
    region: str = ""
    rollout_roles: str = ""
    verify_hook: str = ""
    listener_rules: str = ""
    namespaces: str = ""
    test_listeners: str = ""
    stage: str = ""
    default_keystores: str = ""
    approvers: str = ""
    self_approval: str = ""

    def fence(self) -> StageFence:
        clusters = environment_clusters(self.clusters)
        roles = {env: frozenset(names) for env, names in environment_map(self.roles).items()}
        passable = _names(self.task_roles) or frozenset().union(*roles.values())
        subnets, groups, targets, public, adopt = (
            environment_map(v)
            for v in (
                self.subnets,
                self.security_groups,
                self.target_groups,
                self.public_ip,
                self.adopt,
            )
        )
        networks = {
            env: NetworkFence(
                frozenset(subnets.get(env, ())),
                frozenset(groups.get(env, ())),
                frozenset(targets.get(env, ())),
                public.get(env, ["false"]) == ["true"],
            )
            for env in set(subnets) | set(groups) | set(targets) | set(public)
        }
        return StageFence(
            roles=passable,
            repositories=_names(self.image_repositories),
            clusters=clusters,
            secret_prefixes=secret_prefixes(self.secrets, clusters) if clusters else {},
            environment_roles=roles,
            networks=networks,
            adoptable={env: frozenset(names) for env, names in adopt.items()},
            file_systems={
                env: frozenset(ids) for env, ids in environment_map(self.file_systems).items()
            },
            account=self.account or None,
            region=self.region or None,
            rollout_roles={
                env: (names[0], names[1])
                for env, names in environment_map(self.rollout_roles).items()
                if len(names) == 2
            },
            verify_hook=self.verify_hook or None,
            stage=self.stage or None,
            default_keystores={
                env: values == ["true"]
                for env, values in environment_map(self.default_keystores).items()
            },
            listener_rules={
                env: frozenset(arns) for env, arns in environment_map(self.listener_rules).items()
            },
            namespaces={
                env: frozenset(names) for env, names in environment_map(self.namespaces).items()
            },
            test_listeners={
                env: frozenset(origin(url) for url in urls)
                for env, urls in environment_map(self.test_listeners).items()
            },
            approvers={
                env: frozenset(arns) for env, arns in environment_map(self.approvers).items()
            },
            self_approval={
                env: values == ["true"]
                for env, values in environment_map(self.self_approval).items()
            },
        )


# Each stage variable of the fence, as a FenceVariables field. The BERTH_ENVIRONMENT_* keys are
# compiled from the stage's environments file (chalicelib.spec.environments.fence_variables),
# not set in its configuration; a process may still override one with the variable itself.
# Refusals name the file's field instead (declared_in), which is what the operator edits.
FENCE_VARIABLES = {
    "BERTH_TASK_ROLES": "task_roles",
    "BERTH_IMAGE_REPOSITORIES": "image_repositories",
    "BERTH_ENVIRONMENT_CLUSTERS": "clusters",
    "BERTH_ENVIRONMENT_SECRETS": "secrets",
    "BERTH_ENVIRONMENT_ROLES": "roles",
    "BERTH_ENVIRONMENT_SUBNETS": "subnets",
    "BERTH_ENVIRONMENT_SECURITY_GROUPS": "security_groups",
    "BERTH_ENVIRONMENT_TARGET_GROUPS": "target_groups",
    "BERTH_ENVIRONMENT_PUBLIC_IP": "public_ip",
    "BERTH_ENVIRONMENT_ADOPT": "adopt",
    "BERTH_ENVIRONMENT_FILE_SYSTEMS": "file_systems",
    "BERTH_ACCOUNT": "account",
    "BERTH_ENVIRONMENT_ROLLOUT_ROLES": "rollout_roles",
    "BERTH_VERIFY_HOOK_FUNCTION": "verify_hook",
    "BERTH_ENVIRONMENT_LISTENER_RULES": "listener_rules",
    "BERTH_ENVIRONMENT_NAMESPACES": "namespaces",
    "BERTH_ENVIRONMENT_TEST_LISTENERS": "test_listeners",
    "BERTH_STAGE": "stage",
    "BERTH_ENVIRONMENT_DEFAULT_KEYSTORES": "default_keystores",
    "BERTH_ENVIRONMENT_APPROVERS": "approvers",
    "BERTH_ENVIRONMENT_SELF_APPROVAL": "self_approval",
}
# The fence variables of one environment each, which the stage's environments file declares
# (chalicelib.spec.environments); the others are the stage's own.
ENVIRONMENT_VARIABLES = frozenset(v for v in FENCE_VARIABLES if v.startswith("BERTH_ENVIRONMENT_"))


def fence_from_variables(variables: dict[str, str], region: str | None = None) -> StageFence | None:
    """The fence a stage's variables declare; None when they declare none."""
    values = {f: variables.get(v, "") for v, f in FENCE_VARIABLES.items()}
    if not any(values.values()):
        return None
    return FenceVariables(**values, region=region or "").fence()


def environments_file(stage: str | None) -> str:
    """The stage's environments file, where the operator declares each environment's fence
    (chalicelib.spec.environments); `<stage>` when the fence does not know its stage."""
    return f"chalicelib/environments/{stage or '<stage>'}.yaml"


def declared_in(field: str, env: str, stage: str | None = None, *, value: str = "") -> str:
    """Where a refusal sends the operator: environment `env`'s `field`, spelt as the
    environments file spells it (`network.subnets`), in the stage's file:
    `environments.dev.network.subnets in chalicelib/environments/dev.yaml`. With `value`, what
    to add there: `publicIp: true under environments.dev.network in ...`."""
    file = environments_file(stage)
    if not value:
        return f"environments.{env}.{field} in {file}"
    parent, _, leaf = f"environments.{env}.{field}".rpartition(".")
    return f"{leaf}: {value} under {parent} in {file}"


def origin(url: str) -> str:
    """`url` as the origin it names, `scheme://host[:port]`: host in lower case, the scheme's
    default port left out, no path (RFC 6454, 4), so two spellings of one listener compare
    equal."""
    parts = urlsplit(url.strip())
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    default = {"http": 80, "https": 443}.get(scheme)
    return f"{scheme}://{host}" + (f":{port}" if port is not None and port != default else "")


def _names(listed: str) -> frozenset[str]:
    return frozenset(v.strip() for v in listed.split(",") if v.strip())
