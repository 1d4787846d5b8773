"""`berth status --html`: one self-contained page (no script, no fetched asset) of what runs in
each environment and a timeline of each service's recent deployments; every value escaped."""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape
from itertools import groupby

from berth.commands.status import (
    ServiceStatus,
    finished,
    revision,
    rollout_text,
    short_digest,
    trigger_text,
)
from chalicelib.values.records import SPEC_SERVICE, DeploymentRecord

GOOD = {"COMPLETED"}
UNDER_WAY = {"PENDING", "IN_PROGRESS", "ROLLING_BACK"}

# Tones colour the badges (white text on at least 4.5:1, WCAG AA) and the timeline's dots, never
# a timeline item itself: its text is the page's dark and grey on the page's light background.
STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:72rem;
 padding:0 1rem;color:#1d2330;background:#fafbfc}
h1{font-size:1.5rem;margin:0}h2{font-size:1.2rem;margin:2rem 0 .5rem}
h3{font-size:1rem;margin:1.2rem 0 .3rem}
.meta{color:#5b6475;margin:.2rem 0 1rem}
table{border-collapse:collapse;width:100%;background:#fff;box-shadow:0 1px 2px #0001}
th,td{text-align:left;padding:.45rem .6rem;border-bottom:1px solid #e4e7ec;vertical-align:top}
th{font-size:.75rem;text-transform:uppercase;letter-spacing:.04em;color:#5b6475}
code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace}
.badge{display:inline-block;padding:.05rem .45rem;border-radius:.6rem;font-size:.75rem;
 font-weight:600;color:#fff;background:#59636e}
.badge.good{background:#1a7f37}.badge.bad{background:#cf222e}.badge.busy{background:#9a6700}
ol.timeline{list-style:none;margin:0;padding:0 0 0 1rem;border-left:2px solid #d0d7de}
ol.timeline>li{margin:0 0 .7rem;position:relative}
ol.timeline>li:before{content:"";position:absolute;left:-1.4rem;top:.35rem;width:.6rem;height:.6rem;
 border-radius:50%;background:#59636e}
ol.timeline>li.good:before{background:#1a7f37}ol.timeline>li.bad:before{background:#cf222e}
ol.timeline>li.busy:before{background:#9a6700}
.detail{color:#5b6475;margin:.1rem 0 0;padding-left:1.2rem}.detail li{margin:0}
"""


def _utc(moment: datetime) -> datetime:
    # Berth writes aware UTC times; a naive one is taken as UTC.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def zoned(moment: datetime) -> str:
    """A moment as a person reads it, with its zone: `2026-12-08 03:40:05 UTC`."""
    return _utc(moment).strftime("%Y-%m-%d %H:%M:%S UTC")


def _time(moment: datetime) -> str:
    """A `<time>` element: ISO 8601 for machines, the zoned text for people."""
    return f'<time datetime="{_utc(moment).isoformat()}">{escape(zoned(moment))}</time>'


def tone(status: str) -> str:
    """The CSS class of a status: good, busy (under way) or bad."""
    if status in GOOD:
        return "good"
    return "busy" if status in UNDER_WAY else "bad"


def _badge(status: str) -> str:
    return f'<span class="badge {tone(status)}">{escape(status)}</span>'


def _name(service: str) -> str:
    return "spec uploads" if service == SPEC_SERVICE else service


def _service_row(row: ServiceStatus) -> str:
    last = row.last
    digest = row.running.digest or ""
    cells = [
        escape(_name(row.service)),
        escape(row.running.tag or "-"),
        f'<code title="{escape(digest)}">{escape(short_digest(row.running.digest))}</code>',
        f"<code>{escape(revision(row.running.task_definition_arn))}</code>",
        escape(rollout_text(row.running)),
        _badge(last.status) if last is not None else "-",
        _time(finished(last)) if last is not None else "-",
    ]
    return "<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"


def _event(record: DeploymentRecord) -> str:
    image = f" {record.image.label}" if record.image is not None else ""
    details = list(dict.fromkeys(d for d in [record.reason, *record.causes, *record.errors] if d))
    items = "".join(f"<li>{escape(d)}</li>" for d in details)
    return (
        f'<li class="{tone(record.status)}">{_badge(record.status)} '
        f"<strong>{escape(image.strip() or '-')}</strong> "
        f"{_time(record.created_at)} "
        f"· {escape(trigger_text(record))}"
        + (f'<ul class="detail">{items}</ul>' if items else "")
        + "</li>"
    )


def _timeline(row: ServiceStatus) -> str:
    if not row.history:
        return f"<h3>{escape(_name(row.service))}</h3><p class=meta>no deployments recorded</p>"
    events = "".join(_event(r) for r in row.history)
    return f'<h3>{escape(_name(row.service))}</h3><ol class="timeline">{events}</ol>'


def html_report(rows: list[ServiceStatus], title: str, generated: datetime) -> str:
    """The page: per environment, a table of what runs, then each service's timeline."""
    head = ("SERVICE", "TAG", "DIGEST", "TASK DEFINITION", "ROLLOUT", "LAST OUTCOME", "WHEN")
    sections: list[str] = []
    for environment, group in groupby(rows, key=lambda r: r.environment):
        services = list(group)
        body = "".join(_service_row(r) for r in services)
        header = "".join(f"<th>{escape(h)}</th>" for h in head)
        sections.append(
            f'<section id="env-{escape(environment)}"><h2>{escape(environment)}</h2>'
            f"<table><thead><tr>{header}</tr></thead><tbody>{body}</tbody></table>"
            + "".join(_timeline(r) for r in services)
            + "</section>"
        )
    content = "".join(sections) or "<p>No environment has an accepted spec yet.</p>"
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>"
        f"<header><h1>{escape(title)}</h1>"
        f'<p class="meta">generated {_time(generated)}</p></header>'
        f"<main>{content}</main></body></html>\n"
    )
