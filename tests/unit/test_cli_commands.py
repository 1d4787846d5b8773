"""The operator commands' pure parts, without AWS: keys, following a run, diffs, tables, pages."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import click
import pytest

from berth.commands import OperatorError
from berth.commands.deploy import Follower, caused_by, progress_line, spec_key, summary
from berth.commands.diff import ServiceDiff, coloured, diff_lines, owned_view, unified
from berth.commands.report import html_report, tone
from berth.commands.status import (
    Running,
    ServiceStatus,
    history_lines,
    revision,
    short_digest,
    status_table,
    trigger_text,
)
from chalicelib.decisions.changes import ServiceChange
from chalicelib.values.records import (
    SPEC_SERVICE,
    AcceptedSpec,
    DeploymentRecord,
    Image,
    SpecVersion,
    Trigger,
)
from tests.fakes import InMemoryStore

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
DIGEST = "sha256:" + "ab" * 32


def record(service="apim", status="COMPLETED", version="v1", minute=0, **fields):
    created = T0 + timedelta(minutes=minute)
    trigger = Trigger(
        kind="spec",
        event_id="e",
        spec=SpecVersion(bucket="b", key="specs/dev/wso2.yaml", version_id=version),
    )
    values = {
        "environment": "dev",
        "service": service,
        "record_id": f"D#{created.isoformat()}#{service}{version}",
        "run_id": "r",
        "status": status,
        "trigger": trigger,
        "image": Image(repository="wso2am", digest=DIGEST, tag="4.7.0-9"),
        "created_at": created,
        "updated_at": created,
        **fields,
    }
    return DeploymentRecord(**values)


# ---- deploy ---------------------------------------------------------------------------------------


def test_spec_key_is_the_environments_spec_file_when_it_has_one():
    # Berth takes one spec file per environment: a deploy edits it, whatever the local name.
    assert spec_key("dev", "out/sandbox-wso2-dev.yaml", "specs/dev/wso2.yaml") == "specs/dev/wso2.yaml"


def test_spec_key_is_the_environment_folder_and_the_file_name():
    assert spec_key("dev", "some/dir/wso2.yaml") == "specs/dev/wso2.yaml"
    assert spec_key("prod", "wso2-prod.json") == "specs/prod/wso2-prod.json"
    with pytest.raises(OperatorError, match=r"only \.yaml, \.yml and \.json"):
        spec_key("dev", "notes.txt")
    # Berth takes one spec file per environment: a deploy replaces the accepted one.
    assert spec_key("dev", "other.yaml", "specs/dev/wso2.yaml") == "specs/dev/wso2.yaml"


def test_caused_by_keeps_only_the_upload_s_records_oldest_first():
    mine = [record("ei", minute=2), record("apim", minute=1)]
    other = record("apim", version="v0")
    pushed = record("apim").model_copy(update={"trigger": Trigger(kind="image", event_id="x")})
    assert caused_by([*mine, other, pushed], "v1") == [mine[1], mine[0]]


def test_progress_line_names_service_status_image_reason_and_causes():
    failed = record(
        status="ROLLED_BACK",
        reason="tasks failed",
        causes=["tasks failed", "task x stopped: exit 137"],
    )
    assert progress_line(failed) == (
        "apim: ROLLED_BACK 4.7.0-9 (tasks failed)\n  task x stopped: exit 137"
    )
    rejected = record(SPEC_SERVICE, "REJECTED", image=None, errors=["f:1:1: x: bad"])
    assert progress_line(rejected) == "spec: REJECTED\n  f:1:1: x: bad"


def test_summary_says_deployed_not_deployed_or_nothing_to_do():
    assert summary([]).startswith("nothing to deploy")
    assert summary([record("apim"), record("ei")]) == "deployed: apim, ei"
    assert summary([record("apim", "FAILED"), record("ei", "SKIPPED")]) == (
        "not deployed: apim FAILED, ei SKIPPED"
    )


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def follower(store, lines, clock):
    return Follower(store, "dev", ["apim", "ei"], "v1", lines.append, clock.sleep, clock)


def test_follow_prints_each_change_once_and_returns_when_all_have_an_outcome():
    store, lines, clock = InMemoryStore(), [], Clock()
    pending = record("apim", "IN_PROGRESS")
    store.put_record(pending)
    steps = iter([lambda: None, lambda: store.transition(pending, {"IN_PROGRESS"}, status="COMPLETED")])

    def sleep(seconds):
        clock.sleep(seconds)
        next(steps, lambda: None)()

    follow = Follower(store, "dev", ["apim", "ei"], "v1", lines.append, sleep, clock)
    records = follow.follow(timeout=60, interval=1)
    assert [r.status for r in records] == ["COMPLETED"]
    assert lines == ["apim: IN_PROGRESS 4.7.0-9", "apim: COMPLETED 4.7.0-9"]


def test_follow_ends_with_nothing_when_the_spec_is_accepted_and_no_record_comes():
    store, lines, clock = InMemoryStore(), [], Clock()
    store.specs["dev"] = AcceptedSpec(
        environment="dev",
        account="1",
        region="r",
        source=SpecVersion(bucket="b", key="k", version_id="v1"),
        accepted_at=T0,
    )
    assert follower(store, lines, clock).follow(timeout=60, interval=1) == []
    assert clock.now == 1  # one more poll after seeing it accepted: records follow acceptance


def test_follow_gives_up_after_the_timeout_saying_what_is_still_under_way():
    store, lines, clock = InMemoryStore(), [], Clock()
    store.put_record(record("apim", "IN_PROGRESS"))
    with pytest.raises(OperatorError) as raised:
        follower(store, lines, clock).follow(timeout=5, interval=1)
    assert str(raised.value) == (
        "gave up waiting after 5 s (still apim IN_PROGRESS); the run goes on: berth status dev"
    )


# ---- diff ----------------------------------------------------------------------------------------


def test_owned_view_keeps_what_berth_sets_and_sorts_sets():
    live = {
        "desiredCount": 2,
        "status": "ACTIVE",
        "deploymentConfiguration": {"maximumPercent": 200, "alarms": {"enable": False}},
        "loadBalancers": [
            {"targetGroupArn": "b", "containerPort": 1, "loadBalancerName": None},
            {"targetGroupArn": "a", "containerPort": 2},
        ],
    }
    wanted = {
        "deploymentConfiguration": {"maximumPercent": 100},
        "loadBalancers": [{"targetGroupArn": "x", "containerPort": 1}],
    }
    assert owned_view(live, wanted) == {
        "deploymentConfiguration": {"maximumPercent": 200},
        "loadBalancers": [
            {"containerPort": 1, "targetGroupArn": "b"},
            {"containerPort": 2, "targetGroupArn": "a"},
        ],
    }


def test_unified_diff_of_json_values():
    assert unified({"a": 1}, {"a": 1}, "live", "new") == []
    lines = unified({"a": 1, "b": 2}, {"a": 1, "b": 3}, "live", "new")
    assert lines[:2] == ["--- live", "+++ new"]
    assert '-  "b": 2' in lines and '+  "b": 3' in lines
    assert unified(None, {"a": 1}, "live", "new")[-3:] == ["+{", '+  "a": 1', "+}"]


def test_diff_lines_colour_like_diff_and_list_unchanged_services():
    assert coloured("-x") == click.style("-x", fg="red")
    assert coloured("+x") == click.style("+x", fg="green")
    assert coloured("@@ -1 +1 @@") == click.style("@@ -1 +1 @@", fg="cyan")
    assert coloured(" same") == " same"
    diffs = [
        ServiceDiff("apim", ServiceChange("revision", "differs"), None, ["--- a", "+++ b"], []),
        ServiceDiff("ei", ServiceChange("none", "same"), None, [], []),
    ]
    plain = [click.unstyle(line) for line in diff_lines(diffs)]
    assert plain == [
        "apim: new task definition revision",
        "  differs",
        "--- a",
        "+++ b",
        "no change: ei",
    ]


# ---- status and history ---------------------------------------------------------------------------


def test_small_formats():
    assert short_digest(DIGEST) == "abababababab"
    assert short_digest(None) == "-"
    assert revision("arn:aws:ecs:us-east-1:1:task-definition/dev-apim:7") == "dev-apim:7"
    assert trigger_text(record()) == "spec s3://b/specs/dev/wso2.yaml@v1"
    pushed = Trigger(kind="image", event_id="e", image=Image(repository="wso2am", digest=DIGEST, tag="4.7.0-9"))
    assert trigger_text(record(trigger=pushed)) == "push wso2am:4.7.0-9"


def status_row(history, service="apim"):
    running = Running(
        "arn:aws:ecs:us-east-1:1:task-definition/dev-apim:3", "4.7.0-9", DIGEST, "COMPLETED", 1, 1
    )
    return ServiceStatus("dev", service, "wso2-dev", running, history)


def test_status_table_aligns_columns():
    lines = status_table([status_row([record(finished_at=T0)]), status_row([], "ei")])
    assert lines[0].split() == [
        "ENV", "SERVICE", "TAG", "DIGEST", "TASK", "DEFINITION", "ROLLOUT", "LAST", "WHEN",
    ]  # fmt: skip
    assert lines[1].split() == [
        "dev", "apim", "4.7.0-9", "abababababab", "dev-apim:3", "COMPLETED", "1/1", "COMPLETED",
        "2025-03-01", "12:00:00",
    ]  # fmt: skip
    assert lines[2].endswith("-")
    assert len({line.index("TAG") for line in lines[:1]}) == 1


def test_status_leaves_an_upload_rejected_before_a_later_accepted_one_to_history():
    # Issue 32: status kept an old REJECTED `(spec)` row after a later upload succeeded.
    from berth.commands.status import collect
    from tests.fakes import FakeEcs

    store = InMemoryStore()
    document = {
        "berth": 1, "environment": "dev", "cluster": "wso2-dev",
        "services": {"apim": {"product": "wso2am", "image": "wso2am"}},
    }  # fmt: skip
    source = SpecVersion(bucket="b", key="specs/dev/wso2.yaml", version_id="v2")

    def accept(minute: int) -> None:
        store.specs["dev"] = AcceptedSpec(
            environment="dev", account="123456789012", region="us-east-1", source=source,
            accepted_at=T0 + timedelta(minutes=minute), document=document,
        )  # fmt: skip

    def shown() -> list[tuple[str, str]]:
        rows = collect(store, FakeEcs(), "dev")
        return [(r.service, r.last.status if r.last else "-") for r in rows]

    # Given an upload rejected at 12:01, then a later one accepted at 12:02
    store.put_record(record(SPEC_SERVICE, "REJECTED", version="v1", minute=1))
    accept(2)
    store.put_record(record("apim", "COMPLETED", version="v2", minute=2))
    # Then status shows apim's outcome, and the rejection only in history
    assert shown() == [("apim", "COMPLETED")]
    assert [r.status for r in store.history("dev", SPEC_SERVICE)] == ["REJECTED"]
    # And a rejection newer than the accepted spec is the environment's news
    store.put_record(record(SPEC_SERVICE, "REJECTED", version="v3", minute=3))
    assert shown() == [("apim", "COMPLETED"), (SPEC_SERVICE, "REJECTED")]


def test_history_lines_newest_first_with_reasons_causes_and_errors_once():
    lines = history_lines(
        [record(minute=5, status="FAILED", reason="r", causes=["r", "c"]), record(minute=1)]
    )
    assert lines[0].startswith("2025-03-01 12:05:00  FAILED      4.7.0-9")
    assert lines[1:3] == ["    r", "    c"]
    assert lines[3].startswith("2025-03-01 12:01:00  COMPLETED")


class Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []
        self.classes: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.classes += [v for k, v in attrs if k == "class" and v]

    def handle_data(self, data):
        self.text.append(data)


def test_html_report_escapes_every_value_and_needs_nothing_else():
    hostile = '<script>alert("x")</script>'
    rows = [
        status_row([record(status="ROLLED_BACK", reason=hostile), record(minute=-5)]),
        status_row([record(SPEC_SERVICE, "REJECTED", errors=[f"f:1:1: {hostile}: unknown"])],
                   SPEC_SERVICE),
    ]  # fmt: skip
    page = html_report(rows, "Berth <dev>", T0)
    parser = Page()
    parser.feed(page)
    assert "script" not in parser.tags
    text = "".join(parser.text)
    assert hostile in text and "Berth <dev>" in text
    assert "spec uploads" in text
    assert not re.search(r'(src|href)=', page)  # self-contained: nothing fetched
    assert {"badge bad", "badge good", "timeline"} <= set(parser.classes)
    assert tone("IN_PROGRESS") == "busy"
