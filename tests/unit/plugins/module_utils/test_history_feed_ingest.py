"""history_feed.ingest and scan_records: each event once in the store, a scan's assets and missing updates."""

import pytest

from ansible_collections.patchpilot.fleet.plugins.module_utils.history_feed import ingest, scan_records
from ansible_collections.patchpilot.fleet.plugins.module_utils.history_store import Store

ASSETS = [{"host": "web01", "status": "scanned", "hostname": "web01", "os_distribution": "Debian", "os_version": "12",
           "kernel": "6.1.0-27-amd64", "ip_address": "10.0.0.5"},
          {"host": "db01", "status": "unreachable", "reason": "no scan result"}]
UPDATES = [{"host": "web01", "name": "openssl", "installed_version": "3.0-1", "candidate_version": "3.0-2",
            "effective_severity": "high", "cves": ["CVE-2026-1"], "due": "2026-12-08", "first_seen": "2026-11-20"},
           {"host": "web01", "name": "curl", "installed_version": "8.0-1", "candidate_version": "8.0-2"}]
NOW = "2026-12-01T10:00:00+00:00"


@pytest.fixture
def store(tmp_path):
    opened = Store.sqlite(str(tmp_path / "state" / "history.sqlite"))
    yield opened
    opened.close()


def run_records(state="completed"):
    return [{"kind": "run", "run_id": "r1", "state": state, "at": NOW, "data": {"user": "bob"}},
            {"kind": "update", "run_id": "r1", "host": "web01", "package": "openssl", "version": "3.0-2",
             "state": "installed", "at": NOW, "data": {}}]


def test_a_run_fed_twice_is_stored_once(store):
    assert len(ingest(store, run_records())) == 2
    assert ingest(store, run_records()) == []
    assert len(store.records()) == 2 and store.verify()["ok"]


def test_a_new_state_of_the_same_run_is_added(store):
    ingest(store, run_records("running"))
    added = ingest(store, run_records("completed"))
    assert [(r["kind"], r["state"]) for r in added] == [("run", "completed")]


def test_repeats_within_one_feed_are_stored_once(store):
    assert len(ingest(store, run_records() + run_records())) == 2


def test_a_scan_gives_assets_and_missing_updates_without_a_run():
    records = scan_records(ASSETS, UPDATES, at=NOW)
    assets = [r for r in records if r["kind"] == "asset"]
    assert [(a["host"], a["data"]["reachable"]) for a in assets] == [("web01", True)]
    updates = [r for r in records if r["kind"] == "update"]
    assert [(u["package"], u["version"], u["state"], u["run_id"], u["at"]) for u in updates] == [
        ("openssl", "3.0-2", "missing", None, "2026-11-20T00:00:00+00:00"),
        ("curl", "8.0-2", "missing", None, NOW)]
    assert updates[0]["data"]["due"] == "2026-12-08" and updates[0]["data"]["cves"] == ["CVE-2026-1"]


def test_a_scan_fed_twice_adds_nothing_and_a_changed_host_is_recorded_again(store):
    assert len(ingest(store, scan_records(ASSETS, UPDATES, at=NOW))) == 3
    assert ingest(store, scan_records(ASSETS, UPDATES, at="2026-12-02T10:00:00+00:00")) == []
    newer = [dict(ASSETS[0], kernel="6.1.0-28-amd64")]
    added = ingest(store, scan_records(newer, UPDATES, at="2026-12-03T10:00:00+00:00"))
    assert [(r["kind"], r["host"]) for r in added] == [("asset", "web01")]
    assert "6.1.0-28" in added[0]["data"]
