"""Whether an invocation of Berth's verification hook is one Berth is waiting for.

Anyone allowed lambda:InvokeFunction on the hook can invoke it with any payload, and the
payload's hookDetails say which secret to read and where to send it. So before it reads a
secret or calls anything, the hook proves the invocation against what Berth itself decided:

- the stage is the one Berth registers the hook for (rendering/strategies.py, VERIFY_STAGE);
- the service it names is the one of Berth's deployment record in progress for the
  environment and service hookDetails name (the record Berth wrote when it called UpdateService
  or CreateService, with the service ARN ECS returned);
- the target service revision is a revision of that same service (ECS developer guide,
  "Lifecycle hooks for Amazon ECS service deployments": `targetServiceRevisionArn`,
  arn:aws:ecs:<region>:<account>:service-revision/<cluster>/<service>/<id>);
- what hookDetails ask for is what the stage's fence allows today: the test URL is a declared
  test listener of the environment, outside the hook's own network, and the smoke header's
  secret is one of the environment's (the same rules as a spec's, chalicelib/spec/rules).

Pure: the flow reads the record and passes it in.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from chalicelib.spec.fence import StageFence, origin
from chalicelib.spec.rules.fence import secret_problems
from chalicelib.spec.rules.verify_endpoints import host_problem
from chalicelib.values.records import DeploymentRecord


def _service_of(arn: str, kind: str) -> str | None:
    """`<cluster>/<service>` of an ECS service (kind "service") or service revision ARN."""
    _, _, resource = arn.partition(":" + kind + "/")
    if not resource:
        return None
    parts = resource.split("/")
    return "/".join(parts[:2]) if len(parts) >= 2 else None


def invocation_refusal(
    *,
    stage: str,
    expected_stage: str,
    service_arn: str,
    revision_arn: str,
    details: dict[str, Any],
    record: DeploymentRecord | None,
    fence: StageFence | None,
) -> str | None:
    """Why the hook must answer FAILED without doing anything, or None to go on."""
    environment, service = details.get("environment"), details.get("service")
    if stage != expected_stage:
        return f"invoked at {stage}: Berth registers its hook for {expected_stage} only"
    if record is None or record.status != "IN_PROGRESS":
        return f"no deployment of {environment}/{service} by Berth is in progress"
    if record.ecs_service_arn != service_arn:
        return (
            f"the invocation names {service_arn}; Berth's deployment of {environment}/{service} "
            f"in progress is of {record.ecs_service_arn or 'a service not started yet'}"
        )
    if _service_of(revision_arn, "service-revision") != _service_of(service_arn, "service"):
        return f"target revision {revision_arn or '(none)'} is not a revision of {service_arn}"
    return _fence_refusal(details, str(environment), fence)


def _fence_refusal(
    details: dict[str, Any], environment: str, fence: StageFence | None
) -> str | None:
    url = str(details.get("testUrl") or "")
    if url:
        problem = host_problem(urlsplit(url).hostname or "")
        if problem is not None:
            return f"testUrl: {problem}"
        declared = fence.test_listeners.get(environment, frozenset()) if fence else frozenset()
        if fence is not None and origin(url) not in declared:
            return f"testUrl {url} is not a declared test listener of environment {environment}"
    smoke = details.get("smoke")
    header = smoke.get("header") if isinstance(smoke, dict) else None
    if fence is not None and isinstance(header, dict) and header.get("secret"):
        found = secret_problems(("smoke",), str(header["secret"]), fence, environment)
        if found:
            return f"smoke header secret: {found[0][1]}"
    return None
