"""EI 6.6: no silent acceptance of settings its image ignores.

Berth's wso2ei image adds no configuration to WSO2's (docker/ei/Dockerfile: EI 6.6 is configured
by its XML files, and docker/ei/config-contract.yaml lists no variable), so a variable a spec gives
an EI service would be believed and never read. The JVM variables WSO2's start scripts read are
not configuration and stay allowed (rules/interpreted.py checks them). Replicas are refused in
contract.py; outside development environments EI is refused altogether (keystores.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.spec.located import Path
from chalicelib.spec.rules.contract import CONTRACTS
from chalicelib.spec.rules.interpreted import JVM_VARIABLES

if TYPE_CHECKING:
    from chalicelib.spec.model import Spec

PRODUCT = "wso2ei"


def ei_problems(spec: Spec) -> list[tuple[Path, str]]:
    """Each variable an EI 6.6 service sets that its image never reads, where it is set."""
    manifest = CONTRACTS[PRODUCT].manifest
    problems: list[tuple[Path, str]] = []
    for name, svc in spec.services.items():
        if svc.product != PRODUCT:
            continue
        for kind, values in (("environment", svc.environment), ("secrets", svc.secrets)):
            for variable in sorted(set(values) - JVM_VARIABLES):
                problems.append((("services", name, kind, variable), (
                    f"{PRODUCT}'s image reads no {variable}: EI 6.6 is configured by its XML "
                    f"files and Berth's image adds no configuration ({manifest} lists nothing), "
                    f"so the value would be ignored. Remove it, or use Micro Integrator (wso2mi), "
                    f"whose image reads its configuration from the environment"
                )))  # fmt: skip
    return problems
