"""Issue 31: APIM's search index is persisted with the local H2 database WSO2 lists beside it,
one volume at /home/wso2carbon/solr (helm-apim's layout); a mount where the image no longer keeps
them is refused where it is written."""

from __future__ import annotations

from typing import Any

import yaml

from chalicelib.errors import SpecError
from chalicelib.spec.parse import parse_spec
from tests.unit.test_containers import example


def problems(document: dict[str, Any]) -> list[str]:
    try:
        parse_spec(yaml.safe_dump(document).encode(), "s.yaml")
    except SpecError as exc:
        return [f"{p.path}: {p.reason}" for p in exc.problems]
    return []


def test_the_example_mounts_one_volume_for_index_and_local_database():
    document = example()
    assert document["services"]["apim"]["mountPoints"] == [
        {"volume": "solr", "path": "/home/wso2carbon/solr"}
    ]
    assert problems(document) == []


def test_a_mount_where_the_stock_file_kept_the_index_is_refused_with_the_fix():
    for old in ("solr/data", "repository/database", "solr"):
        document = example()
        path = f"/home/wso2carbon/wso2am-4.7.0/{old}"
        document["services"]["apim"]["mountPoints"] = [{"volume": "solr", "path": path}]
        assert problems(document) == [
            f"services.apim.mountPoints[0].path: {path} holds nothing Berth's wso2am image "
            "writes: it keeps the search index and the local H2 database indexing needs under "
            "/home/wso2carbon/solr (database/, indexed-data/), as helm-apim does when it persists "
            'indexing. Fix: mount volume solr at /home/wso2carbon/solr (docs/spec.md, "What to '
            'persist for WSO2 products")'
        ]
