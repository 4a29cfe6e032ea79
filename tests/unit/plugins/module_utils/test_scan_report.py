"""The scan report: joins host facts with CMDB metadata, flags EOL, orders by priority, writes files."""

from __future__ import annotations

import csv
import json
from datetime import date

import pytest

from ansible_collections.patchpilot.fleet.plugins.module_utils import scan_report
from ansible_collections.patchpilot.fleet.plugins.module_utils.records import make_update

TODAY = date(2026, 11, 27)


def upd(name, classification="bugfix", installed="1.0-1", candidate="1.0-2", effect="upgrade"):
    return make_update(name=name, installed_version=installed, candidate_version=candidate, arch="all",
                       classification=classification, effect=effect, backend="apt").as_dict()


def asset(host, version, codename):
    return {"hostname": host, "fqdn": f"{host}.example", "ip_address": "10.0.0.1", "mac_address": "02:00:00:00:00:01",
            "os_family": "Debian", "os_distribution": "Debian", "os_version": version, "os_codename": codename}


RESULTS = {
    "db01": {"asset": asset("db01", "12", "bookworm"), "updates": [upd("libssl3", "security"), upd("tzdata")], "error": None},
    "web01": {"asset": asset("web01", "11", "bullseye"), "updates": [upd("libssl3", "security")], "error": None},
    "app01": {"asset": None, "updates": None, "error": "apt: LockFailedException: Failed to lock /var/lib/apt/lists/lock"},
    "ghost": {"asset": None, "updates": None, "error": None},
}
CMDB = {"db01": {"criticality": "high", "internet_exposed": "no", "data_sensitivity": "confidential", "location": "dc-east"},
        "web01": {"criticality": "low", "internet_exposed": "yes", "data_sensitivity": "public", "location": "dc-west"}}


def test_build_and_write(tmp_path):
    results = json.loads(json.dumps(RESULTS))
    report = scan_report.build(results, CMDB, {}, TODAY, {})
    assets = {a["host"]: a for a in report["assets"]}
    assert assets["app01"]["status"] == "failed" and "lock" in assets["app01"]["reason"]
    assert assets["ghost"]["status"] == "unreachable"
    assert assets["db01"]["location"] == "dc-east" and assets["db01"]["missing_updates"] == 2
    assert assets["web01"]["eol_status"] == "outdated"  # Debian 11: LTS ended 2026-08-31
    # Debian 12 on 2026-11-27: the security team's support ended 2026-07-11, LTS runs to 2028-06-30.
    assert assets["db01"]["eol_status"] == "extended"
    rows = report["updates"]
    # The same security update: db01 (high criticality, confidential data) before web01 (low, public,
    # internet-exposed), then db01's bugfix.
    assert [(r["host"], r["name"]) for r in rows] == [("db01", "libssl3"), ("web01", "libssl3"), ("db01", "tzdata")]
    assert rows[0]["score"] > rows[1]["score"] > rows[2]["score"]
    assert {r["host"]: r["host_eol_status"] for r in rows}["web01"] == "outdated"
    assert all(r["first_seen"] == "2026-11-27" for r in rows)
    paths = scan_report.write(str(tmp_path / "out"), report, TODAY)
    assert (tmp_path / "out").stat().st_mode & 0o777 == 0o750
    written = list(csv.DictReader(open(paths["updates.csv"], encoding="utf-8")))
    assert [r["rank"] for r in written] == ["1", "2", "3"] and written[0]["effective_severity"] == "high"
    assert json.loads(open(paths["assets.json"], encoding="utf-8").read())["scan_date"] == "2026-11-27"


def test_first_seen_is_kept_between_scans(tmp_path):
    first = scan_report.build(json.loads(json.dumps(RESULTS)), CMDB, {}, date(2026, 11, 1), {})
    later = scan_report.build(json.loads(json.dumps(RESULTS)), CMDB, {}, TODAY, first["first_seen"])
    assert {r["first_seen"] for r in later["updates"]} == {"2026-11-01"}


def test_output_dir_that_is_a_file(tmp_path):
    (tmp_path / "file").write_text("x", encoding="utf-8")
    with pytest.raises(scan_report.ReportError, match="is not a folder"):
        scan_report.write(str(tmp_path / "file"), {"assets": [], "updates": [], "first_seen": {}}, TODAY)


def test_unreadable_first_seen_store(tmp_path):
    (tmp_path / scan_report.FIRST_SEEN_FILE).write_text("{not json", encoding="utf-8")
    with pytest.raises(scan_report.ReportError, match="unreadable first-seen store"):
        scan_report.load_seen(str(tmp_path))


FORMULAS = ["=HYPERLINK(\"http://example.org/x\",\"click\")", "+1+1", "-2+3+cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0",
            "\t=1+1", "\r=1+1"]


@pytest.mark.parametrize("formula", FORMULAS)
def test_no_csv_cell_can_carry_a_spreadsheet_formula(tmp_path, formula):
    # text from the hosts, the CMDB and the repositories: a package name, a CMDB field, an error, a CVE list
    update = dict(upd("libssl3", "security"), name=formula, cves=[formula, "CVE-2026-0001"])
    results = {"db01": {"asset": dict(asset("db01", "12", "bookworm"), kernel=formula), "updates": [update],
                        "error": None},
               "app01": {"asset": None, "updates": None, "error": formula}}
    report = scan_report.build(results, {"db01": {"owner": formula, "location": "dc-east"}}, {}, TODAY, {})
    paths = scan_report.write(str(tmp_path), report, TODAY)
    cells = []
    for name in ("assets.csv", "updates.csv"):
        with open(paths[name], encoding="utf-8", newline="") as handle:
            cells += [cell for row in csv.reader(handle) for cell in row]
    assert cells and not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert f"'{formula}" in cells  # kept, as text
    assert f"'{formula} CVE-2026-0001" in cells
    assert "dc-east" in cells and "12" in cells  # other cells as they were
    # the JSON files keep the data as it is
    assert json.loads(open(paths["updates.json"], encoding="utf-8").read())["updates"][0]["name"] == formula


def test_csv_text():
    assert scan_report.csv_text("=1+1") == "'=1+1" and scan_report.csv_text("'=1+1") == "'=1+1"
    assert scan_report.csv_text("libssl3") == "libssl3" and scan_report.csv_text("") == ""
    assert scan_report._cell(-1) == -1 and scan_report._cell(["-x", "y"]) == "'-x y"  # pylint: disable=protected-access


def test_a_stale_index_is_reported_with_its_age_and_failing_sources(tmp_path):
    stale = {"refreshed": False, "stale": True, "age_seconds": 93784, "errors": [
        {"source": "http://repo.example.org/archive no-such-dist", "message": "404  File not found [IP: 192.0.2.20 80]"},
        {"source": "http://mirror.example.org/debian stable", "message": "Could not connect to mirror.example.org:80"}]}
    results = json.loads(json.dumps(RESULTS))
    results["db01"]["index"] = stale
    results["web01"]["index"] = {"refreshed": True, "stale": False, "age_seconds": 60, "errors": []}
    report = scan_report.build(results, CMDB, {}, TODAY, {})
    assets = {a["host"]: a for a in report["assets"]}
    db01 = assets["db01"]
    assert db01["status"] == "scanned" and db01["missing_updates"] == 2  # scanned from the index it has
    assert db01["index_stale"] is True and db01["index_age_seconds"] == 93784
    assert db01["index_errors"] == ("http://repo.example.org/archive no-such-dist: 404  File not found "
                                    "[IP: 192.0.2.20 80]; http://mirror.example.org/debian stable: "
                                    "Could not connect to mirror.example.org:80")
    assert "1 day old" in db01["index_problem"]
    assert assets["web01"]["index_stale"] is False and assets["web01"]["index_problem"] is None
    paths = scan_report.write(str(tmp_path), report, TODAY)
    rows = {r["host"]: r for r in csv.DictReader(open(paths["assets.csv"], encoding="utf-8"))}
    assert rows["db01"]["index_stale"] == "yes" and rows["db01"]["index_age_seconds"] == "93784"
    assert "no-such-dist" in rows["db01"]["index_errors"] and rows["app01"]["index_stale"] == "no"


def test_first_seen_store_survives_partial_scans_and_forgets_what_is_gone():
    from datetime import date as _date
    seen = {"web1|libssl3|amd64|3.0-2": "2026-11-01", "web1|gone|amd64|1.0": "2026-10-01",
            "db1|libssl3|amd64|3.0-2": "2026-11-02"}
    results = {"web1": {"updates": [{"name": "libssl3", "arch": "amd64", "candidate_version": "3.0-2"},
                                    {"name": "curl", "arch": "amd64", "candidate_version": "8.0-2"}]},
               "app1": {"updates": None}}
    store = scan_report.stamp_first_seen(results, seen, _date(2026, 12, 6))
    assert [r["first_seen"] for r in results["web1"]["updates"]] == ["2026-11-01", "2026-12-06"]
    assert store == {"web1|libssl3|amd64|3.0-2": "2026-11-01", "web1|curl|amd64|8.0-2": "2026-12-06",
                     "db1|libssl3|amd64|3.0-2": "2026-11-02"}  # db1 not scanned: kept; web1's "gone": forgotten
    # the plan stamps only what the store knows
    unknown = {"web1": {"updates": [{"name": "new", "arch": "amd64", "candidate_version": "1", "first_seen": None}]}}
    scan_report.stamp_first_seen(unknown, store, None)
    assert unknown["web1"]["updates"][0]["first_seen"] is None


def test_the_first_seen_store_moves_to_its_own_file(tmp_path):
    from datetime import date as _date
    (tmp_path / "report").mkdir()
    (tmp_path / "report" / "first_seen.json").write_text('{"web1|a||1": "2026-11-01"}')
    state = tmp_path / "state" / "first_seen.json"
    assert scan_report.load_seen(str(tmp_path / "report"), str(state)) == {"web1|a||1": "2026-11-01"}  # the old one
    report = {"assets": [], "updates": [], "first_seen": {"web1|a||1": "2026-11-01"}}
    paths = scan_report.write(str(tmp_path / "report"), report, _date(2026, 12, 6), str(state))
    assert paths["first_seen.json"] == str(state) and state.exists()
    state.write_text('{"web1|a||1": "2026-11-03"}')
    assert scan_report.load_seen(str(tmp_path / "report"), str(state)) == {"web1|a||1": "2026-11-03"}


def test_assets_carry_the_machine_id_or_why_there_is_none(tmp_path):
    results = json.loads(json.dumps(RESULTS))
    results["db01"]["asset"]["machine_id"] = "9072a86b1afd8a53c8e11517bf1c7207"
    results["web01"]["asset"].update(machine_id=None, machine_id_reason="/etc/machine-id: absent")
    report = scan_report.build(results, CMDB, {}, TODAY, {})
    assets = {a["host"]: a for a in report["assets"]}
    assert (assets["db01"]["machine_id"], assets["db01"]["machine_id_reason"]) == \
        ("9072a86b1afd8a53c8e11517bf1c7207", None)
    assert (assets["web01"]["machine_id"], assets["web01"]["machine_id_reason"]) == (None, "/etc/machine-id: absent")
    assert assets["ghost"]["machine_id"] is None  # not scanned: nothing known
    paths = scan_report.write(str(tmp_path / "out"), report, TODAY)
    written = {r["host"]: r for r in csv.DictReader(open(paths["assets.csv"], encoding="utf-8"))}
    assert written["db01"]["machine_id"] == "9072a86b1afd8a53c8e11517bf1c7207"
    assert written["web01"]["machine_id_reason"] == "/etc/machine-id: absent"
    kept = {a["host"]: a for a in json.loads(open(paths["assets.json"], encoding="utf-8").read())["assets"]}
    assert kept["db01"]["machine_id"] == "9072a86b1afd8a53c8e11517bf1c7207"
