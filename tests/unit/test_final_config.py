"""Issue 31, proof without a Docker engine: every example's WSO2 containers, started as ECS would
start them, end in the deployment.toml WSO2's own charts render.

For each example and WSO2 service, the task definition Berth renders gives the container its
environment and secrets (secrets as `secret-<NAME>`, so the final file shows which secret fed
which key); Berth's real entrypoint runs under bash in a fake WSO2 home whose docker-entrypoint.sh
copies the config volume over the product home as WSO2's does (wso2/docker-apim v4.7.0.1,
dockerfiles/ubuntu/apim/docker-entrypoint.sh: `cp -RL ${config_volume}/* ${WSO2_SERVER_HOME}/`),
and whose server script prints the final configuration with every $env{} resolved the way WSO2's
config mapper resolves it (stopping on an undefined one: wso2/config-mapper ReferenceResolver).

The sections compared are helm's equivalents, each with its source lines: keys whose value is
WSO2's fixed choice must equal helm's, keys that differ per environment must be set, and keys
that are passwords must come from a secret. tests/golden/final-config/ keeps each final section
beside its helm source; regenerate with BERTH_UPDATE_GOLDEN=1 after a deliberate change.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest

from chalicelib.rendering.images import ImageRef
from chalicelib.rendering.task_definition import render_task_definition
from chalicelib.spec.parse import load_spec_file
from chalicelib.wso2.presets import PRESETS
from tests.conftest import EXAMPLE_SPECS, ROOT
from tests.unit.test_wso2_config import BASH, DRIVER_DIRS, DRIVER_JARS, JKS, KEY

GOLDEN = ROOT / "tests" / "golden" / "final-config"
DOCKER = ROOT / "docker"
DIGEST = "sha256:" + "ab" * 32
VARIES = "<per environment>"  # set from the spec: present and non-empty
SECRET = "<a secret>"  # fed by the container's secrets, never a plain value

HELM_APIM = "wso2/helm-apim all-in-one-4.7.0-1 all-in-one/confs/instance-1/deployment.toml"
HELM_APIM_VALUES = "wso2/helm-apim all-in-one-4.7.0-1 all-in-one/default_values.yaml"
HELM_MI = "wso2/helm-mi 4.4.x mi/confs/deployment.toml"
POOL = {
    "defaultAutoCommit": "true",
    "testOnBorrow": "true",
    "testWhileIdle": "true",
    "validationInterval": "30000",
    "maxActive": "100",
    "maxWait": "60000",
    "minIdle": "5",
}
DATABASE = {"type": VARIES, "url": VARIES, "username": VARIES, "password": SECRET, "driver": VARIES}

# Section -> (helm's source lines, what helm renders there: a value, VARIES or SECRET).
APIM: dict[str, tuple[str, dict[str, Any]]] = {
    "server": (f"{HELM_APIM}:1-7", {
        "hostname": VARIES, "node_ip": VARIES, "server_role": "default",
        "base_path": "${carbon.protocol}://${carbon.host}:${carbon.management.port}",
    }),
    "super_admin": (f"{HELM_APIM}:15-24", {
        "username": "admin", "password": SECRET, "create_admin_account": True,
    }),
    "database.apim_db": (f"{HELM_APIM}:26-37", DATABASE),
    "database.apim_db.pool_options": (f"{HELM_APIM}:39-42; {HELM_APIM_VALUES}:351-358", POOL),
    "database.shared_db": (f"{HELM_APIM}:44-55", DATABASE),
    "database.shared_db.pool_options": (f"{HELM_APIM}:57-60; {HELM_APIM_VALUES}:367-374", POOL),
    "keystore.primary": (f"{HELM_APIM}:73-89; {HELM_APIM_VALUES}:402-413", {
        "type": "JKS", "file_name": "wso2carbon.jks", "alias": "wso2carbon",
        "password": SECRET, "key_password": SECRET,
    }),
    "truststore": (f"{HELM_APIM}:123-134", {
        "type": "JKS", "file_name": "client-truststore.jks", "password": SECRET,
    }),
    "transport.https.properties": (f"{HELM_APIM}:251-253", {"proxyPort": 443}),
    "system.parameter": (f"{HELM_APIM}:542-543; {HELM_APIM_VALUES}:322", {
        "org.wso2.CipherTransformation": "AES/GCM/NoPadding",
    }),
    "encryption": (f"{HELM_APIM}:545-563; {HELM_APIM_VALUES}:324", {
        "internal_crypto_provider":
            "org.wso2.carbon.crypto.provider.SymmetricKeyInternalCryptoProvider",
        "key": SECRET,
    }),
    "database.local": (f"{HELM_APIM}:578-580 (persistence.solrIndexing)", {
        "url": "jdbc:h2:/home/wso2carbon/solr/database/WSO2CARBON_DB;DB_CLOSE_ON_EXIT=FALSE",
    }),
    "indexing": (f"{HELM_APIM}:582-583 (persistence.solrIndexing)", {
        "location": "/home/wso2carbon/solr/indexed-data",
    }),
}  # fmt: skip
MI: dict[str, tuple[str, dict[str, Any]]] = {
    "server": (f"{HELM_MI}:1-3", {"hostname": VARIES}),
    "internal_apis.file_user_store": (f"{HELM_MI}:5-6", {"enable": True}),
    "keystore.primary": (f"{HELM_MI}:127-136", {
        "file_name": "repository/resources/security/wso2carbon.jks", "alias": "wso2carbon",
        "password": SECRET, "key_password": SECRET,
    }),
    "truststore": (f"{HELM_MI}:149-158", {
        "file_name": "repository/resources/security/client-truststore.jks", "password": SECRET,
        "alias": "symmetric.key.value", "algorithm": "AES",
    }),
    "service_catalog": (f"{HELM_MI}:279-288", {
        "apim_host": VARIES, "enable": True, "username": VARIES, "password": SECRET,
    }),
}  # fmt: skip
# Only when the example asks for MI coordination (MI_COORDINATION_DB_URL).
MI_COORDINATION: dict[str, tuple[str, dict[str, Any]]] = {
    "datasource": (f"{HELM_MI}:179-196", {
        "id": "WSO2_COORDINATION_DB", "url": VARIES, "username": VARIES, "password": SECRET,
        "driver": VARIES,
    }),
    "cluster_config": (f"{HELM_MI}:197-199", {"node_id": VARIES}),
}  # fmt: skip
# What Berth sets beyond helm's file, and where WSO2 says so.
BERTH_ONLY = {
    "wso2mi": {
        "server.hot_deployment": (
            False, "apim.docs.wso2.com/en/4.0.0/integrate/develop/hot-deployment/ (WSO2's MI "
            "Docker image disables it)",
        ),
    },
}  # fmt: skip

# The stand-in for WSO2's docker-entrypoint.sh: copy the overlay, start the server script.
FAKE_ENTRYPOINT = """#!/bin/bash
set -e
cp -RL "$WORKING_DIRECTORY/wso2-config-volume/"* "$WSO2_SERVER_HOME/"
exec "$WSO2_SERVER_HOME/bin/server.sh" "$@"
"""
# The stand-in for the server: the config mapper's $env{} resolution, then print the file.
FAKE_SERVER = """#!/usr/bin/env python3
import os, re, sys
path = os.path.join(os.environ["WSO2_SERVER_HOME"], sys.argv[1])
text = open(path).read()
def value(match):
    name = match.group(1)
    if name not in os.environ:
        sys.exit(f"Environment variable {name} not defined in system")
    return os.environ[name]
print(re.sub(r"\\$env\\{([A-Za-z0-9_]+)\\}", value, text), end="")
"""
CONFIG = {"wso2am": "repository/conf/deployment.toml", "wso2mi": "conf/deployment.toml"}
FOLDER = {"wso2am": "apim", "wso2mi": "mi"}


def containers() -> list[tuple[str, str, str, dict[str, Any]]]:
    """(example file, service, product, rendered product container) for every WSO2 service."""
    found = []
    for path in EXAMPLE_SPECS:
        spec = load_spec_file(str(path))
        for name, svc in spec.services.items():
            if svc.product not in CONFIG:
                continue
            task = render_task_definition(
                spec, name, ImageRef(svc.image.repository, DIGEST, "1"), "123456789012",
                "us-east-1",
            )  # fmt: skip
            [container] = [c for c in task["containerDefinitions"] if c["name"] == name]
            found.append((path.name, name, svc.product, container))
    return found


def secret_value(name: str) -> str:
    if name.endswith("_B64"):
        return JKS
    return KEY if name == "WSO2_ENCRYPTION_KEY" else f"secret-{name}"


def final_config(tmp_path: Path, product: str, container: dict[str, Any]) -> dict[str, Any]:
    """Start the image's entrypoint with the container's variables; the file WSO2 would read."""
    home = tmp_path / "home"
    server = home / PRESETS[product].home.rsplit("/", 1)[1]
    (server / "bin").mkdir(parents=True)
    (server / DRIVER_DIRS[FOLDER[product]]).mkdir(parents=True)
    for jar in DRIVER_JARS:
        (server / DRIVER_DIRS[FOLDER[product]] / jar).write_bytes(b"PK")
    (server / "repository" / "resources" / "security").mkdir(parents=True)
    for name, text in (("docker-entrypoint.sh", FAKE_ENTRYPOINT), ("bin/server.sh", FAKE_SERVER)):
        target = home / name if name.endswith("entrypoint.sh") else server / name
        target.write_text(text)
        target.chmod(0o755)
    shutil.copytree(DOCKER / FOLDER[product] / "config", home / "wso2-config-volume")
    for extra in ("coordination.toml", "dashboard.toml", "ha.toml"):
        if (DOCKER / FOLDER[product] / extra).exists():
            shutil.copy(DOCKER / FOLDER[product] / extra, home / f"berth-{extra}")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "WORKING_DIRECTORY": str(home),
        "WSO2_SERVER_HOME": str(server),
        "HOSTNAME": "ip-10-0-1-23.ec2.internal",
        **{e["name"]: e["value"] for e in container.get("environment", [])},
        **{s["name"]: secret_value(s["name"]) for s in container.get("secrets", [])},
    }
    result = subprocess.run(
        [BASH, str(DOCKER / FOLDER[product] / "berth-entrypoint.sh"), CONFIG[product]],
        env=env, capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    data: dict[str, Any] = tomllib.loads(result.stdout)
    return data


def section(data: dict[str, Any], path: str) -> Any:
    node: Any = data
    for part in path.split("."):
        node = node[0] if isinstance(node, list) else node
        assert part in node, f"no [{path}] in the final configuration"
        node = node[part]
    return node[0] if isinstance(node, list) else node


def compared(product: str, data: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    if product == "wso2am":
        return APIM
    return MI | (MI_COORDINATION if "datasource" in data else {})


CASES = [(example, name) for example, name, _, _ in containers()]


@pytest.mark.parametrize(("example", "service"), CASES, ids=[f"{e}-{s}" for e, s in CASES])
def test_every_examples_final_configuration_is_helms(tmp_path, example, service):
    [(product, container)] = [(p, c) for e, n, p, c in containers() if (e, n) == (example, service)]
    data = final_config(tmp_path, product, container)
    fed = {secret_value(s["name"]) for s in container.get("secrets", [])}
    golden: dict[str, Any] = {"example": f"examples/{example}", "service": service,
                              "product": product, "sections": {}}  # fmt: skip
    for path, (source, helm) in compared(product, data).items():
        final = section(data, path)
        for key, expected in helm.items():
            assert key in final, f"[{path}] {key}: helm sets it ({source}), Berth does not"
            if expected == SECRET:
                assert final[key] in fed, f"[{path}] {key}: not from the container's secrets"
            elif expected == VARIES:
                assert final[key] not in ("", None), f"[{path}] {key} is empty"
            else:
                assert final[key] == expected, f"[{path}] {key}: helm renders {expected!r}"
        golden["sections"][path] = {"helm": source, "berth": final}
    for path, (expected, source) in BERTH_ONLY.get(product, {}).items():
        assert section(data, path.rsplit(".", 1)[0])[path.rsplit(".", 1)[1]] == expected
        golden["sections"][path] = {"source": source, "berth": expected}
    text = json.dumps(golden, indent=2, sort_keys=True) + "\n"
    file = GOLDEN / f"{Path(example).stem}.{service}.json"
    if os.environ.get("BERTH_UPDATE_GOLDEN"):
        GOLDEN.mkdir(exist_ok=True)
        file.write_text(text)
    assert file.read_text() == text


def test_every_wso2_service_of_every_example_is_proven():
    assert len(CASES) == sum(
        1 for path in EXAMPLE_SPECS
        for svc in load_spec_file(str(path)).services.values() if svc.product in CONFIG
    )  # fmt: skip
    assert sorted(p.name for p in GOLDEN.glob("*.json")) == sorted(
        f"{Path(e).stem}.{s}.json" for e, s in CASES
    )


def test_an_undefined_variable_stops_the_stand_in_as_it_stops_wso2(tmp_path):
    """The stand-in is as strict as the config mapper: a $env{} nobody set ends the start."""
    [(_, _, product, container)] = containers()[:1]
    container = dict(container)
    container["environment"] = [
        e for e in container.get("environment", []) if e["name"] != "APIM_HOSTNAME"
    ]
    with pytest.raises(AssertionError, match="required variables not set: APIM_HOSTNAME"):
        final_config(tmp_path, product, container)
