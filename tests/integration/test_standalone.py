"""The repository stands alone (issue 32): its tests, scripts and docs read nothing beside it,
and a clone in an empty folder runs its tests."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import EVENTS, ROOT

# The folder beside the repository where the project's design notes and AWS's samples once sat,
# and the paths under it; the pattern is written so that this file does not match it itself.
BESIDE = re.compile(r"\.\./shared\b|\bshared/(?:design|events)\b")


def tracked_files() -> list[Path]:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: the tracked files are unknown")
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True
    ).stdout.decode()
    return [ROOT / name for name in listed.split("\0") if name]


def test_no_tracked_file_reads_or_names_a_folder_beside_the_repository():
    found = []
    for path in tracked_files():
        if not path.is_file():  # deleted in the work tree, not yet committed
            continue
        text = path.read_bytes().decode("utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), 1):
            if BESIDE.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert found == []


def test_the_aws_sample_events_are_inside_the_repository():
    assert EVENTS.is_relative_to(ROOT)
    names = sorted(p.name for p in EVENTS.glob("*.json"))
    assert len(names) == 11  # 9 of AWS's samples, the S3 delete and Records[] formats beside them
    # Each sample names its AWS documentation source.
    readme = (EVENTS / "README.md").read_text()
    assert [name for name in names if f"`{name}`" not in readme] == []
    assert readme.count("https://docs.aws.amazon.com/") >= 4


def test_a_clone_with_nothing_beside_it_runs_its_tests(tmp_path):
    """What a user gets from `git clone` into an empty folder: the committed tree (HEAD), with the
    same interpreter and libraries, importing its own code (PYTHONPATH) rather than this tree's."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: nothing to clone")
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.strip()
    clone = tmp_path / "berth"
    subprocess.run(["git", "clone", "--quiet", "--no-checkout", str(ROOT), str(clone)], check=True)
    subprocess.run(["git", "checkout", "--quiet", "--detach", head], cwd=clone, check=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["berth"]

    env = {**os.environ, "PYTHONPATH": str(clone)}
    where = subprocess.run(
        [sys.executable, "-c", "import berth, tests.conftest as c; print(berth.__file__, c.EVENTS)"],
        cwd=clone, env=env, check=True, capture_output=True, text=True,
    ).stdout.split()  # fmt: skip
    assert all(Path(p).is_relative_to(clone) for p in where), where
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/unit/test_events.py"],
        check=False, cwd=clone, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"\b\d+ passed\b", result.stdout), result.stdout
