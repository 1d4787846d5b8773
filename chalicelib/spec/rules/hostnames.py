"""Public host names outside development: APIM's management and gateway hosts are distinct, as
helm-apim's are (wso2/helm-apim all-in-one-4.7.0-1, all-in-one/default_values.yaml:
`kubernetes.ingress.management.hostname` "am.wso2.com" for the console, Publisher, Developer
Portal and Admin Portal; `kubernetes.ingress.gateway.hostname` "gw.wso2.com" for the gateway,
each its own ingress and TLS host; confs/instance-1/deployment.toml renders the first as
`[server] hostname` and `[apim.devportal] url`, the second as the gateway environment's
`http_endpoint`/`https_endpoint`).

Without APIM_GATEWAY_HOSTNAME Berth's image shows API consumers the management host as the
gateway's (docker/apim/config-contract.yaml): one host cannot route 443 to both the portals
(9443) and the gateway (8243) behind one load balancer listener. Development environments
(those that may run the images' default keystores, `defaultKeystores` in the environments
file) may keep one host; the others are refused with the fix.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.spec.fence import declared_in
from chalicelib.spec.located import Path

if TYPE_CHECKING:
    from chalicelib.spec.fence import StageFence
    from chalicelib.spec.model import Spec

Problems = list[tuple[Path, str]]
MANAGEMENT, GATEWAY = "APIM_HOSTNAME", "APIM_GATEWAY_HOSTNAME"


def hostname_problems(spec: Spec, fence: StageFence) -> Problems:
    """Each wso2am service of a non-development environment without its own gateway host."""
    env = spec.environment
    if not fence.default_keystores or fence.default_keystores.get(env, False):
        return []
    why = (
        f"environment {env} is not a development environment "
        f"({declared_in('defaultKeystores', env, fence.stage)}), where the gateway "
        "has its own public host beside the management host, as helm-apim's gateway and "
        "management ingresses (gw.wso2.com, am.wso2.com)"
    )
    problems: Problems = []
    for name, svc in spec.services.items():
        if svc.product != "wso2am" or MANAGEMENT not in svc.environment:
            continue
        at: Path = ("services", name, "environment")
        gateway = svc.environment.get(GATEWAY)
        if gateway is None:
            problems.append((at, (
                f"{GATEWAY} is missing: {why}. Fix: add {GATEWAY} under environment, the host "
                f"API consumers call (not {svc.environment[MANAGEMENT]}, the portals' host)"
            )))  # fmt: skip
        elif gateway.lower() == svc.environment[MANAGEMENT].lower():
            problems.append(((*at, GATEWAY), (
                f"{gateway} is also {MANAGEMENT}: {why}. Fix: give the gateway a host of its "
                "own, served by the gateway's target group (8243)"
            )))  # fmt: skip
    return problems
