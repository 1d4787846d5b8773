"""Where APIM's image keeps what a volume may persist: the registry search index and the local H2
database it needs, both under /home/wso2carbon/solr (docker/apim/config/repository/conf/
deployment.toml, [database.local] and [indexing], helm-apim's persisted-indexing layout). A mount
at the product home's `solr` or `repository/database` (where the stock file keeps them) would
persist nothing the image writes, while the spec believes the index survives.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from chalicelib.spec.located import Path
from chalicelib.wso2.presets import PRESETS

if TYPE_CHECKING:
    from chalicelib.spec.model import Spec

PRODUCT: Final = "wso2am"
KEPT_AT = "/home/wso2carbon/solr"
MOVED = ("solr", "repository/database")


def persistence_problems(spec: Spec) -> list[tuple[Path, str]]:
    """Each APIM mount at a folder the image no longer keeps its index or local database in."""
    home = PRESETS[PRODUCT].home
    stale = [f"{home}/{folder}" for folder in MOVED]
    problems: list[tuple[Path, str]] = []
    for name, svc in spec.services.items():
        if svc.product != PRODUCT:
            continue
        for index, mount in enumerate(svc.mount_points):
            path = mount.path.rstrip("/")
            if any(path == old or path.startswith(f"{old}/") for old in stale):
                problems.append((("services", name, "mountPoints", index, "path"), (
                    f"{path} holds nothing Berth's {PRODUCT} image writes: it keeps the search "
                    f"index and the local H2 database indexing needs under {KEPT_AT} "
                    f"(database/, indexed-data/), as helm-apim does when it persists indexing. "
                    f"Fix: mount volume {mount.volume} at {KEPT_AT} (docs/spec.md, \"What to "
                    f"persist for WSO2 products\")"
                )))  # fmt: skip
    return problems
