"""`berth sandbox up` waits on events instead of polling: idle, its loop turns once and sleeps;
work from another shell (an image push, a spec upload) wakes it, and the simulated rollouts it
then starts are decided when they fall due. Turns are counted, never timed."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import boto3
from click.testing import CliRunner

from berth.cli import main
from berth.sandbox.images import push_image
from berth.sandbox.names import BUCKET, REGION
from berth.sandbox.sandbox import Sandbox

IDLE_SECONDS = 2.0  # the old loop turned every 0.2 s: ten turns or so in this interval


class OtherShell(threading.Thread):
    """What a person does in a second shell while `up` runs: wait, push both images, upload
    the spec `up` wrote; then Ctrl-C `up` (SIGINT) once both services deployed, or at a
    deadline, whatever happened."""

    def __init__(self, box: Sandbox, turns: list[float]) -> None:
        super().__init__(daemon=True)
        self.box, self.turns = box, turns
        self.idle_turns = -1
        self.deployed: list[str] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            time.sleep(IDLE_SECONDS)
            self.idle_turns = len(self.turns)
            session = boto3.session.Session(region_name=REGION)
            client: Any = lambda name: session.client(name, endpoint_url=self.box.endpoint)  # noqa: E731
            ecr, events = client("ecr"), client("events")
            push_image(ecr, events, "wso2am", "4.7.0-1")
            push_image(ecr, events, "wso2mi", "4.4.0-1")
            spec = Path("out", "sandbox-wso2-dev.yaml").read_bytes()
            client("s3").put_object(Bucket=BUCKET, Key="specs/dev/wso2.yaml", Body=spec)
            deadline = time.monotonic() + 180
            while len(self.deployed) < 2 and time.monotonic() < deadline:
                time.sleep(0.2)
                self.deployed = [
                    n.document.get("service", "")
                    for n in list(self.box.notifications)
                    if n.document.get("status") == "COMPLETED"
                ]
        except BaseException as exc:  # reported by the test
            self.error = exc
        finally:
            os.kill(os.getpid(), signal.SIGINT)


def test_up_sleeps_while_idle_and_wakes_for_work_from_another_shell(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    turns: list[float] = []
    shells: list[OtherShell] = []
    step = Sandbox.step

    def counted(box: Sandbox) -> bool:
        turns.append(time.monotonic())
        if not shells:
            shells.append(OtherShell(box, turns))
            shells[0].start()
        return step(box)

    monkeypatch.setattr(Sandbox, "step", counted)
    result = CliRunner().invoke(main, ["sandbox", "up", "--rollout-seconds", "0.5"])
    [shell] = shells
    shell.join(timeout=30)
    assert shell.error is None, repr(shell.error)
    assert result.exit_code == 0, result.output
    assert "stopped" in result.output
    # Given nothing to do for IDLE_SECONDS, the loop turned once (or twice) and slept.
    assert 1 <= shell.idle_turns <= 2, shell.idle_turns
    # The push and the upload woke it, and each rollout was decided when due (not polled).
    assert len(set(shell.deployed)) == 2, (shell.deployed, result.output)  # APIM and MI
