"""`make bench`: what a Berth deployment costs, each figure beside a baseline from the same run.

Runs against the sandbox (moto on 127.0.0.1, simulated ECS). Writes bench/results.md.
Not part of `make test`: nothing here asserts a time.
"""

from __future__ import annotations

import datetime
import itertools
import json
import os
import platform
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")

from berth.chalice_package import IMPORT_EVERY_HANDLER_MODULE  # noqa: E402
from berth.sandbox.images import put_image  # noqa: E402
from berth.sandbox.lambdas import LambdaContext  # noqa: E402
from berth.sandbox.names import ACCOUNT, REGION  # noqa: E402
from berth.sandbox.sandbox import Sandbox, example_spec  # noqa: E402
from berth.sandbox.server import quiet_logs  # noqa: E402
from chalicelib.spec.parse import parse_spec  # noqa: E402
from chalicelib.values.tracks import version_key  # noqa: E402

Section = tuple[str, list[str]]


def table(header: list[str], rows: list[list[object]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return lines


def note(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def median_seconds(action: Callable[[], object], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


# ---- AWS calls and Lambda time per image update ----------------------------------------------

SCHEDULED = {
    "id": "bench-sweep",
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "version": "0",
    "account": ACCOUNT,
    "time": "2026-11-28T00:00:00Z",
    "region": REGION,
    "resources": [f"arn:aws:events:{REGION}:{ACCOUNT}:rule/berth-sweep"],
    "detail": {},
}
SWEEP_EVERY = 300.0  # seconds: triggers.SWEEP_EVERY, rate(5 minutes)
WITH_STARTED = {"BERTH_NOTIFY_STARTED": "true"}
"""A stage that announces deployments' starts (chalicelib.settings.notify_started; off by
default)."""


class BotocoreTimer:
    """Time spent inside botocore calls made while a Lambda runs (botocore's own work plus the
    sandbox's moto server answering): the rest of a delivery's time is Berth's own."""

    def __init__(self) -> None:
        import botocore.client

        self.client_class = botocore.client.BaseClient
        self.original = self.client_class._make_api_call
        self.inside_lambda = False
        self.seconds = 0.0

    def __enter__(self) -> BotocoreTimer:
        timer = self

        def timed(client: Any, operation: str, params: Any) -> Any:
            if not timer.inside_lambda:
                return timer.original(client, operation, params)
            started = time.perf_counter()
            try:
                return timer.original(client, operation, params)
            finally:
                timer.seconds += time.perf_counter() - started

        self.client_class._make_api_call = timed  # type: ignore[method-assign]
        return self

    def __exit__(self, *_: object) -> None:
        self.client_class._make_api_call = self.original  # type: ignore[method-assign]

    def watch(self, box: Sandbox) -> None:
        deliver = box.deliver

        def delivering(function: str, event: Any) -> Any:
            self.inside_lambda = True
            try:
                return deliver(function, event)
            finally:
                self.inside_lambda = False

        box.deliver = delivering  # type: ignore[method-assign]


def _calls_of(box: Sandbox, since: int, function: str | None = None) -> tuple[int, float, int]:
    chosen = [d for d in box.deliveries[since:] if function is None or d.function == function]
    return sum(d.calls for d in chosen), sum(d.seconds for d in chosen), len(chosen)


def run_virtually(box: Sandbox, sweep_at: float | None = None, step: float = 5.0) -> float:
    """Turn the sandbox as run_until_idle does, but on a simulated clock handed to the simulated
    ECS (`SimulatedEcs.tick(now=...)`), so a 300 s rollout takes no 300 s; the sweep runs once
    when the clock passes `sweep_at`. The simulated seconds it took."""
    assert box.ecs_sim is not None
    start = clock = time.monotonic()
    swept = sweep_at is None
    while True:
        moved = box.pump() > 0
        for event in box.ecs_sim.tick(now=clock):
            box.put_event("aws.ecs", event.detail_type, event.detail, event.resources)
            moved = True
        moved = box.pump() > 0 or moved
        box.collect_notifications()
        if not swept and sweep_at is not None and clock - start >= sweep_at:
            box.deliver("sweep", SCHEDULED)
            swept = True
        if not moved and not box.ecs_sim.busy() and swept:
            return clock - start
        if not moved:
            clock += step


def _set_up(box: Sandbox) -> None:
    """Images pushed and the example spec deployed, on the simulated clock (not what is measured,
    so it need not wait for its rollouts)."""
    box.push("wso2mi", "4.4.0-1")
    box.push("wso2am", "4.7.0-1")
    run_virtually(box)


def berth_calls(
    rollout_seconds: float, simulated_clock: bool = False, settings: dict[str, str] | None = None
) -> dict[str, Any]:
    """One image update's whole life: the push, every ECS event it causes; on the simulated clock
    also the sweep run that falls inside the rollout (one per 5 minutes, whatever deploys).
    `settings` are stage variables the Lambdas get instead of the defaults."""
    note(f"Berth, {rollout_seconds:.0f} s rollout, simulated clock: {simulated_clock}, "
         f"settings: {settings or 'default'}")  # fmt: skip
    with Sandbox(rollout_seconds=rollout_seconds) as box, BotocoreTimer() as timer:
        if settings:
            box.renew_clients(**settings)
        timer.watch(box)
        _set_up(box)
        since = len(box.deliveries)
        box.upload_spec(box.adapt_spec(example_spec()))
        run_virtually(box)
        first_upload = _calls_of(box, since, "on_spec_uploaded")
        first_all = _calls_of(box, since)
        since = len(box.deliveries)
        box.upload_spec(box.adapt_spec(example_spec()))
        run_virtually(box)
        reupload = _calls_of(box, since, "on_spec_uploaded")
        since, mark = len(box.deliveries), box.recorder.mark()
        timer.seconds = 0.0
        started = time.perf_counter()
        box.push("wso2am", "4.7.0-2")
        sweeps = int(rollout_seconds // SWEEP_EVERY) if simulated_clock else 0
        if simulated_clock:
            simulated = run_virtually(box, sweep_at=rollout_seconds / 2 if sweeps else None)
        else:
            box.run_until_idle(timeout=rollout_seconds + 60)
            simulated = time.perf_counter() - started
        wall = time.perf_counter() - started
        ops = box.recorder.counts(mark)
        whole = _calls_of(box, since)
        return {
            "push": _calls_of(box, since, "on_image_pushed"),
            "follow": _calls_of(box, since, "on_deployment_state_change"),
            "service_action": _calls_of(box, since, "on_service_action"),
            "sweep": _calls_of(box, since, "sweep"),
            "sweeps": sweeps,
            "whole": whole,
            "botocore_seconds": timer.seconds,
            "first_upload": first_upload,
            "first_all": first_all,
            "reupload": reupload,
            "wall": wall,
            "simulated": simulated,
            "operations": ops,
            "ecs": sum(v for k, v in ops.items() if k.startswith("ecs:")),
        }


def idle_sweep_calls() -> int:
    with Sandbox(rollout_seconds=0.0) as box:
        _set_up(box)
        box.upload_spec(box.adapt_spec(example_spec()))
        run_virtually(box)
        return box.deliver("sweep", SCHEDULED).calls


def ecs_deploy_calls(  # noqa: PLR0915 - one scenario, read top to bottom
    rollout_seconds: float, sleep_time: int, simulated_clock: bool
) -> dict[str, Any] | str:
    """fabfuel's ecs-deploy doing the same image update and waiting for it as its CLI does, polling
    every `sleep_time` s (its default is 1 s). On the simulated clock its sleeps advance the
    simulated ECS's clock instead of waiting."""
    note(f"ecs-deploy, {rollout_seconds:.0f} s, sleep {sleep_time}, simulated: {simulated_clock}")
    try:
        import ecs_deploy.cli as ecs_cli
        from click.testing import CliRunner
    except ImportError as exc:
        return f"ecs-deploy not installed ({exc}); `make bench` installs it"
    import botocore.client

    with Sandbox(rollout_seconds=rollout_seconds) as box:
        assert box.ecs_sim is not None
        sim = box.ecs_sim
        _set_up(box)
        box.upload_spec(box.adapt_spec(example_spec()))
        run_virtually(box)
        digest = box.push("wso2am", "4.7.0-2")
        box.client("sqs").purge_queue(QueueUrl=box.queue_of("on_image_pushed"))  # Berth stays out
        uri = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/wso2am@{digest}"
        counts: dict[str, int] = {}
        me = threading.get_ident()
        original = botocore.client.BaseClient._make_api_call
        clock = [time.monotonic()]
        clock_start = clock[0]

        def counted(client: Any, operation: str, params: Any) -> Any:
            if threading.get_ident() == me:
                counts[operation] = counts.get(operation, 0) + 1
            result = original(client, operation, params)
            if simulated_clock and operation == "UpdateService":
                sim.tick(now=clock[0])  # ECS takes the new deployment on at once
            return result

        def simulated_sleep(seconds: float) -> None:
            clock[0] += seconds
            sim.tick(now=clock[0])

        stop = threading.Event()

        def scheduler() -> None:
            while not stop.is_set():
                box.advance_ecs(publish=False)
                time.sleep(0.05)

        worker = threading.Thread(target=scheduler)
        real_sleep = ecs_cli.sleep
        if simulated_clock:
            ecs_cli.sleep = simulated_sleep
        else:
            worker.start()
        botocore.client.BaseClient._make_api_call = counted  # type: ignore[method-assign]
        started = time.perf_counter()
        try:
            timeout = str(int(rollout_seconds * 3 + 120))
            arguments = ["deploy", "wso2-dev", "apim", "--image", "apim", uri, "--region", REGION,
                         "--timeout", timeout, "--ignore-warnings"]  # fmt: skip
            if sleep_time != 1:
                arguments += ["--sleep-time", str(sleep_time)]
            result = CliRunner().invoke(ecs_cli.ecs, arguments)
        finally:
            botocore.client.BaseClient._make_api_call = original  # type: ignore[method-assign]
            ecs_cli.sleep = real_sleep
            stop.set()
            if worker.is_alive():
                worker.join()
        wall = time.perf_counter() - started
    total = sum(counts.values())
    return {
        "exit": result.exit_code,
        "calls": counts,
        "total": total,
        "polls": counts.get("DescribeServices", 0),
        "ecs": total,
        "wall": wall,
        "simulated": clock[0] - clock_start if simulated_clock else wall,
        "output": result.output[-300:],
    }


def section_calls(results: dict[str, Any]) -> Section:
    lengths_real = [3.0, 20.0]
    berth = {r: berth_calls(r) for r in lengths_real}
    berth_300 = berth_calls(300.0, simulated_clock=True)
    berth_20_sim = berth_calls(20.0, simulated_clock=True)
    # The same updates on a stage that announces starts (one 'deploying' publish more).
    told_300 = berth_calls(300.0, simulated_clock=True, settings=WITH_STARTED)
    told_20_sim = berth_calls(20.0, simulated_clock=True, settings=WITH_STARTED)
    idle = idle_sweep_calls()
    base3 = berth[3.0]
    image_update = base3["push"][0] + base3["follow"][0] + base3["service_action"][0]
    rows: list[list[object]] = [
        ["(a) image push deploying one service", base3["push"][0], "on_image_pushed"],
        [
            "(b) first upload of a two-service spec",
            base3["first_upload"][0],
            f"on_spec_uploaded; {base3['first_all'][0]} with both rollouts followed",
        ],
        ["(c) re-upload of an unchanged spec", base3["reupload"][0], "no ECS writes"],
        [
            "(d) the rollout's ECS events",
            base3["follow"][0] + base3["service_action"][0],
            f"{base3['follow'][2] + base3['service_action'][2]} invocations, no polling",
        ],
        ["(e) one sweep run, nothing deploying", idle, "every 5 minutes, 288 a day"],
    ]
    lines = table(["Berth (3 s simulated rollout)", "AWS calls", "notes"], rows)
    lines += ["", "One image update, measured at each rollout length:", ""]
    berth_rows: list[list[object]] = []
    for label, run in [
        ("3 s, real time", berth[3.0]),
        ("20 s, real time", berth[20.0]),
        ("20 s, simulated clock", berth_20_sim),
        ("300 s, simulated clock, with the one sweep run inside it", berth_300),
        ("20 s, simulated clock, BERTH_NOTIFY_STARTED=true", told_20_sim),
        ("300 s, simulated clock, the sweep run inside it, BERTH_NOTIFY_STARTED=true", told_300),
    ]:
        berth_rows.append([f"Berth, {label}", run["whole"][0], run["ecs"], run["whole"][2],
                           f"{run['simulated']:.0f}", f"{run['wall']:.1f}"])  # fmt: skip
    ecs_rows: list[list[object]] = []
    measured: dict[tuple[float, int, bool], dict[str, Any]] = {}
    unavailable = ""
    for rollout, sleep_time, simulated in [
        (3.0, 1, False), (20.0, 1, False), (3.0, 10, False), (20.0, 10, False),
        (3.0, 1, True), (20.0, 1, True), (20.0, 10, True), (300.0, 1, True), (300.0, 10, True),
    ]:  # fmt: skip
        run = ecs_deploy_calls(rollout, sleep_time, simulated)
        if isinstance(run, str):
            unavailable = run
            break
        measured[(rollout, sleep_time, simulated)] = run
        clock = "simulated clock" if simulated else "real time"
        ecs_rows.append([f"ecs-deploy --sleep-time {sleep_time}, {rollout:.0f} s, {clock}",
                         run["total"], run["ecs"], f"{run['polls']} polls (exit {run['exit']})",
                         f"{run['simulated']:.0f}", f"{run['wall']:.1f}"])  # fmt: skip
    lines += table(
        ["one image update", "AWS calls", "of them ECS", "invocations / polls",
         "simulated s", "wall s"],
        berth_rows + ecs_rows,
    )  # fmt: skip
    if unavailable:
        lines += ["", f"ecs-deploy unavailable: {unavailable}"]
    check = _linear_check(measured)
    lines += ["", *check["lines"]]
    lines += [
        "",
        "Berth by operation for the 300 s update (push, events, one sweep): "
        + ", ".join(f"{k} {v}" for k, v in sorted(berth_300["operations"].items())),
        "",
        "Berth by operation for the same with BERTH_NOTIFY_STARTED=true: "
        + ", ".join(f"{k} {v}" for k, v in sorted(told_300["operations"].items())),
        "",
        "The update's own calls (the push and every ECS event it causes; the key "
        "`calls_per_image_update`): "
        + ", ".join(f"{label} {update_calls(run)}" for label, run in [
            ("3 s", berth[3.0]), ("20 s", berth[20.0]), ("20 s simulated", berth_20_sim),
            ("300 s simulated", berth_300)])
        + f". The sweep run inside the 300 s rollout made {berth_300['sweep'][0]} call(s), as "
        f"one with nothing deploying makes {idle} (row e): it runs every 5 minutes whatever "
        "deploys, so it is counted apart, as issue 17 budgets it ('the idle sweep at most one "
        "cheap query per run'), and inside `berth_calls_300s`.",
        "",
        *why_each_call(berth_300["operations"], told_300["operations"]),
    ]
    if (300.0, 1, True) in measured:
        lines.append(
            "ecs-deploy by operation at 300 s, default interval: "
            + ", ".join(f"{k} {v}" for k, v in sorted(measured[(300.0, 1, True)]["calls"].items()))
        )
    lines += ["", *time_split(base3), ""]
    results.update(
        calls_per_image_update=update_calls(berth_300),
        calls_per_image_update_with_started=update_calls(told_300),
        sweep_calls_in_300s_rollout=berth_300["sweep"][0],
        ecs_calls_per_image_update=berth_300["ecs"],
        berth_calls_300s=berth_300["whole"][0],
        berth_calls_3s=image_update,
        sweep_calls_idle=idle,
        ecs_deploy_calls_300s=measured.get((300.0, 1, True), {}).get("total"),
        ecs_deploy_calls_300s_sleep10=measured.get((300.0, 10, True), {}).get("total"),
        lambda_seconds_per_image_update=round(base3["push"][1] + base3["follow"][1], 4),
        lambda_seconds_inside_botocore=round(base3["botocore_seconds"], 4),
    )
    return "AWS calls per image update", lines


def _linear_check(measured: dict[tuple[float, int, bool], dict[str, Any]]) -> dict[str, Any]:
    """ecs-deploy's calls against the rollout length: the simulated clock checked against real
    time at 3 s and 20 s, and a line through 3 s and 20 s checked against the 300 s measurement."""
    lines: list[str] = []
    for sleep_time in (1, 10):
        real = {r: measured.get((r, sleep_time, False)) for r in (3.0, 20.0)}
        sim = {r: measured.get((r, sleep_time, True)) for r in (3.0, 20.0, 300.0)}
        if real[3.0] and real[20.0]:
            slope = (real[20.0]["total"] - real[3.0]["total"]) / 17.0
            fixed = real[3.0]["total"] - slope * 3.0
            predicted = fixed + slope * 300.0
            at300 = sim[300.0]["total"] if sim[300.0] else None
            lines.append(
                f"ecs-deploy --sleep-time {sleep_time}: through the real-time runs, calls = "
                f"{fixed:.1f} + {slope:.3f} x rollout seconds, which predicts {predicted:.0f} at "
                f"300 s; measured on the simulated clock: {at300}."
            )
        same = [r for r in (3.0, 20.0) if real.get(r) and sim.get(r)]
        if same:
            lines.append(
                f"Simulated clock against real time (--sleep-time {sleep_time}): "
                + ", ".join(
                    f"{r:.0f} s {sim[r]['total']} vs {real[r]['total']}"  # type: ignore[index]
                    for r in same
                )
                + " calls."
            )
    return {"lines": lines}


def time_split(run: dict[str, Any]) -> list[str]:
    lambda_seconds = run["push"][1] + run["follow"][1] + run["service_action"][1]
    inside = run["botocore_seconds"]
    own = lambda_seconds - inside
    calls = run["whole"][0]
    return [
        f"Lambda time for the 3 s update (push + its ECS events): {lambda_seconds:.3f} s, of which "
        f"{inside:.3f} s ({inside / lambda_seconds:.0%}) inside botocore calls and {own:.3f} s "
        f"Berth's own code. The botocore share is the sandbox's: each of the {calls} calls goes to "
        f"the moto server in this process ({inside / max(calls, 1) * 1000:.1f} ms a call), so it "
        "measures moto, not AWS; only Berth's own time carries over to Lambda."
    ]


# ---- the package as shipped: size and cold start -------------------------------------------------


def build_zip(work: Path, *options: str) -> tuple[Path | None, str]:
    """`make package`'s zip (berth.chalice_package) in a copy of the project; its path and what
    the slimming step said."""
    for name in ("app.py", "chalicelib", ".chalice", "requirements.txt"):
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, work / name)
    result = subprocess.run(
        [PYTHON, "-m", "berth.chalice_package", *options, "--stage", "prod", "out"],
        cwd=work,
        check=False,
        capture_output=True,
        text=True,
        env={**os.environ, "AWS_DEFAULT_REGION": REGION},
    )
    zip_path = work / "out" / "deployment.zip"
    if result.returncode != 0 or not zip_path.exists():
        return None, f"packaging failed (it needs PyPI): {result.stderr.strip()[-300:]}"
    said = [line for line in result.stderr.splitlines() if line.startswith("slimmed")]
    return zip_path, said[-1] if said else ""


def unzipped_mib(zip_path: Path) -> float:
    with zipfile.ZipFile(zip_path) as archive:
        return sum(i.file_size for i in archive.infolist()) / (1024 * 1024)


def sdk_mib(zip_path: Path) -> float:
    """What the bundled SDK (berth.sdk_bundle.SDK) takes of the zip, unzipped."""
    from berth.sdk_bundle import SDK

    tops = {name.removesuffix(".py") for name in SDK}
    with zipfile.ZipFile(zip_path) as archive:
        return sum(
            i.file_size for i in archive.infolist()
            if i.filename.split("/")[0].removesuffix(".pyc").removesuffix(".py") in tops
        ) / (1024 * 1024)  # fmt: skip


WHICH_SDK = "import boto3, botocore; print(botocore.__version__, botocore.__file__)"


def imported_sdk(interpreter: str, path: list[Path]) -> tuple[str, str]:
    """The botocore a fresh interpreter imports on `path` (its version, its file)."""
    said = subprocess.run(
        [interpreter, "-S", "-c", WHICH_SDK], env=_lambda_env(path), check=True,
        capture_output=True, text=True, cwd=path[0],
    ).stdout  # fmt: skip
    version, file = said.split()
    return version, file


def runtime_dir(into: Path, interpreter: str) -> Path:
    """What the Lambda runtime provides beside the zip: its own boto3 and what it needs, compiled
    by the runtime's interpreter (the runtime's own files carry bytecode), and no dev extras such
    as aws_xray_sdk. The zip carries its own SDK first on the path (issue 30), so Berth never
    imports these; the row 'boto3, the runtime's copy' times them for comparison."""
    from berth.chalice_package import runtime_libraries

    runtime_libraries(into)
    subprocess.run([interpreter, "-m", "compileall", "-q", str(into)], check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    return into


def _lambda_env(path: list[Path]) -> dict[str, str]:
    return {
        "PYTHONPATH": os.pathsep.join(map(str, path)),
        "PYTHONDONTWRITEBYTECODE": "1",  # Lambda's /var/task is read-only
        "AWS_DEFAULT_REGION": REGION,
        "POWERTOOLS_METRICS_DISABLED": "true",
        "PATH": os.environ.get("PATH", ""),
    }


END_OF_INIT = "\nimport os\nos._exit(0)\n"
"""Where a Lambda's init ends: after the import, the process goes on to serve invocations. The
interpreter's teardown (its final collection, module cleanup) belongs to no cold start, so each
timed process ends here, without it (os._exit)."""


def fresh_import_seconds(
    interpreter: str,
    cases: dict[str, tuple[list[Path], str]],
    repeat: int,
    with_teardown: frozenset[str] = frozenset(),
) -> dict[str, float]:
    """Median wall time of fresh interpreters (`python -S`: no site-packages, only PYTHONPATH),
    from start to the end of the init they model (END_OF_INIT; the cases in `with_teardown` run
    to the interpreter's own exit instead), the cases interleaved so that load on the machine
    falls on each alike. Each runs in its first path entry, as Lambda runs in /var/task: `-c`
    puts the working directory first on sys.path, so running in the project would import its
    working tree instead of the zip."""
    samples: dict[str, list[float]] = {k: [] for k in cases}
    for _ in range(repeat):
        for label, (path, code) in cases.items():
            run = code if label in with_teardown else code + END_OF_INIT
            started = time.perf_counter()
            subprocess.run([interpreter, "-S", "-c", run], env=_lambda_env(path), check=True,
                           cwd=path[0])  # fmt: skip
            samples[label].append(time.perf_counter() - started)
    return {k: statistics.median(v) for k, v in samples.items()}


FIRST_PUSHES = """
import json, sys, time
started = time.perf_counter()
import app
from chalicelib import handlers
imported = time.perf_counter()
results = []
for event in json.loads(sys.argv[1]):
    before = time.perf_counter()
    outcomes = handlers.image_pushed(event)["outcomes"]
    results.append([time.perf_counter() - before, [o["action"] for o in outcomes]])
print(json.dumps({"import": imported - started, "pushes": results}))
"""


FLOOR = "boto3 + pydantic + powertools + chalice.app"
FLOOR_MODEL = FLOOR + " + one model class"
COLLECTOR_RUNNING = "app, as shipped, the collector left running (app.py's gc calls made no-ops)"
TEARDOWN_BOTO3 = "boto3, timed to the interpreter's exit"
RUNTIME_BOTO3 = "boto3, the runtime's copy (what Berth imported before it shipped its own)"
TEARDOWN_APP = "app, as shipped, timed to the interpreter's exit"
PUSH_CLIENTS = ("dynamodb", "ecr", "ecs", "sns")
"""The clients a push Lambda builds on its first push."""
FIRST_CLIENTS = """
import sys, time
import boto3
from chalicelib.adapters.clients import berth_session
session = boto3.session.Session() if sys.argv[1] == "stock" else berth_session()
started = time.perf_counter()
for service in sys.argv[2:]:
    session.client(service, region_name="us-east-1")
print(time.perf_counter() - started)
"""


def client_rows(interpreter: str, path: list[Path], repeat: int) -> list[str]:
    """A push Lambda's first clients, built by botocore's own data loader and by Berth's
    (chalicelib.adapters.clients.BerthServicesLoader), in fresh interpreters, interleaved."""
    samples: dict[str, list[float]] = {"stock": [], "berth": []}
    for _ in range(repeat):
        for loader, seconds in samples.items():
            said = subprocess.run(
                [interpreter, "-S", "-c", FIRST_CLIENTS, loader, *PUSH_CLIENTS],
                env=_lambda_env(path), check=True, capture_output=True, text=True, cwd=path[0],
            ).stdout  # fmt: skip
            seconds.append(float(said))
    stock, berth = (statistics.median(samples[k]) for k in ("stock", "berth"))
    return [
        f"A push Lambda's first clients ({', '.join(PUSH_CLIENTS)}), in-process clock, median of "
        f"{repeat}: {stock * 1000:.0f} ms with botocore's data loader, {berth * 1000:.0f} ms with "
        "Berth's, which skips botocore's listing of every service directory (boto/botocore#3687) "
        f"({berth / stock:.2f} of the time). Both are inside the push rows' first push.",
    ]
EVERY_MODEL = IMPORT_EVERY_HANDLER_MODULE + """
import sys
import pydantic
for name, module in list(sys.modules.items()):
    if name.startswith("chalicelib"):
        for value in list(vars(module).values()):
            if (isinstance(value, type) and issubclass(value, pydantic.BaseModel)
                    and value.__module__.startswith("chalicelib")):
                value.model_rebuild()
"""


def first_push_seconds(
    interpreter: str, path: list[Path], repeat: int
) -> tuple[dict[str, float], list[str]]:
    """A push Lambda's cold start, end to end: a fresh runtime interpreter imports app, then
    handles two pushes against the sandbox's moto server (through AWS_ENDPOINT_URL), one to each
    example service; the second runs warm, so the first's excess over it is what its first event
    costs on top of `import app` (the flow's imports and the models it builds on first use).
    Between rounds the parent turns the sandbox until the rollouts end."""
    samples: dict[str, list[float]] = {"import app": [], "first push": [], "second push": []}
    actions: list[str] = []
    with Sandbox(rollout_seconds=0.0) as box:
        _set_up(box)
        box.upload_spec(box.adapt_spec(example_spec()))
        run_virtually(box)
        env = {**_lambda_env(path), **box.env_vars(), "POWERTOOLS_TRACE_DISABLED": "true"}
        for build in range(1, repeat + 1):
            events = []
            for repository in ("wso2mi", "wso2am"):
                tag = f"{'4.4.0' if repository == 'wso2mi' else '4.7.0'}-{100 + build}"
                digest = put_image(box.client("ecr"), repository, tag)
                events.append(image_event(tag, digest, 10_000 + build, repository))
            said = subprocess.run(
                [interpreter, "-S", "-c", FIRST_PUSHES, json.dumps(events)],
                env=env, check=True, capture_output=True, text=True, cwd=path[0],
            ).stdout  # fmt: skip
            run = json.loads(said.strip().splitlines()[-1])
            samples["import app"].append(run["import"])
            samples["first push"].append(run["pushes"][0][0])
            samples["second push"].append(run["pushes"][1][0])
            actions = [a for _, done in run["pushes"] for a in done]
            run_virtually(box)
    return {k: statistics.median(v) for k, v in samples.items()}, actions


def section_package(results: dict[str, Any]) -> list[Section]:
    work = Path(tempfile.mkdtemp(prefix="berth-bench-package-"))
    try:
        return _package_sections(work, results)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _package_sections(work: Path, results: dict[str, Any]) -> list[Section]:
    from berth.chalice_package import configured_runtime, runtime_interpreter

    note("packaging (make package's zip, and the same with sources only)")
    runtime = configured_runtime(ROOT / ".chalice" / "config.json")
    (work / "shipped").mkdir()
    (work / "sources").mkdir()
    shipped, shipped_said = build_zip(work / "shipped")
    sources, sources_said = build_zip(work / "sources", "--source-only")
    if shipped is None or sources is None:
        return [("Package size", [shipped_said or sources_said])]
    size_rows: list[list[object]] = [
        [f"as shipped ({runtime}, make package)", f"{shipped.stat().st_size / 2**20:.2f}",
         f"{unzipped_mib(shipped):.2f}", shipped_said.split("; ", 1)[-1]],
        ["with sources only (--source-only)", f"{sources.stat().st_size / 2**20:.2f}",
         f"{unzipped_mib(sources):.2f}", sources_said.split("; ", 1)[-1]],
    ]  # fmt: skip
    size = table(["deployment.zip", "zipped MiB", "unzipped MiB", "bytecode"], size_rows)
    size += [
        "",
        "Before slimming, chalice's zip is about 37 MiB unzipped; `berth.chalice_package` drops "
        "what no Lambda reaches (powertools beyond Berth's imports, pydantic.v1 and "
        ".experimental, botocore's data for services Berth does not call, stubs, stale RECORDs) "
        "and strips shared objects. Each module "
        "a handler imports ships as bytecode only, compiled by an interpreter of the runtime's "
        "version (a sourceless .pyc where its .py was; tracebacks still give file, line and "
        "function). Lambda's limit is 250 MiB.",
    ]
    results["zip_unzipped_mib"] = round(unzipped_mib(shipped), 2)
    results["zip_unzipped_mib_sources_only"] = round(unzipped_mib(sources), 2)

    interpreter = runtime_interpreter(runtime)
    if interpreter is None or "no bytecode" in shipped_said:
        results["cold_import_ratio_shipped"] = None
        unmeasured = [f"not measured: no {runtime} interpreter here"]
        return [("Package size", size), ("Cold start from the package as shipped", unmeasured)]
    as_shipped, source_only = work / "as-shipped", work / "source-only"
    with zipfile.ZipFile(shipped) as archive:
        archive.extractall(as_shipped)
    with zipfile.ZipFile(sources) as archive:
        archive.extractall(source_only)
    rt = runtime_dir(work / "runtime", interpreter)
    # What is measured: the zip's own botocore where app runs, the runtime's in its own row.
    bundled, runtimes = imported_sdk(interpreter, [as_shipped, rt]), imported_sdk(interpreter, [rt])
    if not Path(bundled[1]).is_relative_to(as_shipped):
        raise SystemExit(f"bench: app's botocore is not the zip's: {bundled[1]}")
    results["bundled_botocore"] = bundled[0]
    results["sdk_unzipped_mib"] = round(sdk_mib(shipped), 2)
    repeat = int(os.environ.get("BERTH_BENCH_COLD_REPEAT", "15"))
    note(f"cold starts, {repeat} rounds, {interpreter}")
    seconds = fresh_import_seconds(
        interpreter,
        {
            "pass": ([rt], "pass"),
            "boto3": ([as_shipped, rt], "import boto3"),
            RUNTIME_BOTO3: ([rt], "import boto3"),
            "app, as shipped (bytecode)": ([as_shipped, rt], "import app"),
            "app, from sources": ([source_only, rt], "import app"),
            COLLECTOR_RUNNING: (
                [as_shipped, rt],
                "import gc\ngc.disable = gc.freeze = lambda: None\nimport app"),
            "app + every flow, every model built (bytecode)": ([as_shipped, rt], EVERY_MODEL),
            "pydantic": ([as_shipped, rt], "import pydantic; pydantic.BaseModel"),
            "aws_lambda_powertools (Logger, Metrics)": (
                [as_shipped, rt], "from aws_lambda_powertools import Logger, Metrics"),
            "chalice.app": ([as_shipped, rt], "import chalice.app"),
            FLOOR: (
                [as_shipped, rt],
                "import boto3, pydantic, chalice.app; pydantic.BaseModel; "
                "from aws_lambda_powertools import Logger, Metrics"),
            FLOOR_MODEL: (
                [as_shipped, rt],
                "import boto3, pydantic, chalice.app; "
                "from aws_lambda_powertools import Logger, Metrics\n"
                "class Model(pydantic.BaseModel): pass"),
            TEARDOWN_BOTO3: ([as_shipped, rt], "import boto3"),
            TEARDOWN_APP: ([as_shipped, rt], "import app"),
        },
        repeat,
        with_teardown=frozenset({TEARDOWN_BOTO3, TEARDOWN_APP}),
    )  # fmt: skip
    boto = seconds["boto3"]
    cold_rows = [
        [label, f"{value * 1000:.0f}",
         f"{value / seconds[TEARDOWN_BOTO3 if label == TEARDOWN_APP else 'boto3']:.2f}"]
        for label, value in seconds.items()
    ]  # fmt: skip
    app, floor = seconds["app, as shipped (bytecode)"], seconds[FLOOR]
    floor_model = seconds[FLOOR_MODEL]
    ratio = app / boto
    results["cold_import_ratio_shipped"] = round(ratio, 2)
    results["cold_import_ratio_from_sources"] = round(seconds["app, from sources"] / boto, 2)
    note(f"a push Lambda's first events, {max(3, repeat // 3)} rounds")
    pushes, actions = first_push_seconds(interpreter, [as_shipped, rt], max(3, repeat // 3))
    first_event = pushes["first push"] - pushes["second push"]
    cold_push = seconds["app, as shipped (bytecode)"] + first_event
    results["cold_push_ratio_shipped"] = round(cold_push / boto, 2)
    cold_rows += [
        ["push Lambda: `import app` in the same process (in-process clock)",
         f"{pushes['import app'] * 1000:.0f}", f"{pushes['import app'] / boto:.2f}"],
        ["push Lambda: first push handled (cold)", f"{pushes['first push'] * 1000:.0f}", ""],
        ["push Lambda: second push handled (warm)", f"{pushes['second push'] * 1000:.0f}", ""],
        ["push Lambda's cold start: `import app` + (first push - second push)",
         f"{cold_push * 1000:.0f}", f"{cold_push / boto:.2f}"],
    ]  # fmt: skip
    cold = table([f"fresh `python -S` ({runtime}: {interpreter}), from the unzipped zip",
                  "median ms", "ratio to import boto3"], cold_rows)  # fmt: skip
    cold += [
        "",
        f"Median of {repeat} interleaved runs each; PYTHONPATH = the unzipped zip, then a "
        f"directory holding only what the runtime provides (its own boto3 and dependencies, "
        f"compiled), as /var/task precedes the runtime's libraries on Lambda. The zip ships "
        f"its own boto3/botocore (issue 30), so 'boto3' is the zip's copy, the same boto3 app "
        f"imports; the row '{RUNTIME_BOTO3}' is the runtime's copy alone: the bundled SDK "
        f"imports in {seconds['boto3'] / seconds[RUNTIME_BOTO3]:.2f}x its time (the zip's "
        f"botocore data holds only Berth's services, without documentation strings). Checked in "
        f"this run: the cold starts import botocore {bundled[0]} from the zip "
        f"({Path(bundled[1]).relative_to(as_shipped)}), the runtime's row botocore {runtimes[0]} "
        f"from the runtime's directory. What bundling costs: {results['sdk_unzipped_mib']:.2f} "
        f"MiB of the zip's {results['zip_unzipped_mib']:.2f} MiB unzipped, and "
        f"{(seconds['boto3'] - seconds[RUNTIME_BOTO3]) * 1000:+.0f} ms at import against the "
        f"runtime's copy; what it buys: the request shapes Berth renders (strategy, "
        f"lifecycleHooks, canaryConfiguration...) whatever SDK the runtime carries, checked at "
        f"packaging. Each process is timed from its start to "
        f"the end of the init it models "
        f"(os._exit right after the import): a Lambda's init ends there, and the interpreter's "
        f"teardown is part of no cold start. Runs before 2026-12-06 11:00 UTC timed to the "
        f"interpreter's exit; the two rows 'timed to the interpreter's exit' keep that method "
        f"(app's ratio there is over boto3 timed alike: "
        f"{seconds[TEARDOWN_APP] / seconds[TEARDOWN_BOTO3]:.2f}x). It would flatter app: app.py "
        f"imports with the cyclic collector paused and then freezes what the import built "
        f"(gc.freeze), which leaves the teardown's last collection little to walk. Pausing the "
        f"collector during the import saves "
        f"{(seconds[COLLECTOR_RUNNING] - seconds['app, as shipped (bytecode)']) * 1000:.0f} ms "
        f"(the row '{COLLECTOR_RUNNING}'). "
        f"The headline is 'app, as shipped': {ratio:.2f}x a bare import boto3. Berth's "
        f"models are built on first use (pydantic defer_build), so part of what 'app + every "
        f"flow, every model built' costs moves into a Lambda's first event, and only for the "
        f"models that event uses: the push rows measure that end to end, each push against the "
        f"sandbox's moto server (its calls are inside both pushes; their difference is the cold "
        f"share). The pushes did: {', '.join(actions)}.",
        "The floor: importing what every handler needs before any of Berth's own modules "
        "(boto3, pydantic's BaseModel, powertools' Logger and Metrics, Chalice's app module) "
        f"is the row '{FLOOR}'. The class statement of any pydantic model, even one without "
        "fields, loads pydantic.fields and with it pydantic.types and annotated_types: the row "
        f"'{FLOOR_MODEL}'.",
        f"Goal <= 1.5x {'met' if ratio <= 1.5 else 'not met'}; a push Lambda end to end "
        f"{cold_push / boto:.2f}x, goal <= 2.2x "
        f"{'met' if cold_push / boto <= 2.2 else 'not met'}. The libraries alone are "
        f"{floor / boto:.2f}x, {floor_model / boto:.2f}x with the first model class; Berth's own "
        f"modules add {(app - floor_model) * 1000:.0f} ms ({(app - floor_model) / boto:.2f}x) "
        "to that.",
        "",
        *client_rows(interpreter, [as_shipped, rt], repeat),
    ]
    return [("Package size", size), ("Cold start from the package as shipped", cold)]


# ---- rendering and validation ------------------------------------------------------------------


def fifty_service_spec() -> str:
    import yaml

    base = yaml.safe_load(example_spec())
    # MI's service without its Service Connect offer and use: fifty copies cannot all offer
    # the discovery name "mi", and none of them offers "apim".
    template = {k: v for k, v in base["services"]["mi"].items() if k != "serviceConnect"}
    base["services"] = {
        f"svc-{i:02d}": {**template, "dependsOn": [f"svc-{i - 1:02d}"] if i else []}
        for i in range(50)
    }
    return yaml.safe_dump(base, sort_keys=False)


def section_render(results: dict[str, Any]) -> Section:
    from chalicelib.rendering.images import ImageRef
    from chalicelib.rendering.task_definition import render_task_definition
    from chalicelib.spec import source as yamlsource

    image = ImageRef("wso2am", "sha256:" + "a" * 64, "4.7.0-1")
    libyaml = yamlsource.C_LOADER
    rows = []
    ratios = []
    for label, text in (
        ("2 services (examples/wso2-dev.yaml)", example_spec()),
        ("50 services", fifty_service_spec()),
    ):
        raw = text.encode()
        fast = median_seconds(lambda raw=raw: parse_spec(raw, "bench.yaml"), repeat=30)
        yamlsource.C_LOADER = None  # what validation was: PyYAML's pure-Python parser
        try:
            pure = median_seconds(lambda raw=raw: parse_spec(raw, "bench.yaml"), repeat=30)
        finally:
            yamlsource.C_LOADER = libyaml
        spec = parse_spec(raw, "bench.yaml")
        render = median_seconds(
            lambda spec=spec: [
                render_task_definition(spec, n, image, ACCOUNT, REGION) for n in spec.services
            ],
            repeat=20,
        )
        ratios.append(pure / fast)
        rows.append([label, f"{1 / fast:.0f}", f"{1 / pure:.0f}", f"{pure / fast:.1f}",
                     f"{1 / render:.0f}"])  # fmt: skip
    results["validate_speedup_vs_pure"] = round(ratios[0], 2)
    results["validate_speedup_vs_pure_50_services"] = round(ratios[1], 2)
    lines = table(
        ["spec", "validated specs/s (libyaml)", "validated specs/s (pure PyYAML)", "speed-up",
         "rendered specs/s (all services)"],
        rows,
    )  # fmt: skip
    lines += [
        "",
        f"libyaml present: {'yes' if libyaml is not None else 'no'}. Validation is parse_spec "
        "(load with positions, model, semantic rules); the pure column sets "
        "yamlsource.C_LOADER = None, which is what a PyYAML without libyaml does.",
    ]
    return "Rendering and validation", lines


# ---- burst -------------------------------------------------------------------------------------


def burst(n: int, seed: int = 7) -> list[object]:
    import botocore.exceptions  # noqa: F401 - loaded before threads start

    with Sandbox(rollout_seconds=0.0) as box:
        box.push("wso2mi", "4.4.0-1")
        box.push("wso2am", "4.7.0-1")
        box.upload_spec(box.adapt_spec(example_spec()))
        box.run_until_idle()
        ecr = box.client("ecr")
        distinct = max(1, n // 2)
        events = []
        for build in range(2, distinct + 2):
            tag = f"4.7.0-{build}"
            digest = put_image(ecr, "wso2am", tag)
            events.append(image_event(tag, digest, build))
        deliveries = [dict(e) for e in events for _ in range(2)][:n]  # every event delivered twice
        random.Random(seed).shuffle(deliveries)
        handler = __import__("app").on_image_pushed
        mark = box.recorder.mark()
        retries = 0
        lock = threading.Lock()

        def deliver(event: dict[str, Any]) -> None:
            nonlocal retries
            for attempt in range(6):
                try:
                    handler(event, LambdaContext("on_image_pushed", f"burst-{attempt}"))
                    return
                except Exception:  # Lambda retries an invocation that raised
                    with lock:
                        retries += 1
                    time.sleep(0.05 * (attempt + 1))

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(deliver, deliveries))
        seconds = time.perf_counter() - started
        updates = [c for c in box.recorder.since(mark) if c.operation == "RegisterTaskDefinition"]
        tags = [
            c.params["containerDefinitions"][0]["dockerLabels"]["berth.image.tag"] for c in updates
        ]
        backwards = sum(1 for a, b in itertools.pairwise(tags) if version_key(b) < version_key(a))
        head = (
            __import__("chalicelib.handlers", fromlist=["berth"])
            .berth()
            .store.get_head("dev", "apim")
        )
        newest = f"4.7.0-{distinct + 1}"
        return [
            n,
            distinct,
            f"{seconds:.1f}",
            f"{n / seconds:.1f}",
            len(updates),
            backwards,
            "yes" if head.image and head.image.tag == newest else f"no ({head.image})",
            retries,
        ]


def image_event(tag: str, digest: str, build: int, repository: str = "wso2am") -> dict[str, Any]:
    when = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC) + datetime.timedelta(seconds=build)
    return {
        "version": "0",
        "id": f"burst-{tag}",
        "detail-type": "ECR Image Action",
        "source": "aws.ecr",
        "account": ACCOUNT,
        "time": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [],
        "detail": {
            "result": "SUCCESS",
            "repository-name": repository,
            "image-digest": digest,
            "action-type": "PUSH",
            "image-tag": tag,
        },
    }


def section_burst(sizes: list[int]) -> Section:
    rows = [burst(n) for n in sizes]
    lines = table(
        [
            "events",
            "distinct images",
            "seconds",
            "events/s",
            "task definitions registered",
            "older after newer",
            "newest image ends up recorded",
            "Lambda retries",
        ],
        rows,
    )
    base = float(rows[0][2]) / int(rows[0][0])
    lines += [
        "",
        "Time per event relative to the smallest burst: "
        + ", ".join(f"N={r[0]}: {float(r[2]) / int(r[0]) / base:.2f}" for r in rows),
    ]
    lines += [
        "",
        "Every event is delivered twice, shuffled, by 8 concurrent invocations (Lambda retries "
        "an invocation that raises, here after a short back-off). Deployments made are at most the "
        "distinct images, each newer than the one before it; the recorded head ends on the newest.",
    ]
    return "Burst of image pushes", lines


# ---- an idle `berth sandbox up` ------------------------------------------------------------------

IDLE_WINDOW = 20.0  # seconds of CPU time counted, after the sandbox settled
POLLING_LOOP = """
import threading
from berth.sandbox.sandbox import Sandbox
from berth.sandbox.server import quiet_logs
quiet_logs()
with Sandbox(rollout_seconds=2.0) as box:
    print("Ctrl-C stops it.", flush=True)
    stop = threading.Event()
    while not stop.is_set():  # the loop `up` had: a turn, then 0.2 s, whatever happened
        if not box.step():
            stop.wait(0.2)
"""


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (/proc/PID/stat utime and stime)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def idle_cpu_percent(command: list[str]) -> float:
    """Percent of one core a sandbox spends doing nothing: started, settled for 2 s, then
    IDLE_WINDOW seconds of its CPU time counted; stopped with Ctrl-C (SIGINT)."""
    process = subprocess.Popen(
        command, cwd=tempfile.mkdtemp(prefix="berth-bench-idle-"), text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    try:
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith("Ctrl-C stops it."):
                break
        threading.Thread(target=process.stdout.read, daemon=True).start()  # keep it drained
        time.sleep(2.0)
        before, started = cpu_seconds(process.pid), time.monotonic()
        time.sleep(IDLE_WINDOW)
        spent = cpu_seconds(process.pid) - before
        return 100.0 * spent / (time.monotonic() - started)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def section_idle(results: dict[str, Any]) -> Section:
    note("idle sandbox: CPU of `berth sandbox up` doing nothing, and of the old polling loop")
    waiting = idle_cpu_percent([str(Path(PYTHON).parent / "berth"), "sandbox", "up"])
    polling = idle_cpu_percent([PYTHON, "-c", POLLING_LOOP])
    results["idle_cpu_percent_of_core"] = round(waiting, 2)
    results["idle_cpu_percent_of_core_polling"] = round(polling, 2)
    tick = 100.0 / os.sysconf("SC_CLK_TCK") / IDLE_WINDOW  # one clock tick, in percent
    date = f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC"

    def shown(percent: float) -> str:
        return f"{percent:.2f} %" if percent > 0 else f"< {tick:.2f} % (not one tick counted)"

    rows = [
        ["`berth sandbox up` (waits on events)", shown(waiting)],
        ["the loop it replaced (a turn every 0.2 s)", shown(polling)],
    ]
    ratio = (
        f"the polling loop spends {polling / waiting:.0f}x what waiting does"
        if waiting > 0
        else f"waiting, not one clock tick was counted while the polling loop spent {polling:.1f} %"
    )
    return "Idle sandbox", [
        *table(["an idle sandbox, nothing queued or due", "CPU, percent of one core"], rows),
        "",
        f"Each started in a fresh directory, left 2 s to settle, then its user + system CPU "
        f"time (/proc) counted over {IDLE_WINDOW:.0f} s, where one clock tick is {tick:.2f} % "
        f"of a core; both in the same run ({date}), one after the other: {ratio}. `up` sleeps "
        "until a message is sent to one of the sandbox's queues or ECS is given work "
        "(berth/sandbox/wakeup.py), or until the simulated ECS's next due time; tests count "
        "its turns, never its time (tests/unit/test_sandbox_wakeup.py, "
        "tests/integration/test_sandbox_up.py).",
    ]


GOALS = [
    # key, target, met when, what is measured
    ("calls_per_image_update", "<= 10", lambda v: v <= 10,
     "the push and every ECS event of one image update, 300 s rollout on the simulated clock "
     "(the same at 3 s and 20 s, below); the 5-minute sweep is counted apart, in "
     "`berth_calls_300s`"),
    ("calls_per_image_update_with_started", "measured", lambda v: v is not None,
     "the same on a stage with BERTH_NOTIFY_STARTED=true ('deploying' told; off by default)"),
    ("ecs_calls_per_image_update", "<= 3", lambda v: v <= 3, "ECS calls of the same"),
    ("cold_import_ratio_shipped", "<= 1.5", lambda v: v <= 1.5,
     "fresh `python3.13 -S -c 'import app'` in the unzipped zip as shipped (bytecode, its own "
     "SDK), over `import boto3` of the same zip's boto3, medians"),
    ("cold_push_ratio_shipped", "<= 2.2", lambda v: v <= 2.2,
     "a push Lambda end to end: `import app` + its first push's excess over a warm push (the "
     "flow's imports, boto3's clients, the models it builds), over `import boto3`"),
    ("validate_speedup_vs_pure", ">= 5", lambda v: v >= 5,
     "parse_spec of examples/wso2-dev.yaml, libyaml over pure PyYAML, medians of 30"),
    ("zip_unzipped_mib", "<= 12", lambda v: v <= 12,
     "make package's deployment.zip with its own SDK (issue 30), unzipped"),
    ("sdk_unzipped_mib", "measured", lambda v: v is not None,
     "what the bundled SDK (boto3, botocore and their dependencies) takes of that zip, unzipped"),
    ("bundled_botocore", "measured", lambda v: v is not None,
     "the botocore the cold starts above imported, checked in the run to be the zip's own"),
    ("ecs_deploy_calls_300s", "measured", lambda v: v is not None,
     "ecs-deploy, default 1 s polls, 300 s rollout on the simulated clock (checked above)"),
    ("berth_calls_300s", "measured", lambda v: v is not None,
     "Berth, 300 s rollout on the simulated clock, with the sweep run inside it"),
    ("idle_cpu_percent_of_core", "< 2", lambda v: v < 2,
     "`berth sandbox up` with nothing to do: its CPU time over 20 s (issue 32; the polling "
     "loop it replaced in `idle_cpu_percent_of_core_polling`)"),
]  # fmt: skip


# Why each call of an image update is there (issue 17: "every call that remains is justified").
# Keyed by operation; the counts come from the run, the reasons from the code's design.
CALL_REASONS: dict[str, str] = {
    "dynamodb:Scan": "push: the accepted specs, to find every service that tracks the pushed "
    "repository (one item per environment)",
    "ecr:DescribeImages": "push: ECR's own word on the digest, its tags and first push time "
    "(issue 14: a push event whose digest ECR does not hold, or a tag carrying another tag's "
    "digest, must not deploy)",
    "dynamodb:GetItem": "push: the service head, to judge the image against what runs "
    "(COMPLETED reads no record: the head item keeps a copy of it)",
    "dynamodb:TransactWriteItems": "push: the claim (record + head with the start lease) and "
    "the start (record IN_PROGRESS + head with the task definition), each writing the copy of "
    "the record into the head; COMPLETED: record + head handed back, conditioned on the record "
    "being unchanged since the copy; each one conditional transaction, which is also what "
    "de-duplicates redelivered events",
    "ecs:RegisterTaskDefinition": "push: the new digest's task definition",
    "ecs:UpdateService": "push: the service moved to it (only the task definition is sent)",
    "dynamodb:Query": "COMPLETED: the service head (with its copy of the active record) and "
    "whoever waits for it, in one consistent read; the sweep: one query of the sparse index of "
    "unsettled records",
    "sns:Publish": "COMPLETED: the outcome; push: 'deploying', only on a stage with "
    "BERTH_NOTIFY_STARTED=true",
}


def update_calls(run: dict[str, Any]) -> int:
    """An image update's own calls: everything measured but the scheduled sweep's runs."""
    return int(run["whole"][0] - run["sweep"][0])


def why_each_call(operations: dict[str, int], with_started: dict[str, int]) -> list[str]:
    rows = [
        [op, operations.get(op, 0), with_started.get(op, 0),
         CALL_REASONS.get(op, "NOT JUSTIFIED: a call this table does not know")]
        for op in sorted({*operations, *with_started})
    ]  # fmt: skip
    return [
        "Why each call is made:",
        "",
        *table(["operation", "calls", "with BERTH_NOTIFY_STARTED=true", "why"], rows),
        "",
        "Removed since the last figures: the record read on COMPLETED (the head item keeps a "
        "copy of the active record, written by the same transactions as the record; the "
        "concluding write requires the record's stamp unchanged since the copy, so a stale copy "
        "never overwrites a newer record). When the record was written alone since the copy (an "
        "approval, a blue/green stage line, an impaired-tasks cause, a rollback's start) the "
        "refused transaction and a GetItem cost 2 calls more than the figures above "
        "(tests/integration/test_head_copy.py). The 'deploying' notification is off by default "
        "(as Keel's default notification level leaves out its pre-update notice): "
        "BERTH_NOTIFY_STARTED=true adds it (the second column).",
        "",
        "What the last calls would cost to remove (not done): the ECR check (1; issue 14 asks "
        "for it); the Scan of the accepted specs on a push (1; it finds every service tracking "
        "the repository, in every environment: an index item per repository would have to be "
        "kept in step with every accepted spec); the head read on a push (1; the image is judged "
        "against what runs, which only the head knows); and the sweep's query (1 every 5 "
        "minutes, counted apart: it runs whatever deploys, and is what settles a rollout whose "
        "ECS events never came).",
    ]


def section_goals(results: dict[str, Any]) -> Section:
    rows: list[list[object]] = []
    for key, target, met, method in GOALS:
        value = results.get(key)
        verdict = "n/a" if value is None else ("met" if met(value) else "NOT MET")
        rows.append([f"`{key}`", value, target, verdict, method])
    return "Goals (issues 17 and 30)", table(["key", "figure", "target", "", "method"], rows)


PARTS: dict[str, Callable[[dict[str, Any]], Section]] = {"idle": section_idle}
"""Sections `python -m bench PART` measures alone, merged into the last full run's results."""


def replace_section(text: str, title: str, lines: list[str]) -> str:
    """results.md with the section `title` replaced (or appended), the others as they were."""
    body = f"## {title}\n\n" + "\n".join(lines) + "\n"
    start = text.find(f"\n## {title}\n")
    if start < 0:
        return text.rstrip("\n") + "\n\n" + body
    end = text.find("\n## ", start + 1)
    return text[: start + 1] + body + ("" if end < 0 else text[end:])


def main_part(names: list[str]) -> None:
    """Measure only `names` (PARTS); merge their figures into results.json and their sections
    and the goals into results.md, keeping the other figures of the last full run."""
    results_file, report = ROOT / "bench" / "results.json", ROOT / "bench" / "results.md"
    results: dict[str, Any] = json.loads(results_file.read_text())
    text = report.read_text()
    for name in names:
        title, lines = PARTS[name](results)
        text = replace_section(text, title, lines)
        print("\n".join([f"## {title}", "", *lines]))
    title, lines = section_goals(results)
    report.write_text(replace_section(text, title, lines))
    results_file.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")


def main() -> None:
    quiet_logs()
    if sys.argv[1:]:
        unknown = sorted(set(sys.argv[1:]) - set(PARTS))
        if unknown:
            sys.exit(f"bench: unknown part {unknown}; parts: {', '.join(PARTS)}")
        main_part(sys.argv[1:])
        return
    sizes = [int(s) for s in os.environ.get("BERTH_BENCH_BURST", "10,100,1000").split(",")]
    results: dict[str, Any] = {}
    sections = [section_calls(results), *section_package(results), section_render(results)]
    sections.append(section_burst(sizes))
    sections.append(section_idle(results))
    sections.insert(0, section_goals(results))
    machine = (
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}"
    )
    out = [
        "# Berth benchmarks",
        "",
        f"Command: `make bench` (python -m bench). Machine: {machine}. "
        f"Date: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC.",
        "All AWS calls go to the sandbox's moto server on 127.0.0.1; ECS rollouts are simulated "
        "(in real time, or on a simulated clock where a row says so). Headline figures are also "
        "in bench/results.json.",
    ]
    for title, lines in sections:
        out += ["", f"## {title}", "", *lines]
    text = "\n".join(out) + "\n"
    (ROOT / "bench" / "results.md").write_text(text)
    results["date"] = f"{datetime.datetime.now(datetime.UTC):%Y-%m-%dT%H:%M:%SZ}"
    (ROOT / "bench" / "results.json").write_text(
        json.dumps(results, indent=2, sort_keys=True) + "\n"
    )
    print(text)


if __name__ == "__main__":
    main()
