"""APIM's two-node high availability in the image (issue 31): ha.toml and the entrypoint.

WSO2's all-in-one HA is two single-replica nodes with their own configuration (wso2/helm-apim
all-in-one-4.7.0-1, all-in-one/confs/instance-1/deployment.toml and instance-2/deployment.toml,
rendered only with `wso2.deployment.highAvailability`):

    [apim.throttling]
    event_duplicate_url = ["tcp://<release>-am-service-2:5672"]      # instance-2: am-service-1
    throttle_decision_endpoints = ["tcp://localhost:5672"]
    [[apim.throttling.url_group]]
    traffic_manager_urls = ["tcp://<release>-am-service-1:9611"]
    traffic_manager_auth_urls = ["ssl://<release>-am-service-1:9711"]
    type = "loadbalance"
    [[apim.throttling.url_group]]   # the same for am-service-2

Berth's image carries those sections as ha.toml, with the nodes' Service Connect names as $env{},
and appends it only on a node of a pair.
"""

from __future__ import annotations

import tomllib

import pytest

from tests.unit.test_wso2_config import (
    DOCKER,
    EX_CONFIG,
    PLACEHOLDER,
    _env,
    _required,
    rendered,
    run,
    started_env,
    wso2,  # noqa: F401  (the fixture)
)

CONFIG = "config/repository/conf/deployment.toml"


def _node(peer: str) -> dict[str, str]:
    return {
        "APIM_HA_PEER_HOST": peer,
        "APIM_HA_NODE_1_HOST": "apim-1",
        "APIM_HA_NODE_2_HOST": "apim-2",
    }


def test_ha_sections_are_helms_instance_sections():
    """Node 1 of the pair (peer apim-2) gets exactly helm's instance-1 throttling sections."""
    data = rendered("apim", CONFIG, "ha.toml")
    assert data["apim"]["throttling"] == {
        "event_duplicate_url": ["tcp://apim-2:5672"],
        "throttle_decision_endpoints": ["tcp://localhost:5672"],
        "url_group": [
            {
                "traffic_manager_urls": ["tcp://apim-1:9611"],
                "traffic_manager_auth_urls": ["ssl://apim-1:9711"],
                "type": "loadbalance",
            },
            {
                "traffic_manager_urls": ["tcp://apim-2:9611"],
                "traffic_manager_auth_urls": ["ssl://apim-2:9711"],
                "type": "loadbalance",
            },
        ],
    }


def test_single_node_config_has_no_throttling_peers():
    """Without HA the stock throttling defaults stay (helm renders none of it either)."""
    data = rendered("apim", CONFIG)
    assert "throttling" not in data["apim"]


def test_dockerfile_ships_the_ha_sections():
    text = (DOCKER / "apim" / "Dockerfile").read_text()
    assert "COPY --chown=wso2carbon:wso2 ha.toml /home/wso2carbon/berth-ha.toml" in text


@pytest.mark.parametrize("peer", ["apim-2", "apim-1"])
def test_each_node_names_its_peer_once(wso2, peer):  # noqa: F811
    """Each node's entrypoint appends ha.toml once (a restart does not add it again), and the
    config WSO2 reads names the other node as the event duplicate, as instance-1/2 do."""
    home = wso2("apim")
    overlay = home / "wso2-config-volume" / "repository" / "conf" / "deployment.toml"
    values = _required("apim") | _node(peer)
    for _ in range(2):
        result = run("apim", _env(home, "apim", **values))
        assert result.returncode == 0, result.stderr
    text = overlay.read_text()
    assert text.count("event_duplicate_url = ") == 1
    seen = started_env(home)
    data = tomllib.loads(PLACEHOLDER.sub(lambda m: seen[m.group(2)], text))
    assert data["apim"]["throttling"]["event_duplicate_url"] == [f"tcp://{peer}:5672"]
    groups = data["apim"]["throttling"]["url_group"]
    assert [g["traffic_manager_urls"] for g in groups] == [
        ["tcp://apim-1:9611"],
        ["tcp://apim-2:9611"],
    ]


def test_a_single_node_appends_nothing(wso2):  # noqa: F811
    home = wso2("apim")
    overlay = home / "wso2-config-volume" / "repository" / "conf" / "deployment.toml"
    before = overlay.read_text()
    assert run("apim", _env(home, "apim", **_required("apim"))).returncode == 0
    assert overlay.read_text() == before


def test_a_peer_without_the_node_names_is_refused(wso2):  # noqa: F811
    home = wso2("apim")
    values = _required("apim") | {"APIM_HA_PEER_HOST": "apim-2"}
    result = run("apim", _env(home, "apim", **values))
    assert result.returncode == EX_CONFIG
    assert "required variables not set: APIM_HA_NODE_1_HOST APIM_HA_NODE_2_HOST" in result.stderr
