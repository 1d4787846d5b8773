"""Issue 31: with real keystores, APIM must trust MI's certificate and MI APIM's (MI calls APIM's
service catalog; APIM's gateway calls the services MI registers). The entrypoints import the
peers' PEM certificates (BERTH_TRUSTED_CERTS_PEM) into the truststore at every start; run here
with the JDK's own keytool, as WSO2's images carry it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from chalicelib.errors import SpecError
from chalicelib.spec.parse import parse_spec
from tests.unit.test_containers import example
from tests.unit.test_wso2_config import (
    EX_CONFIG,
    IMAGES,
    _env,
    _required,
    run,
    wso2,  # noqa: F401  (the fixture)
)

KEYTOOL = shutil.which("keytool")
pytestmark = pytest.mark.skipif(KEYTOOL is None, reason="needs the JDK's keytool")
PASSWORD = "ts-s3cret"


def keytool(*args: str) -> str:
    assert KEYTOOL
    return subprocess.run(
        [KEYTOOL, *args], capture_output=True, text=True, check=True, timeout=60
    ).stdout


def certificate(tmp_path: Path, name: str) -> str:
    """A self-signed certificate for `name`, as PEM."""
    store = tmp_path / f"{name}.p12"
    keytool("-genkeypair", "-alias", name, "-keyalg", "RSA", "-keysize", "2048",
            "-dname", f"CN={name}", "-validity", "2", "-keystore", str(store),
            "-storetype", "PKCS12", "-storepass", "changeit")  # fmt: skip
    return keytool("-exportcert", "-rfc", "-alias", name, "-keystore", str(store),
                   "-storepass", "changeit")  # fmt: skip


def truststore(home: Path, name: str) -> Path:
    """The product's shipped truststore, as a store holding one unrelated entry."""
    security = home / IMAGES[name].server / "repository" / "resources" / "security"
    store = security / "client-truststore.jks"
    keytool("-genkeypair", "-alias", "shipped", "-keyalg", "RSA", "-dname", "CN=shipped",
            "-keystore", str(store), "-storetype", "JKS", "-storepass", PASSWORD,
            "-keypass", PASSWORD)  # fmt: skip
    return store


def aliases(store: Path) -> list[str]:
    listing = keytool("-list", "-keystore", str(store), "-storepass", PASSWORD)
    return sorted(line.split(",")[0] for line in listing.splitlines() if "Entry," in line)


@pytest.mark.parametrize("name", ["apim", "mi"])
def test_the_peers_certificates_are_trusted_at_every_start(tmp_path, wso2, name):  # noqa: F811
    home = wso2(name)
    store = truststore(home, name)
    pem = certificate(tmp_path, "mi") + certificate(tmp_path, "apim")
    values = _required(name) | {"TRUSTSTORE_PASSWORD": PASSWORD, "BERTH_TRUSTED_CERTS_PEM": pem}
    for _ in range(2):  # a restart replaces the aliases, never piles them up
        result = run(name, _env(home, name, **values))
        assert result.returncode == 0, result.stderr
        assert aliases(store) == ["berth-peer-1", "berth-peer-2", "shipped"]
    assert (
        f"berth-entrypoint: trusted 2 peer certificate(s) from BERTH_TRUSTED_CERTS_PEM in {store}"
        in result.stderr
    )


def test_something_that_is_not_a_certificate_stops_the_start(wso2):  # noqa: F811
    home = wso2("mi")
    truststore(home, "mi")
    values = _required("mi") | {"TRUSTSTORE_PASSWORD": PASSWORD,
                                "BERTH_TRUSTED_CERTS_PEM": "not a certificate"}  # fmt: skip
    result = run("mi", _env(home, "mi", **values))
    assert result.returncode == EX_CONFIG
    assert result.stderr == (
        "berth-entrypoint: BERTH_TRUSTED_CERTS_PEM holds no PEM certificate "
        "(-----BEGIN CERTIFICATE-----)\n"
    )


def test_a_keystore_init_truststore_cannot_take_the_import(tmp_path, wso2):  # noqa: F811
    home = wso2("apim")
    store = truststore(home, "apim")
    from_init = home / "wso2-config-volume" / "repository" / "resources" / "security"
    from_init.mkdir(parents=True)
    shutil.copy(store, from_init / "client-truststore.jks")
    values = _required("apim") | {"TRUSTSTORE_PASSWORD": PASSWORD,
                                  "BERTH_TRUSTED_CERTS_PEM": certificate(tmp_path, "mi")}  # fmt: skip
    result = run("apim", _env(home, "apim", **values))
    assert result.returncode == EX_CONFIG
    assert result.stderr == (
        "berth-entrypoint: BERTH_TRUSTED_CERTS_PEM cannot be imported: keystore-init's "
        f"client-truststore.jks replaces {store} when WSO2 starts; put the peers' certificates "
        "into the truststore you give keystore-init\n"
    )


def test_validation_refuses_the_import_beside_a_keystore_init_truststore():
    document = example()  # apim's stores come from its keystore-init sidecar
    document["services"]["apim"]["secrets"]["BERTH_TRUSTED_CERTS_PEM"] = (
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:wso2/prod/mi-certificate"
    )
    with pytest.raises(SpecError) as caught:
        parse_spec(yaml.safe_dump(document).encode(), "s.yaml")
    assert [f"{p.path}: {p.reason}" for p in caught.value.problems] == [
        "services.apim.secrets.BERTH_TRUSTED_CERTS_PEM: BERTH_TRUSTED_CERTS_PEM cannot be "
        "imported into a truststore that keystore-init writes: WSO2's entrypoint copies "
        "keystore-init's store over the product home after Berth's entrypoint ran. Fix: put the "
        "peers' certificates into the truststore given to keystore-init (keytool -importcert), "
        "and remove BERTH_TRUSTED_CERTS_PEM (see docker/apim/config-contract.yaml)"
    ]
