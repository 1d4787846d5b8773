"""The HTML status page as a person sees it: rendered by headless Chromium (Debian's package),
every text element readable against its background (WCAG AA, 4.5:1), every time with its zone.
A screenshot is left in out/report/ for people to look at."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from berth.commands.report import html_report
from berth.commands.status import Running, ServiceStatus
from chalicelib.values.records import SPEC_SERVICE, DeploymentRecord, Image, SpecVersion, Trigger

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "out" / "report"
T0 = datetime(2026, 12, 8, 3, 40, 5, tzinfo=UTC)
DIGEST = "sha256:" + "ab" * 32
AA = 4.5
SPEC = SpecVersion(bucket="b", key="specs/dev/wso2.yaml", version_id="v1")
INSTALL = (
    "Debian's chromium is not installed: `make test` installs it when run as root "
    "(apt-get install -y chromium); otherwise install it so, then run this test again"
)

# Injected into a copy of the page: for every element with text of its own, its text colour
# and its effective background (its own, or the first ancestor's that is not transparent,
# half-transparent layers composited), and the WCAG contrast ratio of the two; then every
# <time>'s text and the page's visible text. Written into the DOM for --dump-dom to carry out.
PROBE = r"""
<script>
(function () {
  function rgba(text) {
    var parts = text.match(/[\d.]+/g).map(Number);
    return [parts[0], parts[1], parts[2], parts.length > 3 ? parts[3] : 1];
  }
  function over(top, bottom) {
    var a = top[3];
    return [0, 1, 2].map(function (i) { return top[i] * a + bottom[i] * (1 - a); }).concat([1]);
  }
  function background(element) {
    var layers = [];
    for (var e = element; e; e = e.parentElement) {
      var colour = rgba(getComputedStyle(e).backgroundColor);
      if (colour[3] > 0) { layers.push(colour); if (colour[3] >= 1) break; }
    }
    var result = [255, 255, 255, 1];
    for (var i = layers.length - 1; i >= 0; i--) result = over(layers[i], result);
    return result;
  }
  function luminance(c) {
    function channel(v) { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); }
    return 0.2126 * channel(c[0]) + 0.7152 * channel(c[1]) + 0.0722 * channel(c[2]);
  }
  function ratio(a, b) {
    var x = luminance(a), y = luminance(b);
    return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05);
  }
  var elements = [];
  document.body.querySelectorAll("*").forEach(function (element) {
    var own = Array.prototype.filter.call(element.childNodes, function (n) { return n.nodeType === 3; })
      .map(function (n) { return n.textContent; }).join("").trim();
    var style = getComputedStyle(element);
    if (!own || style.display === "none" || style.visibility === "hidden") return;
    var back = background(element);
    var fore = over(rgba(style.color), back);
    elements.push({
      tag: element.tagName.toLowerCase(), class: element.className, text: own.slice(0, 60),
      color: style.color, background: "rgb(" + back.slice(0, 3).map(Math.round).join(", ") + ")",
      ratio: Math.round(ratio(fore, back) * 100) / 100
    });
  });
  var result = {
    elements: elements,
    times: Array.prototype.map.call(document.querySelectorAll("time"), function (t) { return t.textContent; }),
    text: document.body.innerText
  };
  var out = document.createElement("pre");
  out.id = "berth-probe";
  out.textContent = JSON.stringify(result);
  document.body.appendChild(out);
})();
</script>
"""


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail(INSTALL)  # CI runs `make test` as root, which installs it
        pytest.skip(INSTALL)
    return found


def browse(page: Path, *options: str, profile: Path) -> str:
    command = [
        chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
        f"--user-data-dir={profile}", "--window-size=1280,1400", *options, page.as_uri(),
    ]  # fmt: skip
    done = subprocess.run(command, check=True, capture_output=True, text=True, timeout=180)
    return done.stdout


def record(service: str, status: str, minute: int, **fields: Any) -> DeploymentRecord:
    created = T0 - timedelta(minutes=minute)
    values: dict[str, Any] = {
        "environment": "dev",
        "service": service,
        "record_id": f"D#{created.isoformat()}#{service}",
        "run_id": "r",
        "status": status,
        "trigger": Trigger(kind="spec", event_id="e", spec=SPEC),
        "image": Image(repository="wso2am", digest=DIGEST, tag="4.7.0-9"),
        "created_at": created,
        "updated_at": created + timedelta(seconds=40),
        **fields,
    }
    return DeploymentRecord(**values)


def every_tone() -> list[ServiceStatus]:
    """A page with every tone of outcome, each with the grey detail lines a person reads."""
    running = Running(
        "arn:aws:ecs:us-east-1:1:task-definition/dev-apim:3", "4.7.0-9", DIGEST, "COMPLETED", 1, 1
    )
    apim = [
        record("apim", "IN_PROGRESS", 0, reason="waiting for ECS"),
        record("apim", "COMPLETED", 10, reason="ECS deployment completed"),
        record("apim", "ROLLED_BACK", 20, reason="health check failed",
               causes=["task stopped: Essential container in task exited (exit code 1)"]),
    ]  # fmt: skip
    spec = [record(SPEC_SERVICE, "REJECTED", 30, errors=["wso2.yaml:3:1: enviroment: unknown"])]
    return [
        ServiceStatus("dev", "apim", "wso2-dev", running, apim),
        ServiceStatus("dev", "mi", "wso2-dev", Running(), []),
        ServiceStatus("dev", SPEC_SERVICE, "wso2-dev", Running(), spec),
    ]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The page rendered in Chromium: a screenshot in out/report/, and what the probe found."""
    work = tmp_path_factory.mktemp("report")
    page = html_report(every_tone(), "Berth dev", T0)
    plain, probed = work / "status.html", work / "probed.html"
    plain.write_text(page)
    probed.write_text(page.replace("</body>", PROBE + "</body>"))
    SHOTS.mkdir(parents=True, exist_ok=True)
    shot = SHOTS / "status.png"
    browse(plain, f"--screenshot={shot}", profile=work / "profile-shot")
    dom = browse(probed, "--dump-dom", profile=work / "profile-dom")
    found = re.search(r'<pre id="berth-probe">(.*?)</pre>', dom, re.S)
    assert found, f"the probe left nothing in the DOM:\n{dom[:2000]}"
    result: dict[str, Any] = json.loads(html.unescape(found.group(1)))
    result["screenshot"] = shot
    return result


def test_every_text_is_readable_against_its_background(rendered):
    elements = rendered["elements"]
    # The probe saw every tone's badge and the grey detail lines under the timeline's entries.
    assert {"badge good", "badge bad", "badge busy"} <= {e["class"] for e in elements}
    assert {"health check failed", "waiting for ECS"} <= {e["text"] for e in elements}
    unreadable = [e for e in elements if e["ratio"] < AA]
    assert unreadable == [], "\n".join(
        f'{e["ratio"]}:1 <{e["tag"]} class="{e["class"]}"> {e["text"]!r}: '
        f'{e["color"]} on {e["background"]}'
        for e in unreadable
    )


def test_every_time_on_the_page_carries_its_zone(rendered):
    # Times in <time> elements, and any date-and-time in the visible text, carry their zone.
    shown = re.findall(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d(?::\d\d)?(?:\S*)(?: ?\S+)?", rendered["text"])
    assert shown, rendered["text"]
    zoneless = [t for t in shown if not re.search(r"(UTC|Z|[+-]\d\d:?\d\d)$", t)]
    assert zoneless == [], zoneless
    assert "2026-12-08 03:40:05 UTC" in rendered["text"]
    assert len(rendered["times"]) >= 6  # generated, the table's WHEN, each timeline entry
    for text in rendered["times"]:
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", text), text


def test_a_screenshot_is_left_for_people(rendered):
    shot: Path = rendered["screenshot"]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
