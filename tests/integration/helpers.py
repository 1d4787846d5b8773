"""Steps the integration tests share: what a user does, against the sandbox."""

from __future__ import annotations

from typing import Any

from berth.sandbox.sandbox import Sandbox, example_spec
from chalicelib import handlers


def deploy_example(sandbox: Sandbox, ei: str = "4.4.0-1", apim: str = "4.7.0-1") -> None:
    """Push the first images, upload the dev example spec, let the rollouts finish."""
    sandbox.push("wso2mi", ei)
    sandbox.push("wso2am", apim)
    sandbox.upload_spec(sandbox.adapt_spec(example_spec()))
    sandbox.run_until_idle()


def statuses(sandbox: Sandbox) -> list[tuple[str | None, str]]:
    sandbox.collect_notifications()
    return [(n.document["service"], n.document["status"]) for n in sandbox.notifications]


def outcomes(sandbox: Sandbox, function: str, since: int = 0) -> list[dict[str, Any]]:
    return [
        o
        for d in sandbox.deliveries[since:]
        if d.function == function
        for o in (d.result or {}).get("outcomes", [])
    ]


def live_image(sandbox: Sandbox, service: str, cluster: str = "wso2-dev") -> str:
    ecs = sandbox.client("ecs")
    arn = ecs.describe_services(cluster=cluster, services=[service])["services"][0][
        "taskDefinition"
    ]
    return str(
        ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]["containerDefinitions"][
            0
        ]["image"]
    )


def history(service: str, environment: str = "dev") -> list[Any]:
    return handlers.berth().store.history(environment, service)
