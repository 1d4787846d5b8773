"""Issue 31: JDBC drivers that work by default. Every WSO2 image gets the drivers pinned in
docker/build.py (Maven Central coordinates, sha256), installed by one Dockerfile step that refuses
a missing or wrong checksum and records what went in; the entrypoints stop with status 72 when no
driver jar serves the database URL. No Docker, no network: the Dockerfile step runs under bash
with a stand-in for curl."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.unit.test_build import ENV, build, dry_run
from tests.unit.test_wso2_config import (
    BASH,
    EX_NO_DRIVER,
    SAMPLES,
    _env,
    _required,
    run,
    wso2,  # noqa: F401  (the fixture)
)

DOCKER = ROOT / "docker"
WSO2_IMAGES = ("apim", "mi", "ei")


def install_step(name: str) -> str:
    """The Dockerfile's RUN that installs JDBC_DRIVERS, as the shell receives it."""
    text = (DOCKER / name / "Dockerfile").read_text()
    match = re.search(r'^RUN (set -eu; read -ra fields <<<"\$\{JDBC_DRIVERS\}";.*?done)$', text,
                      re.M | re.S)  # fmt: skip
    assert match, f"docker/{name}/Dockerfile has no JDBC driver step"
    return match.group(1).replace("\\\n", "\n")


def run_step(tmp_path: Path, drivers: str) -> subprocess.CompletedProcess[str]:
    """The install step under bash -o pipefail (the Dockerfiles' SHELL), with `curl` copying from
    tmp_path/central instead of downloading."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "curl").write_text(
        '#!/bin/sh\nwhile [ "$1" != "--output" ]; do shift; done\n'
        f'cp "{tmp_path}/central/$(basename "$3")" "$2"\n'
    )
    (bin_dir / "curl").chmod(0o755)
    lib = tmp_path / "lib"
    lib.mkdir(exist_ok=True)
    env = {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "JDBC_DRIVERS": drivers,
        "JDBC_DRIVER_DIR": str(lib),
        "JDBC_DRIVER_MANIFEST": str(tmp_path / "berth-jdbc-drivers.txt"),
    }
    return subprocess.run(
        [BASH, "-o", "pipefail", "-c", install_step("mi")],
        env=env, capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip


def jar(tmp_path: Path, name: str, content: bytes) -> str:
    (tmp_path / "central").mkdir(exist_ok=True)
    (tmp_path / "central" / name).write_bytes(content)
    return hashlib.sha256(content).hexdigest()


def test_every_wso2_image_installs_the_drivers_with_the_same_step():
    steps = {name: install_step(name) for name in WSO2_IMAGES}
    assert len(set(steps.values())) == 1, "the three Dockerfiles' driver steps differ"
    for name in WSO2_IMAGES:
        text = (DOCKER / name / "Dockerfile").read_text()
        assert "ARG JDBC_DRIVER_MANIFEST=/home/wso2carbon/berth-jdbc-drivers.txt\n" in text
        assert "JDBC_DRIVER_URL" not in text  # only build.py's triples reach the image


def test_a_checked_driver_goes_in_and_is_recorded(tmp_path):
    sha = jar(tmp_path, "postgresql-42.7.13.jar", b"driver")
    url = "https://repo1.maven.org/maven2/org/postgresql/postgresql/42.7.13/postgresql-42.7.13.jar"
    result = run_step(tmp_path, f"postgresql-42.7.13.jar {sha} {url}")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "lib" / "postgresql-42.7.13.jar").read_bytes() == b"driver"
    assert (tmp_path / "berth-jdbc-drivers.txt").read_text() == (
        f"postgresql-42.7.13.jar {sha} {url}\n"
    )


def test_a_driver_whose_checksum_differs_never_goes_in(tmp_path):
    jar(tmp_path, "postgresql-42.7.13.jar", b"tampered")
    result = run_step(
        tmp_path, f"postgresql-42.7.13.jar {'a' * 64} https://x/postgresql-42.7.13.jar"
    )
    assert result.returncode != 0
    assert "/tmp/postgresql-42.7.13.jar: FAILED" in result.stdout
    assert not (tmp_path / "lib" / "postgresql-42.7.13.jar").exists()


@pytest.mark.parametrize(
    "drivers", ["d.jar <d.jar.sha256> https://x/d.jar", "d.jar https://x/d.jar"]
)
def test_a_driver_without_a_checksum_stops_the_build(tmp_path, drivers):
    jar(tmp_path, "d.jar", b"driver")
    result = run_step(tmp_path, drivers)
    assert result.returncode == 1
    assert result.stderr.strip() in (
        "d.jar: '<d.jar.sha256>' is not a sha256",
        "JDBC_DRIVERS: want file sha256 url triples",
    )
    assert not (tmp_path / "lib" / "d.jar").exists()


def test_the_pins_name_maven_central_coordinates_and_where_each_sha256_came_from():
    assert list(build.DRIVERS) == ["mysql", "postgresql"]
    mysql, postgresql = build.DRIVERS.values()
    # WSO2's own compose adds this version (wso2/docker-apim v4.7.0.1,
    # docker-compose/apim-with-mi/dockerfiles/apim/Dockerfile, MYSQL_CONNECTOR_VERSION).
    assert mysql.url == (
        "https://repo1.maven.org/maven2/com/mysql/mysql-connector-j/9.7.0/mysql-connector-j-9.7.0.jar"
    )
    assert postgresql.url.endswith("/org/postgresql/postgresql/42.7.13/postgresql-42.7.13.jar")
    for driver in build.DRIVERS.values():
        assert driver.sha256 == "" or re.fullmatch(r"[0-9a-f]{64}", driver.sha256)
        assert driver.sha256_source and driver.license


def test_every_wso2_image_gets_the_pinned_drivers_and_keystore_init_none(capsys):
    _, commands, _ = dry_run(capsys, "--products", "apim mi ei keystore-init")
    triples = [
        re.search(r"--build-arg 'JDBC_DRIVERS=([^']*)'", command) for command in commands[:3]
    ]
    assert all(triples) and len({t.group(1) for t in triples if t}) == 1
    assert triples[0] and triples[0].group(1).split()[3:6] == [
        "postgresql-42.7.13.jar", build.DRIVERS["postgresql"].sha256,
        build.DRIVERS["postgresql"].url,
    ]  # fmt: skip
    assert "JDBC_DRIVERS" not in commands[3]


def test_a_real_build_refuses_a_driver_without_a_pinned_sha256(capsys, monkeypatch):
    monkeypatch.setitem(build.DRIVERS, "mysql", build.DRIVERS["mysql"].__class__(
        **{**build.DRIVERS["mysql"].__dict__, "sha256": "", "sha256_source": "not pinned yet"}
    ))  # fmt: skip
    ran: list[list[str]] = []
    monkeypatch.setattr(build.subprocess, "run", lambda command, check: ran.append(command))
    code = build.run(["--products", "mi"], ENV)
    assert (code, ran) == (1, [])
    assert capsys.readouterr().err.splitlines()[0] == (
        "build: mi failed: JDBC driver mysql-connector-j-9.7.0.jar has no pinned sha256 in "
        "docker/build.py DRIVERS (not pinned yet): set it from "
        "https://repo1.maven.org/maven2/com/mysql/mysql-connector-j/9.7.0/"
        "mysql-connector-j-9.7.0.jar.sha256, or leave mysql out of JDBC_DRIVERS"
    )


def test_jdbc_drivers_picks_the_drivers_by_name(capsys):
    _, [command], _ = dry_run(
        capsys, "--products", "apim", env=dict(ENV, JDBC_DRIVERS="postgresql")
    )
    assert "mysql" not in command
    code, _, err = dry_run(capsys, env=dict(ENV, JDBC_DRIVERS="oracle"))
    assert (code, err) == (
        2, "build: JDBC_DRIVERS names unknown drivers ['oracle']; choose from ['mysql', "
        "'postgresql']\n",
    )  # fmt: skip


def test_the_buildspec_asks_for_both_drivers():
    text = (ROOT / "buildspec.yml").read_text()
    assert '    JDBC_DRIVERS: "mysql postgresql"\n' in text


@pytest.mark.parametrize(
    ("url", "jars"),
    [
        ("jdbc:mysql://db:3306/WSO2AM_DB", ("postgresql-42.7.13.jar",)),
        ("jdbc:postgresql://db:5432/wso2am", ("mysql-connector-j-9.7.0.jar",)),
    ],
)
def test_apim_stops_when_no_driver_serves_its_database(wso2, url, jars):  # noqa: F811
    home = wso2("apim", drivers=jars)
    values = _required("apim") | {"APIM_DB_URL": url, "SHARED_DB_URL": url}
    result = run("apim", _env(home, "apim", **values))
    scheme = url.split("://")[0]
    pattern = "mysql-connector-*.jar" if "mysql" in url else "postgresql-*.jar"
    lib = home / "wso2am-4.7.0/repository/components"
    assert result.returncode == EX_NO_DRIVER
    assert result.stderr == (
        f"berth-entrypoint: no JDBC driver for APIM_DB_URL ({scheme}): no {pattern} in "
        f"{lib}/lib {lib}/dropins (the image lists its drivers in "
        "/home/wso2carbon/berth-jdbc-drivers.txt); build the image with that driver "
        "(docker/build.py JDBC_DRIVERS, or JDBC_DRIVER_URL with JDBC_DRIVER_SHA256)\n"
    )
    assert not (home / "env.out").exists()  # WSO2 never started


def test_apim_starts_with_the_default_drivers_on_either_database(wso2):  # noqa: F811
    home = wso2("apim")
    for url in ("jdbc:mysql://db:3306/A", "jdbc:postgresql://db:5432/a"):
        values = _required("apim") | {"APIM_DB_URL": url, "SHARED_DB_URL": url}
        assert run("apim", _env(home, "apim", **values)).returncode == 0


def test_mi_checks_the_driver_of_its_coordination_database(wso2):  # noqa: F811
    home = wso2("mi", drivers=())
    values = _required("mi") | {
        "MI_COORDINATION_DB_URL": SAMPLES["MI_COORDINATION_DB_URL"],
        "MI_COORDINATION_DB_USER": "mi",
        "MI_COORDINATION_DB_PASSWORD": "pw",
    }
    result = run("mi", _env(home, "mi", **values))
    assert result.returncode == EX_NO_DRIVER
    assert result.stderr.startswith("berth-entrypoint: no JDBC driver for MI_COORDINATION_DB_URL (")
    shutil.rmtree(home / "wso2mi-4.4.0" / "lib")
    (home / "wso2mi-4.4.0" / "dropins").mkdir()
    (home / "wso2mi-4.4.0" / "dropins" / "mysql-connector-j-9.7.0.jar").write_bytes(b"PK")
    (home / "wso2mi-4.4.0" / "dropins" / "postgresql-42.7.13.jar").write_bytes(b"PK")
    assert run("mi", _env(home, "mi", **values)).returncode == 0
