"""The HTML report in headless Chromium (Debian's package): the page's own script draws the charts from the
embedded data; the values read back from the rendered SVG agree with the store; a screenshot is kept.

Chromium runs with a fresh profile, no sandbox (the suite runs as root), no GPU, no QUIC, no background
networking, component updates or sync, and every host name resolving to nothing: the report needs no network.
Takes about 3 s (two Chromium starts)."""

from __future__ import annotations

import os
import sqlite3
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT / ".ansible" / "collections") not in sys.path:  # the checkout's link, as ansible.cfg finds it
    sys.path.insert(0, str(ROOT / ".ansible" / "collections"))
from ansible_collections.patchpilot.fleet.plugins.module_utils import report_model, report_render  # noqa: E402
from ansible_collections.patchpilot.fleet.plugins.module_utils.history_store import Store  # noqa: E402
from support.history_fixture import EXPECTED, SCRIPT, TODAY, records  # noqa: E402
from support.browser import Charts, chromium  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    store = Store.sqlite(str(folder / "state" / "history.sqlite"))
    store.append(records())
    model = report_model.build(store.records(), TODAY, chain=store.verify(), generated="2026-12-05T12:00:00+00:00")
    store.close()
    paths = report_render.write(str(folder / "history"), report_render.render(model, ["html"]))
    return folder, Path(paths["report.html"])


def test_the_charts_drawn_in_chromium_agree_with_the_store(report):
    folder, page = report
    proc = chromium(folder / "profile-dom", "--dump-dom", page.as_uri())
    assert proc.returncode == 0 and "<svg" in proc.stdout, proc.stderr[-2000:]
    dom = Charts()
    dom.feed(proc.stdout)
    assert dom.body.get("data-charts") == "drawn"  # the page's script ran under its CSP

    groups = {m["data-label"]: float(m["data-value"]) for m in dom.marks if m["data-chart"] == "compliance-by-group"}
    assert groups == {g: round(c["share"] * 100, 1) for g, c in EXPECTED["groups"].items()}
    severity = {m["data-label"]: int(m["data-value"]) for m in dom.marks if m["data-chart"] == "pending-by-severity"}
    assert severity == EXPECTED["pending"]
    trend = [(m["data-label"], float(m["data-value"]), int(m["data-rolled-back"]), int(m["data-unreachable"]))
             for m in dom.marks if m["data-chart"] == "trend"]
    with sqlite3.connect(folder / "state" / "history.sqlite") as db:  # the runs and their hosts' results, by SQL
        runs = [r for (r,) in db.execute("SELECT DISTINCT run_id FROM records WHERE kind = 'run' ORDER BY id")]
        results = {(run, state): count for run, state, count in db.execute(
            "SELECT run_id, state, COUNT(*) FROM records WHERE kind = 'host' GROUP BY run_id, state")}
    db.close()
    assert trend == [(run, EXPECTED["trend"][run], results.get((run, "rolled_back"), 0),
                      results.get((run, "unreachable"), 0)) for run in runs]
    text = "".join(dom.text)
    assert SCRIPT in text  # the CMDB's markup shows as text: the browser did not run it
    assert "not done" in text and "Chain check: intact" in text


def test_a_screenshot_of_the_report(report):
    folder, page = report
    where = Path(os.environ.get("PATCHPILOT_ARTIFACTS") or folder)
    where.mkdir(parents=True, exist_ok=True)
    shot = where / "report.png"
    if shot.exists():
        shot.unlink()
    proc = chromium(folder / "profile-shot", f"--screenshot={shot}", "--window-size=1280,2000",
                    "--hide-scrollbars", page.as_uri())
    assert proc.returncode == 0 and shot.exists(), proc.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20000
    print(f"screenshot of the HTML report: {shot}")
