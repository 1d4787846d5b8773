"""APIM's host names and URLs as helm-apim renders them (issue 31): distinct management and
gateway hosts outside development, the Developer Portal's URL, both proxy ports, and WebSocket and
WebSub hosts (wso2/helm-apim all-in-one-4.7.0-1, all-in-one/confs/instance-1/deployment.toml and
default_values.yaml)."""

from __future__ import annotations

import json
from typing import Any

import yaml

from chalicelib.errors import SpecError
from chalicelib.spec.fence import FenceVariables
from chalicelib.spec.parse import parse_spec
from tests.conftest import EXAMPLES
from tests.unit.test_wso2_config import (
    SAMPLES,
    _env,
    _required,
    rendered,
    run,
    started_env,
    wso2,  # noqa: F401  (the fixture)
)

CONFIG = "config/repository/conf/deployment.toml"
FENCE = FenceVariables(default_keystores="dev=true;prod=false").fence()
WHY = (
    "environment prod is not a development environment "
    "(environments.prod.defaultKeystores in chalicelib/environments/<stage>.yaml), "
    "where the gateway has its own public host beside the management host, as helm-apim's "
    "gateway and management ingresses (gw.wso2.com, am.wso2.com)"
)


def test_portal_urls_and_proxy_ports_are_the_public_ones():
    """helm-apim instance-1: [apim.devportal] url = "https://<management host>/devportal",
    [transport.http] proxyPort = 80, [transport.https] proxyPort = 443."""
    data = rendered("apim", CONFIG)
    assert data["apim"]["devportal"]["url"] == f"https://{SAMPLES['APIM_HOSTNAME']}/devportal"
    assert data["transport"]["http"]["properties"]["proxyPort"] == 80
    assert data["transport"]["https"]["properties"]["proxyPort"] == 443


def test_websocket_and_websub_have_their_own_hosts():
    """helm-apim's gateway environment: ws/wss on wsHostname, websub on websubHostname."""
    [gateway] = rendered("apim", CONFIG)["apim"]["gateway"]["environment"]
    ws, websub = SAMPLES["APIM_WEBSOCKET_HOSTNAME"], SAMPLES["APIM_WEBSUB_HOSTNAME"]
    assert (gateway["ws_endpoint"], gateway["wss_endpoint"]) == (
        f"ws://{ws}:9099", f"wss://{ws}:8099",
    )  # fmt: skip
    assert (
        gateway["websub_event_receiver_http_endpoint"],
        gateway["websub_event_receiver_https_endpoint"],
    ) == (f"http://{websub}:9021", f"https://{websub}:8021")
    assert gateway["https_endpoint"] == f"https://{SAMPLES['APIM_GATEWAY_HOSTNAME']}"


def test_websocket_and_websub_default_to_the_gateway_host(wso2):  # noqa: F811
    home = wso2("apim")
    values = _required("apim") | {"APIM_GATEWAY_HOSTNAME": "gw.example.com"}
    assert run("apim", _env(home, "apim", **values)).returncode == 0
    seen = started_env(home)
    assert (seen["APIM_WEBSOCKET_HOSTNAME"], seen["APIM_WEBSUB_HOSTNAME"]) == (
        "gw.example.com", "gw.example.com",
    )  # fmt: skip


# ---- distinct hosts outside development ------------------------------------------------------


def _prod() -> dict[str, Any]:
    document: dict[str, Any] = json.loads((EXAMPLES / "wso2-prod.json").read_text())
    return document


def _problems(document: dict[str, Any], environment: str = "prod") -> list[str]:
    document["environment"] = environment
    text = yaml.safe_dump(document, sort_keys=False)
    try:
        parse_spec(text.encode(), "s.yaml", FENCE)
    except SpecError as exc:
        return [str(p) for p in exc.problems if "HOSTNAME" in str(p)]
    return []


def _line(document: dict[str, Any], needle: str) -> int:
    text = yaml.safe_dump(document, sort_keys=False)
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_a_prod_gateway_without_its_own_host_is_refused_with_the_fix():
    document = _prod()
    del document["services"]["apim"]["environment"]["APIM_GATEWAY_HOSTNAME"]
    line = _line(document, "    environment:")
    assert _problems(document) == [
        f"s.yaml:{line}:5: services.apim.environment: APIM_GATEWAY_HOSTNAME is missing: {WHY}. "
        "Fix: add APIM_GATEWAY_HOSTNAME under environment, the host API consumers call (not "
        "api.example.com, the portals' host)"
    ]


def test_a_prod_gateway_on_the_management_host_is_refused():
    document = _prod()
    document["services"]["apim"]["environment"]["APIM_GATEWAY_HOSTNAME"] = "API.example.com"
    line = _line(document, "APIM_GATEWAY_HOSTNAME")
    assert _problems(document) == [
        f"s.yaml:{line}:7: services.apim.environment.APIM_GATEWAY_HOSTNAME: API.example.com is "
        f"also APIM_HOSTNAME: {WHY}. Fix: give the gateway a host of its own, served by the "
        "gateway's target group (8243)"
    ]


def test_development_may_keep_one_host_and_the_prod_examples_have_two():
    document = _prod()
    del document["services"]["apim"]["environment"]["APIM_GATEWAY_HOSTNAME"]
    assert _problems(document, environment="dev") == []
    assert _problems(_prod()) == []
    ha = yaml.safe_load((EXAMPLES / "wso2-prod-ha.yaml").read_text())
    assert _problems(ha) == []
