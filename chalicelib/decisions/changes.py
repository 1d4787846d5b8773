"""What a spec change requires of one live service: nothing, new settings, a new task definition
revision, a new service, or a refusal because ECS cannot apply it in place."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from chalicelib.rendering.comparison import same_task_definition
from chalicelib.rendering.strategies import advanced_left_behind, left_behind
from chalicelib.values.live import LiveService

ChangeKind = Literal["none", "settings", "revision", "create", "refuse"]


ENVIRONMENT_TAG = "berth:environment"
STAGE_TAG = "berth:stage"
SERVICE_TAG = "berth:service"


@dataclass(frozen=True)
class ServiceChange:
    kind: ChangeKind
    reason: str
    field: str = ""
    """The spec field a refusal is about."""

    @property
    def deploys(self) -> bool:
        return self.kind in ("settings", "revision", "create")


def covers(live: Any, wanted: Any) -> bool:
    """Does `live` hold every value of `wanted`? ECS adds fields of its own; lists are sets."""
    if isinstance(wanted, dict):
        return isinstance(live, dict) and all(covers(live.get(k), v) for k, v in wanted.items())
    if isinstance(wanted, list):
        if live is None and not wanted:
            return True  # an absent list holds nothing, as an empty one does
        if not isinstance(live, list) or len(live) != len(wanted):
            return False
        remaining = list(live)
        for item in wanted:
            found = next((x for x in remaining if covers(x, item)), None)
            if found is None:
                return False
            remaining.remove(found)
        return True
    return bool(live == wanted)


# Settings whose change makes ECS start a new deployment (ECS API reference, UpdateService:
# "This parameter triggers a new service deployment"): sent only when they differ from the live
# service, so a scale or a deployment-configuration edit never restarts WSO2.
REDEPLOYING_SETTINGS = ("loadBalancers", "networkConfiguration", "serviceConnectConfiguration")


def _primary(description: dict[str, Any]) -> dict[str, Any]:
    deployments = description.get("deployments") or []
    primary = next((d for d in deployments if d.get("status") == "PRIMARY"), None)
    return dict(primary or (deployments[0] if deployments else {}))


def _live_service_connect(description: dict[str, Any], wanted: Any) -> dict[str, Any]:
    """The live Service Connect configuration, as CreateService takes it. DescribeServices has
    none at the service's top level: the Service shape declares no serviceConnectConfiguration,
    each Deployment does, "the Service Connect configuration that's used by this deployment"
    (ECS API reference, Deployment; botocore's ecs service model): the PRIMARY one is what the
    service runs. Absent, Service Connect is off. ECS's defaults are applied as
    ServiceConnectService documents them: discoveryName "isn't specified, the port mapping name
    ... is used"; dnsName "isn't specified, the default value of discoveryName.namespace is used".
    DescribeServices returned the namespace's ARN even when it was given by name, and returns the
    name since 2024 (kayac/ecspresso#745, #759): an ARN is taken as the namespace named."""
    live = _primary(description).get("serviceConnectConfiguration")
    if not live:
        return {"enabled": False}
    config = dict(live)
    namespace = str(config.get("namespace") or "")
    wanted_namespace = wanted.get("namespace") if isinstance(wanted, dict) else None
    if namespace.startswith("arn:") and wanted_namespace and wanted_namespace[:4] != "arn:":
        config["namespace"] = wanted_namespace
    services = []
    for given in config.get("services") or []:
        service = dict(given)
        service.setdefault("discoveryName", service.get("portName"))
        aliases = service.get("clientAliases") or []
        default = f"{service['discoveryName']}.{config.get('namespace')}"
        service["clientAliases"] = [{"dnsName": default, **alias} for alias in aliases]
        services.append(service)
    config["services"] = services
    return config


def live_settings(live: LiveService, wanted: dict[str, Any]) -> dict[str, Any]:
    """The live service's settings where CreateService/UpdateService take them."""
    view = dict(live.description)
    if "serviceConnectConfiguration" in wanted:
        view["serviceConnectConfiguration"] = _live_service_connect(
            live.description, wanted["serviceConnectConfiguration"]
        )
    # A strategy, alarms or hooks the spec dropped: the live configuration does not hold the
    # rendered one (chalicelib.rendering.strategies.left_behind).
    if "deploymentConfiguration" in wanted and left_behind(
        view.get("deploymentConfiguration"), wanted["deploymentConfiguration"]
    ):
        view["deploymentConfiguration"] = None
    if "loadBalancers" in wanted and advanced_left_behind(
        view.get("loadBalancers"), wanted["loadBalancers"]
    ):
        view["loadBalancers"] = None
    return view


def owned_settings(settings: dict[str, Any], *, desired_count_changed: bool) -> dict[str, Any]:
    """The settings Berth compares and sends. `desiredCount` only when the spec's own value
    changed: the live count may be Application Auto Scaling's, which a deploy must not reset
    (as fabfuel's ecs-deploy and the aws-actions ECS action leave it out of deploys)."""
    if desired_count_changed:
        return dict(settings)
    return {k: v for k, v in settings.items() if k != "desiredCount"}


def service_update(settings: dict[str, Any], live: LiveService) -> dict[str, Any]:
    """What UpdateService needs to send: every owned setting, except those that would start a
    deployment of their own while they already hold on the live service."""
    view = live_settings(live, settings)
    update = {
        key: value
        for key, value in settings.items()
        if key not in REDEPLOYING_SETTINGS or not covers(view.get(key), value)
    }
    if "deploymentConfiguration" in update:
        reset = left_behind(
            live.description.get("deploymentConfiguration"), update["deploymentConfiguration"]
        )
        update["deploymentConfiguration"] = {**update["deploymentConfiguration"], **reset}
    return update


def ownership_problem(
    live: LiveService,
    environment: str,
    adoptable: frozenset[str] = frozenset(),
    stage: str | None = None,
) -> str | None:
    """Why Berth must not touch a live service: it did not create it for this environment (its
    CreateService tags the service berth:environment), so it is another team's or another
    environment's, whatever a spec says. An untagged service the operator lists for the
    environment's adoption (`adoptable`: `cluster/service` names, the environments file's
    `adopt`) may be taken over; a service tagged for another environment never is. With the
    stage known, the service must also be tagged berth:stage for it: two stages may bind the
    same cluster and environment, and one must never change or retire what the other deploys
    (the stage's IAM policy conditions UpdateService and DeleteService on the same tag)."""
    owner = live.tags.get(ENVIRONMENT_TAG)
    name = live.arn.rsplit(":service/", 1)[-1]
    if owner == environment:
        return _stage_problem(live, name, stage)
    if owner is None and name in adoptable:
        return None
    if owner is None:
        return (
            f"the live service {name} was not created by Berth (no {ENVIRONMENT_TAG} tag), and "
            "Berth changes only services it created; choose another name, or tag the service "
            f"{ENVIRONMENT_TAG}={environment} to hand it over"
        )
    return (
        f"the live service {name} belongs to environment {owner} ({ENVIRONMENT_TAG}); a "
        f"{environment} spec cannot change it"
    )


def _stage_problem(live: LiveService, name: str, stage: str | None) -> str | None:
    owner = live.tags.get(STAGE_TAG)
    if stage is None or owner == stage:
        return None
    if owner is None:
        return (
            f"the live service {name} has no {STAGE_TAG} tag, and Berth's stage {stage} changes "
            "only services it created; tag the service "
            f"{STAGE_TAG}={stage} to hand it over to this stage"
        )
    return (
        f"the live service {name} belongs to Berth's stage {owner} ({STAGE_TAG}); stage "
        f"{stage} cannot change or retire it"
    )


def adoption_tags(
    live: LiveService | None, environment: str, name: str, stage: str | None
) -> dict[str, str]:
    """The ownership tags an adopted service (one `ownership_problem` let through without
    Berth's tags) still lacks; empty for a service Berth created."""
    if live is None:
        return {}
    wanted = {ENVIRONMENT_TAG: environment, SERVICE_TAG: name}
    if stage is not None:
        wanted[STAGE_TAG] = stage
    return {k: v for k, v in wanted.items() if live.tags.get(k) != v}


def classify_change(
    *,
    environment: str,
    rendered: dict[str, Any],
    settings: dict[str, Any],
    launch_type: str,
    live: LiveService | None,
    live_task_definition: dict[str, Any] | None,
    adoptable: frozenset[str] = frozenset(),
    stage: str | None = None,
) -> ServiceChange:
    """Compare what Berth renders for a service with what ECS runs (`settings`: the owned ones;
    `adoptable`: the untagged services the environment may take over)."""
    if live is None:
        return ServiceChange("create", "the service does not exist yet")
    owned = ownership_problem(live, environment, adoptable, stage)
    if owned is not None:
        return ServiceChange("refuse", owned, "cluster")
    if live.launch_type and live.launch_type != launch_type:
        # UpdateService cannot change a service's launch type (ECS API reference, UpdateService:
        # the launch type is fixed at CreateService).
        return ServiceChange(
            "refuse",
            f"the live service runs on {live.launch_type} and ECS cannot move a service to "
            f"{launch_type} in place; keep launchType {live.launch_type}, or delete the "
            "service first",
            "launchType",
        )
    if live_task_definition is None or not same_task_definition(live_task_definition, rendered):
        return ServiceChange("revision", "the task definition differs from the live one")
    if not covers(live_settings(live, settings), settings):
        return ServiceChange("settings", "service settings differ from the live service")
    return ServiceChange("none", "the live service already runs what the spec renders")
