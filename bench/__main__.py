"""`make bench`: what a Berth deployment costs, each figure beside a baseline from the same run.

Runs against the sandbox (moto on 127.0.0.1, simulated ECS). Writes bench/results.md.
Not part of `make test`: nothing here asserts a time.
"""

from __future__ import annotations

import datetime
import itertools
import os
import platform
import random
import shutil
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

from berth.sandbox.sandbox import (  # noqa: E402
    ACCOUNT,
    REGION,
    LambdaContext,
    Sandbox,
    example_spec,
    put_image,
)
from berth.sandbox.server import quiet_logs  # noqa: E402
from chalicelib.spec import parse_spec  # noqa: E402
from chalicelib.tracks import version_key  # noqa: E402

Section = tuple[str, list[str]]


def table(header: list[str], rows: list[list[object]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return lines


def median_seconds(action: Callable[[], object], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


# ---- AWS calls and Lambda time per deployment ---------------------------------------------------


def _calls_of(box: Sandbox, since: int, function: str | None = None) -> tuple[int, float, int]:
    chosen = [d for d in box.deliveries[since:] if function is None or d.function == function]
    return sum(d.calls for d in chosen), sum(d.seconds for d in chosen), len(chosen)


def berth_calls(rollout_seconds: float) -> dict[str, Any]:
    with Sandbox(rollout_seconds=rollout_seconds) as box:
        box.push("wso2mi", "4.4.0-1")
        box.push("wso2am", "4.7.0-1")
        box.run_until_idle()
        since = len(box.deliveries)
        box.upload_spec(box.adapt_spec(example_spec()))
        box.run_until_idle()
        first_upload = _calls_of(box, since, "on_spec_uploaded")
        first_all = _calls_of(box, since)
        since = len(box.deliveries)
        box.upload_spec(box.adapt_spec(example_spec()))
        box.run_until_idle()
        reupload = _calls_of(box, since, "on_spec_uploaded")
        since = len(box.deliveries)
        started = time.perf_counter()
        box.push("wso2am", "4.7.0-2")
        box.run_until_idle()
        rollout_wall = time.perf_counter() - started
        push = _calls_of(box, since, "on_image_pushed")
        follow = _calls_of(box, since, "on_deployment_state_change")
        ops = box.recorder.counts()
    return {
        "push": push,
        "follow": follow,
        "first_upload": first_upload,
        "first_all": first_all,
        "reupload": reupload,
        "rollout_wall": rollout_wall,
        "operations": ops,
    }


def ecs_deploy_baseline(rollout_seconds: float) -> dict[str, Any] | str:
    """fabfuel's ecs-deploy doing the same image update, waiting as its CLI does by default."""
    try:
        from click.testing import CliRunner
        from ecs_deploy.cli import ecs
    except ImportError as exc:
        return f"ecs-deploy not installed ({exc}); `make bench` installs it"
    import botocore.client

    with Sandbox(rollout_seconds=rollout_seconds) as box:
        box.push("wso2mi", "4.4.0-1")
        box.push("wso2am", "4.7.0-1")
        box.upload_spec(box.adapt_spec(example_spec()))
        box.run_until_idle()
        digest = box.push("wso2am", "4.7.0-2")
        box.client("sqs").purge_queue(QueueUrl=box.queue_of("on_image_pushed"))  # Berth stays out
        uri = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/wso2am@{digest}"
        counts: dict[str, int] = {}
        me = threading.get_ident()
        original = botocore.client.BaseClient._make_api_call

        def counted(client: Any, operation: str, params: Any) -> Any:
            if threading.get_ident() == me:
                counts[operation] = counts.get(operation, 0) + 1
            return original(client, operation, params)

        stop = threading.Event()

        def scheduler() -> None:
            while not stop.is_set():
                box.advance_ecs(publish=False)
                time.sleep(0.05)

        worker = threading.Thread(target=scheduler)
        worker.start()
        botocore.client.BaseClient._make_api_call = counted  # type: ignore[method-assign]
        started = time.perf_counter()
        try:
            result = CliRunner().invoke(
                ecs,
                [
                    "deploy",
                    "wso2-dev",
                    "apim",
                    "--image",
                    "apim",
                    uri,
                    "--region",
                    REGION,
                    "--timeout",
                    "60",
                    "--ignore-warnings",
                ],
            )
        finally:
            botocore.client.BaseClient._make_api_call = original  # type: ignore[method-assign]
            stop.set()
            worker.join()
        wall = time.perf_counter() - started
    return {"exit": result.exit_code, "calls": counts, "wall": wall, "output": result.output[-300:]}


def section_calls() -> Section:
    rollout = 3.0
    berth = berth_calls(rollout)
    base = ecs_deploy_baseline(rollout)
    push_calls, push_time, _ = berth["push"]
    follow_calls, follow_time, follow_n = berth["follow"]
    rows: list[list[object]] = [
        ["(a) image push deploying one service", push_calls, "on_image_pushed, 1 invocation"],
        [
            "(b) first upload of a two-service spec",
            berth["first_upload"][0],
            f"on_spec_uploaded; {berth['first_all'][0]} with both rollouts followed",
        ],
        [
            "(c) re-upload of an unchanged spec",
            berth["reupload"][0],
            "no ECS writes: the spec, describes, and Berth's own bookkeeping",
        ],
        [
            "(d) a rollout followed to completion",
            follow_calls,
            f"{follow_n} ECS events, no polling",
        ],
    ]
    lines = table(["Berth", "AWS calls", "notes"], rows)
    lines.append("")
    berth_total = push_calls + follow_calls
    if isinstance(base, str):
        lines.append(f"Baseline unavailable: {base}")
    else:
        total = sum(base["calls"].values())
        polls = base["calls"].get("DescribeServices", 0)
        fixed = total - polls
        per_second = polls / base["wall"]
        at_300 = fixed + round(per_second * 300)
        lines += table(
            ["one image update", "AWS calls", "of them polling", "ratio to Berth"],
            [
                [f"Berth (a) + (d), {rollout:.0f} s simulated rollout", berth_total, 0, "1.00"],
                [
                    f"ecs-deploy, same rollout (exit {base['exit']}, {base['wall']:.1f} s)",
                    total,
                    polls,
                    f"{total / berth_total:.2f}",
                ],
                [
                    "Berth, 300 s rollout (calls do not depend on its length)",
                    berth_total,
                    0,
                    "1.00",
                ],
                [
                    f"ecs-deploy, 300 s rollout (extrapolated: {per_second:.1f} polls/s)",
                    at_300,
                    at_300 - fixed,
                    f"{at_300 / berth_total:.2f}",
                ],
            ],
        )
        lines.append("")
        lines.append(
            "ecs-deploy calls: " + ", ".join(f"{k} {v}" for k, v in sorted(base["calls"].items()))
        )
    lines += [
        "",
        "Berth by operation over the whole run: "
        + ", ".join(f"{k} {v}" for k, v in sorted(berth["operations"].items())),
        "",
        "Why Berth makes more calls than ecs-deploy on a 3 s rollout: each invocation writes and "
        "completes its idempotency record (2 DynamoDB calls), the deployment record and the "
        "service head are written with conditional checks (the audit trail and the race guard), "
        "and each outcome is published to SNS. None of it grows with the rollout's length, while "
        "a waiting CLI polls for as long as ECS takes: WSO2 APIM's start period alone is 300 s.",
        "",
        table_time(push_time + follow_time, berth["rollout_wall"], rollout),
    ]
    return "AWS calls per deployment", lines


def table_time(lambda_seconds: float, wall: float, rollout: float) -> str:
    return (
        f"Lambda time for one deployment (sum over its {('push + ECS event')} invocations): "
        f"{lambda_seconds:.3f} s, against a simulated rollout of {rollout:.1f} s "
        f"({wall:.1f} s end to end) that a waiting CLI or pipeline step would hold: "
        f"ratio {lambda_seconds / wall:.3f}. On AWS rollouts of WSO2 take minutes (APIM's start "
        "period alone is 300 s), so the ratio only shrinks."
    )


# ---- cold start --------------------------------------------------------------------------------


def section_cold_start() -> Section:
    def fresh(code: str) -> float:
        return median_seconds(
            lambda: subprocess.run([PYTHON, "-c", code], cwd=ROOT, check=True, env={**os.environ}),
            repeat=7,
        )

    bare = fresh("pass")
    boto = fresh("import boto3")
    app = fresh("import app")
    lines = table(
        ["fresh interpreter", "median of 7 (s)", "ratio to import boto3"],
        [
            ["python -c pass", f"{bare:.3f}", f"{bare / boto:.2f}"],
            ["import boto3", f"{boto:.3f}", "1.00"],
            ["import app (all of Berth's Lambdas)", f"{app:.3f}", f"{app / boto:.2f}"],
        ],
    )
    out = subprocess.run(
        [PYTHON, "-X", "importtime", "-c", "import app"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stderr
    # Lines read "import time: self | cumulative | <two spaces per level>name"; app's direct
    # imports are one level deep.
    direct = []
    for line in out.splitlines():
        parts = line.split("|")
        if (
            len(parts) == 3
            and parts[1].strip().isdigit()
            and parts[2].startswith("   ")
            and not parts[2].startswith("    ")
        ):
            direct.append((int(parts[1]), parts[2].strip()))
    top = sorted(direct, reverse=True)[:5]
    lines += [
        "",
        "app.py's direct imports by cumulative import time (ms): "
        + ", ".join(f"{name} {us / 1000:.0f}" for us, name in top),
    ]
    return "Cold start", lines


# ---- package size ------------------------------------------------------------------------------


def section_package() -> Section:
    work = Path(tempfile.mkdtemp(prefix="berth-package-"))
    try:
        for name in ("app.py", "chalicelib", ".chalice", "requirements.txt"):
            src = ROOT / name
            (shutil.copytree if src.is_dir() else shutil.copy)(src, work / name)
        result = subprocess.run(
            [str(Path(PYTHON).parent / "chalice"), "package", "--stage", "prod", "out"],
            cwd=work,
            check=False,
            capture_output=True,
            text=True,
            env={**os.environ, "AWS_DEFAULT_REGION": REGION},
        )
        zip_path = work / "out" / "deployment.zip"
        if result.returncode != 0 or not zip_path.exists():
            return "Package size", [
                f"chalice package failed (it needs PyPI): {result.stderr.strip()[-300:]}"
            ]
        zipped = zip_path.stat().st_size
        with zipfile.ZipFile(zip_path) as archive:
            unzipped = sum(i.file_size for i in archive.infolist())
    finally:
        shutil.rmtree(work, ignore_errors=True)
    mb = 1024 * 1024
    return "Package size", table(
        ["deployment.zip", "MB", "Lambda limit (MB)", "share of limit"],
        [
            ["zipped", f"{zipped / mb:.1f}", 50, f"{zipped / (50 * mb):.0%}"],
            ["unzipped", f"{unzipped / mb:.1f}", 250, f"{unzipped / (250 * mb):.0%}"],
        ],
    )


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


def image_event(tag: str, digest: str, build: int) -> dict[str, Any]:
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
            "repository-name": "wso2am",
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


# ---- rendering and validation ------------------------------------------------------------------


def fifty_service_spec() -> str:
    import yaml

    base = yaml.safe_load(example_spec())
    template = base["services"]["ei"]
    base["services"] = {
        f"svc-{i:02d}": {**template, "dependsOn": [f"svc-{i - 1:02d}"] if i else []}
        for i in range(50)
    }
    return yaml.safe_dump(base, sort_keys=False)


def section_render() -> Section:
    import yaml

    from chalicelib.render import ImageRef, render_task_definition

    IMAGE = ImageRef("wso2am", "sha256:" + "a" * 64, "4.7.0-1")

    rows = []
    for label, text in (
        ("2 services (examples/wso2-dev.yaml)", example_spec()),
        ("50 services", fifty_service_spec()),
    ):
        raw = text.encode()
        load = median_seconds(lambda raw=raw: yaml.safe_load(raw), repeat=20)
        validate = median_seconds(lambda raw=raw: parse_spec(raw, "bench.yaml"), repeat=20)
        spec = parse_spec(raw, "bench.yaml")
        render = median_seconds(
            lambda spec=spec, image=IMAGE: [
                render_task_definition(spec, n, image, ACCOUNT, REGION) for n in spec.services
            ],
            repeat=20,
        )
        rows.append([label, f"{1 / validate:.0f}", f"{validate / load:.2f}", f"{1 / render:.0f}"])
    return "Rendering and validation", table(
        [
            "spec",
            "validated specs/s",
            "validation time / yaml.safe_load time",
            "rendered specs/s (all services)",
        ],
        rows,
    )


def main() -> None:
    quiet_logs()
    sizes = [int(s) for s in os.environ.get("BERTH_BENCH_BURST", "10,100,1000").split(",")]
    sections = [
        section_calls(),
        section_cold_start(),
        section_package(),
        section_burst(sizes),
        section_render(),
    ]
    machine = (
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}"
    )
    out = [
        "# Berth benchmarks",
        "",
        f"Command: `make bench` (python -m bench). Machine: {machine}. "
        f"Date: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC.",
        "All AWS calls go to the sandbox's moto server on 127.0.0.1 (about 9 ms a call here); "
        "ECS rollouts are simulated.",
    ]
    for title, lines in sections:
        out += ["", f"## {title}", "", *lines]
    text = "\n".join(out) + "\n"
    (ROOT / "bench" / "results.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
