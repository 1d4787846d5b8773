"""docker/keystore-init/keystore-init.sh run with the host's real `sh` in a temporary directory:
what it writes, and how it fails (exit status and stderr) on a store that does not decode or no
store at all."""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT

SCRIPT = ROOT / "docker" / "keystore-init" / "keystore-init.sh"
SH = shutil.which("sh")
pytestmark = pytest.mark.skipif(SH is None, reason="no POSIX sh on this machine")
KEYSTORE = b"\xfe\xed\xfe\xed\x00\x00\x00\x02 keystore bytes \x00\xff"
TRUSTSTORE = b"\xfe\xed\xfe\xed\x00\x00\x00\x02 truststore \x01"


def run(directory: Path, **variables: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ["PATH"], "BERTH_KEYSTORE_DIR": str(directory), **variables}
    return subprocess.run(
        [str(SH), str(SCRIPT)], env=env, capture_output=True, text=True, timeout=30, check=False
    )


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_both_stores_are_written_byte_for_byte(tmp_path):
    done = run(tmp_path, BERTH_KEYSTORE_B64=b64(KEYSTORE), BERTH_TRUSTSTORE_B64=b64(TRUSTSTORE))
    assert (done.returncode, done.stderr) == (0, "")
    assert (tmp_path / "wso2carbon.jks").read_bytes() == KEYSTORE
    assert (tmp_path / "client-truststore.jks").read_bytes() == TRUSTSTORE
    assert sorted(p.name for p in tmp_path.iterdir()) == ["client-truststore.jks", "wso2carbon.jks"]
    assert (tmp_path / "wso2carbon.jks").stat().st_mode & 0o777 == 0o644
    assert f"wrote {tmp_path}/wso2carbon.jks from BERTH_KEYSTORE_B64 ({len(KEYSTORE)} bytes)" in (
        done.stdout
    )


def test_one_store_is_enough_and_wrapped_base64_is_read(tmp_path):
    wrapped = "\n".join(b64(TRUSTSTORE * 8)[i : i + 76] for i in range(0, 400, 76))
    done = run(tmp_path, BERTH_TRUSTSTORE_B64=wrapped)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "client-truststore.jks").read_bytes() == TRUSTSTORE * 8
    assert not (tmp_path / "wso2carbon.jks").exists()


def test_no_store_given_fails_saying_what_to_set(tmp_path):
    done = run(tmp_path, BERTH_KEYSTORE_B64="")
    assert done.returncode == 1
    assert done.stderr == (
        "keystore-init: no store given: set BERTH_KEYSTORE_B64 and/or BERTH_TRUSTSTORE_B64 (the "
        "container's secrets, base64 of wso2carbon.jks and client-truststore.jks)\n"
    )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("not base64!", "BERTH_KEYSTORE_B64 is not base64: it holds characters outside A-Z a-z "
                        "0-9 + / = (store the output of 'base64 -w0 wso2carbon.jks' in the "
                        "secret, not the binary store or a file path)"),
        ("/home/wso2carbon/wso2carbon.jks", "BERTH_KEYSTORE_B64 is not base64: it holds "
                                            "characters outside"),
        (b64(KEYSTORE)[:-3], "BERTH_KEYSTORE_B64 is not base64: its length"),
        ("ab==cd==", "BERTH_KEYSTORE_B64 is not base64: '=' padding appears before the end"),
        ("====", "BERTH_KEYSTORE_B64 does not decode to a store (base64 -d failed or gave nothing)"),
    ],
)  # fmt: skip
def test_a_store_that_does_not_decode_fails_and_writes_nothing(tmp_path, value, reason):
    done = run(tmp_path, BERTH_KEYSTORE_B64=value)
    assert done.returncode == 1
    assert done.stderr.startswith(f"keystore-init: {reason}")
    assert list(tmp_path.iterdir()) == []


def test_a_missing_volume_is_named(tmp_path):
    done = run(tmp_path / "absent", BERTH_KEYSTORE_B64=b64(KEYSTORE))
    assert done.returncode == 1
    assert done.stderr == (
        f"keystore-init: {tmp_path}/absent does not exist: mount the berth-keystores volume there\n"
    )
