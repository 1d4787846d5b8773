"""Real keystores outside development: the stores shipped in every WSO2 image are public.

Every WSO2 product ships `wso2carbon.jks`, "used as the default keystore for all functions",
and WSO2 recommends new keystores with new keys in production (APIM 4.7 docs, "Configuring
Keystores in WSO2 API Manager"); its password is `wso2carbon` and its certificate is for
localhost (docs/wso2.md, "Keystores"; helm-apim mounts real stores from a secret instead,
`jksSecretName`). The primary keystore signs what APIM exposes, JWT access tokens among them
(the same page), so with the shipped store anyone can sign tokens the gateway accepts.

The operator says per environment whether the default stores are allowed (`defaultKeystores`
in the stage's environments file, development environments only); elsewhere a WSO2 service must
bring its own keystore and truststore (its secrets, or its keystore-init sidecar's, with
their passwords: contract.py checks those). EI 6.6's image has no such contract (docker/ei), so
it runs on the default store and is refused there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.spec.fence import declared_in
from chalicelib.spec.located import Path
from chalicelib.spec.rules.contract import CONTRACTS

if TYPE_CHECKING:
    from chalicelib.spec.fence import StageFence
    from chalicelib.spec.model import Service, Spec

Problems = list[tuple[Path, str]]
STORES = ("BERTH_KEYSTORE_B64", "BERTH_TRUSTSTORE_B64")
# What else an image without Berth's configuration runs with, said where it is refused. EI 6.6's
# image gets no overlay (docker/ei/Dockerfile; WSO2's integrator image, wso2/docker-ei branch
# 6.6.x dockerfiles/ubuntu/integrator/, ships the product's own conf/ unchanged).
NO_OVERLAY = {
    "wso2ei": (
        ". EI 6.6 as Berth builds it runs WSO2's defaults throughout: admin/admin, its embedded H2 "
        "databases and localhost as its host name (Berth adds no configuration to its image)"
    ),
}


def _given(svc: Service, store: str) -> bool:
    return store in svc.secrets or any(
        c.preset == "keystore-init" and store in c.secrets for c in svc.containers.values()
    )


def keystore_problems(spec: Spec, fence: StageFence) -> Problems:
    """Each WSO2 service that would run on the image's public stores where the environment
    does not allow them."""
    env = spec.environment
    if not fence.default_keystores or fence.default_keystores.get(env, False):
        return []
    where = declared_in("defaultKeystores", env, fence.stage)
    why = (
        f"environment {env} does not allow the image's default keystore ({where}): its "
        "private key ships with every WSO2 image, so anyone could sign tokens this service "
        "accepts"
    )
    problems: Problems = []
    for name, svc in spec.services.items():
        at: Path = ("services", name)
        contract = CONTRACTS.get(svc.product)
        if contract is None:
            continue
        if not all(contract.get(store) for store in STORES):
            problems.append(((*at, "product"), (
                f"{why}; {contract.product}'s image takes no keystore of its own "
                f"({contract.manifest}): deploy it only to an environment whose "
                "defaultKeystores is true"
                + NO_OVERLAY.get(svc.product, "")
            )))  # fmt: skip
            continue
        missing = [store for store in STORES if not _given(svc, store)]
        if missing:
            problems.append(((*at, "secrets"), (
                f"{why}. Fix: give {' and '.join(missing)} (with KEYSTORE_PASSWORD and "
                f"TRUSTSTORE_PASSWORD) under services.{name}.secrets or a keystore-init "
                f"sidecar's secrets (see {contract.manifest})"
            )))  # fmt: skip
    return problems
