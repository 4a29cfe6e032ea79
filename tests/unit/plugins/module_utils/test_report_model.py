"""report_model.build: the report data from a store filled with contract records (tests/support/history_fixture.py),
compared with what the fixture's records mean, worked out by hand (EXPECTED)."""

from datetime import date

import pytest

from ansible_collections.patchpilot.fleet.plugins.module_utils.history_store import Store
from ansible_collections.patchpilot.fleet.plugins.module_utils.report_model import FUNNEL, TREND_RUNS, ReportError, build
from support.history_fixture import EXPECTED, SCRIPT, TODAY, records


@pytest.fixture
def store(tmp_path):
    opened = Store.sqlite(str(tmp_path / "state" / "history.sqlite"))
    opened.append(records())
    yield opened
    opened.close()


@pytest.fixture
def model(store):
    return build(store.records(), TODAY, chain=store.verify(), generated="2026-12-05T12:00:00+00:00")


def test_compliance_per_fleet_group_and_host(model):
    assert model["compliance"]["fleet"] == EXPECTED["fleet"]
    assert model["compliance"]["groups"] == EXPECTED["groups"]
    assert model["compliance"]["hosts"]["web2"] == {"approved": 1, "compliant": 0, "share": 0.0}


def test_every_update_has_its_latest_state_verdict_and_history(model):
    found = {(u["host"], u["package"]): u for h in model["hosts"] for u in h["updates"]}
    assert {k: u["verdict"] for k, u in found.items()} == EXPECTED["verdicts"]
    web2 = found[("web2", "openssl")]
    assert web2["state"] == "verified" and web2["active_at"].startswith("2026-11-30")
    assert [h["state"] for h in web2["history"]] == ["missing", "approved", "downloaded", "installed", "rolled_back",
                                                     "approved", "downloaded", "installed", "active", "verified"]
    assert {h["run_id"] for h in web2["history"]} == {None, "run-1", "run-2"}


def test_overdue_breaches_pending_exceptions_outdated(model):
    assert [(o["host"], o["package"]) for o in model["overdue"]] == EXPECTED["overdue"]
    assert model["overdue"][0]["days_overdue"] == 8  # due 2026-11-27, today 2026-12-05
    assert [(b["host"], b["package"]) for b in model["sla_breaches"]] == EXPECTED["breaches"]
    assert model["pending"]["by_severity"] == EXPECTED["pending"]
    assert {(e["host"], e["package"]): e["expired"] for e in model["exceptions"]} == EXPECTED["expired"]
    assert [a["host"] for a in model["outdated"]] == EXPECTED["outdated"]


def test_a_live_exception_keeps_an_update_out_of_pending_and_overdue(model):
    nginx = next(u for h in model["hosts"] for u in h["updates"] if u["package"] == "nginx")
    assert nginx["excepted"] and not nginx["overdue"] and "rejected: breaks the proxy module" in nginx["reason"]


def test_hosts_failing_and_last_runs(model):
    hosts = {h["host"]: h for h in model["hosts"]}
    assert {name: bool(h["failing"]) for name, h in hosts.items()} == EXPECTED["failing"]
    assert hosts["app1"]["last_result"] == "unreachable" and hosts["db1"]["last_run"] == "run-1"


def test_runs_trend_and_funnel(model):
    assert [r["run_id"] for r in model["runs"]] == ["run-1", "run-2"] and model["run_id"] == "run-2"
    run1 = model["runs"][0]
    assert (run1["state"], run1["user"], run1["approved_by"], run1["change_ticket"], run1["project_commit"]) == (
        "failed", "alice", "carol", "CHG-1001", "0123abcd")
    assert run1["started"].startswith("2026-11-21T08") and run1["finished"].startswith("2026-11-21T19")
    assert run1["results"] == {"done": 2, "rolled_back": 1, "unreachable": 1}
    assert {t["run_id"]: t["share"] for t in model["trend"]} == EXPECTED["trend"]
    assert model["trend"][0]["rolled_back"] == 1 and model["trend"][0]["installed"] == 5
    assert model["funnel"]["stages"] == list(FUNNEL)
    assert model["funnel"]["runs"][0]["counts"] == EXPECTED["funnel_run1"]
    openssl = next(f for f in model["funnel"]["updates"] if f["package"] == "openssl")
    assert openssl["counts"]["missing"] == 4 and openssl["counts"]["verified"] == 3


def test_inventory_from_the_latest_asset_records(model):
    db1 = next(a for a in model["inventory"] if a["host"] == "db1")
    assert db1["location"] == SCRIPT and db1["os"] == "Debian 10" and db1["eol_status"] == "outdated"
    assert set(db1) >= {"hostname", "location", "ip", "mac", "os", "revision", "machine_id"}


def test_the_chain_check_is_in_the_report(store, model):
    assert model["chain"]["ok"] and model["chain"]["checked"] == len(store.records())


def test_a_report_as_of_an_earlier_run(store):
    model = build(store.records(), date(2026, 11, 22), run="run-1")
    assert model["run_id"] == "run-1" and [r["run_id"] for r in model["runs"]] == ["run-1"]
    assert model["compliance"]["fleet"] == {"approved": 6, "compliant": 3, "share": 0.5}


def test_an_unknown_run_is_one_clear_error(store):
    with pytest.raises(ReportError, match="run 'nope' is not in the store"):
        build(store.records(), TODAY, run="nope")


def test_an_empty_store_makes_an_empty_report(tmp_path):
    model = build([], TODAY)
    assert model["run_id"] is None and model["compliance"]["fleet"]["share"] is None
    assert all(not step["done"] for step in model["checklist"])


def test_a_newer_candidate_starts_its_lifecycle_again():
    at = "2026-11-0{}T10:00:00+00:00".format
    rows = [{"kind": "update", "id": i + 1, "at": at(i + 1), "run_id": run, "host": "h", "package": "p",
             "version": version, "state": state, "data": {"due": "2026-11-20"}}
            for i, (run, version, state) in enumerate([(None, "1", "missing"), ("r", "1", "approved"),
                                                       ("r", "1", "installed"), ("r", "1", "active"),
                                                       (None, "2", "missing")])]
    update = build(rows, TODAY)["hosts"][0]["updates"][0]
    assert update["version"] == "2" and update["verdict"] == "missing" and update["overdue"]
    assert len(update["history"]) == 5


def test_the_trend_shows_the_last_runs_only():
    rows = []
    for number in range(TREND_RUNS + 2):
        at = f"2026-10-{number % 28 + 1:02d}T10:00:00+00:00"
        rows.append({"kind": "run", "id": len(rows) + 1, "at": at, "run_id": f"run-{number:02d}", "state": "completed",
                     "data": {"started": f"2026-{10 + number // 28}-{number % 28 + 1:02d}T08:00:00+00:00"}})
        rows.append({"kind": "update", "id": len(rows) + 1, "at": at, "run_id": f"run-{number:02d}", "host": "h",
                     "package": f"p{number}", "version": "1", "state": "installed", "data": {}})
    model = build(rows, TODAY)
    assert len(model["runs"]) == TREND_RUNS + 2 and len(model["trend"]) == TREND_RUNS
    assert model["trend"][0]["run_id"] == "run-02" and model["trend"][-1]["installed"] == 1


def test_a_renamed_machine_keeps_its_history_and_a_reinstall_is_a_new_machine():
    one, two, three = "1" * 32, "2" * 32, "3" * 32

    def asset(n, host, machine_id):
        return {"kind": "asset", "id": n, "at": f"2026-11-0{n}T10:00:00+00:00", "host": host, "machine_id": machine_id,
                "data": {"hostname": host}}

    rows = [asset(1, "web01", one), asset(2, "db01", two),
            asset(3, "web-frontend01", one),  # web01 renamed: the same machine id
            asset(4, "db01", three)]          # db01 reinstalled: its name, a new machine id
    machines = {m["machine_id"]: m for m in build(rows, TODAY)["machines"]}
    assert machines[one]["host"] == "web-frontend01" and machines[one]["previous_names"] == ["web01"]
    assert machines[three]["host"] == "db01" and machines[three]["replaces"] == f"id:{two}"
    assert machines[two]["replaced_by"] == f"id:{three}" and machines[two]["previous_names"] == []
    assert "records" not in machines[one]


def test_a_malformed_machine_id_in_the_store_is_one_clear_error():
    with pytest.raises(ReportError, match="machines: .*"):
        build([{"kind": "asset", "id": 1, "at": "2026-11-01T10:00:00+00:00", "host": "web01",
                "machine_id": "not-an-id", "data": {}}], TODAY)
