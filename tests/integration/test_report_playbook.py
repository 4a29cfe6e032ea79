"""playbooks/report.yml on the controller, on a prepared history store: the HTML, JSON, CSV and JUnit outputs
agree with the store; a report as of one run; an edited record fails the play at that record, a purge does not;
the store's address never shows."""

from __future__ import annotations

import csv
import json
import os
import sqlite3
import stat
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT / ".ansible" / "collections") not in sys.path:  # the checkout's link, as ansible.cfg finds it
    sys.path.insert(0, str(ROOT / ".ansible" / "collections"))
from ansible_collections.patchpilot.fleet.plugins.module_utils.history_store import Store  # noqa: E402
from support.controller import controller_playbook  # noqa: E402
from support.history_fixture import EXPECTED, TODAY, records  # noqa: E402

pytestmark = pytest.mark.slow


def playbook(tmp_path: Path, *argv: str) -> subprocess.CompletedProcess:
    return controller_playbook(tmp_path, "patchpilot.fleet.report", "-e",
                               f"patchpilot_report_today={TODAY.isoformat()}", *argv,
                               env={"PATCHPILOT_STATE_DIR": str(tmp_path / "state"),
                                    "PATCHPILOT_REPORT_DIR": str(tmp_path / "reports")})


def prepare(tmp_path: Path) -> Path:
    os.makedirs(tmp_path / "state", mode=0o700)
    store = Store.sqlite(str(tmp_path / "state" / "history.sqlite"))
    store.append(records())
    store.close()
    return tmp_path / "state" / "history.sqlite"


def latest_states(path: Path) -> dict:
    """Each host and package's last lifecycle state, read from the store's table with plain SQL."""
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT host, package, state FROM records WHERE kind = 'update' ORDER BY id").fetchall()
    db.close()
    return {(host, package): state for host, package, state in rows}


def test_the_reports_agree_with_the_store(tmp_path):
    path = prepare(tmp_path)
    proc = playbook(tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "run run-2: compliance 0.6667 (4 of 6 approved updates active within their SLA)" in proc.stdout
    out = tmp_path / "reports" / "history"
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    assert {stat.S_IMODE(p.stat().st_mode) for p in out.iterdir()} == {0o600}

    data = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert data["chain"]["ok"] and data["chain"]["checked"] == len(records())
    assert data["compliance"]["fleet"] == EXPECTED["fleet"] and data["compliance"]["groups"] == EXPECTED["groups"]
    with open(out / "updates.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {(r["host"], r["package"]): r["state"] for r in rows} == latest_states(path)
    assert {(r["host"], r["package"]): r["verdict"] for r in rows} == EXPECTED["verdicts"]
    cases = {c.get("name"): c.find("failure") is not None for c in ET.parse(out / "junit.xml").iter("testcase")}
    assert cases == EXPECTED["failing"]
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "<script>alert" not in page and "&lt;script&gt;alert(&#x27;cmdb&#x27;)" in page
    assert "66.7 %" in page and (out / "patchpilot.prom").read_text().endswith("# EOF\n")


def test_a_report_as_of_one_run(tmp_path):
    prepare(tmp_path)
    proc = playbook(tmp_path, "-e", "patchpilot_report_run=run-1", "-e", '{"patchpilot_report_formats": ["json"]}')
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads((tmp_path / "reports" / "history" / "report.json").read_text(encoding="utf-8"))
    assert data["run_id"] == "run-1" and data["compliance"]["fleet"]["share"] == EXPECTED["trend"]["run-1"]
    assert sorted(p.name for p in (tmp_path / "reports" / "history").iterdir()) == ["report.json"]


def test_an_edited_record_fails_the_play_at_that_record_and_a_purge_does_not(tmp_path):
    path = prepare(tmp_path)
    store = Store.sqlite(str(path))
    store.purge("2026-11-21T00:00:00+00:00", by="retention")
    store.close()
    proc = playbook(tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr

    with sqlite3.connect(path) as db:
        target = db.execute("SELECT id FROM records WHERE kind = 'update' AND host = 'web2' AND state = 'rolled_back'"
                            ).fetchone()[0]
        db.execute("UPDATE records SET state = 'verified' WHERE id = ?", (target,))
    db.close()
    proc = playbook(tmp_path)
    assert proc.returncode != 0
    assert f"history store: the chain is broken at record {target}: record {target} was changed" in proc.stdout
    page = (tmp_path / "reports" / "history" / "report.html").read_text(encoding="utf-8")
    assert f'data-broken-at="{target}"' in page


def test_the_store_address_never_shows(tmp_path):
    secret = "postgresql://report:S3cr3t-pw@127.0.0.1:9/patchpilot?connect_timeout=2"
    proc = playbook(tmp_path, "-vvv", "-e", json.dumps({"patchpilot_history_store": secret}))
    assert proc.returncode != 0 and "Task failed: report: history store" in proc.stdout, proc.stdout + proc.stderr
    assert "S3cr3t-pw" not in proc.stdout + proc.stderr
