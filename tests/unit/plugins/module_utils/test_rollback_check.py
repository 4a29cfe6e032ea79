"""rollback_check: did the rollback restore the previous versions? (module_utils/rollback_check.py)

The other fact of a rollback, whether the host is healthy, is the health check's;
rollback_outcomes reads both, apart, from the run record.
"""

from __future__ import annotations

from ansible_collections.patchpilot.fleet.plugins.module_utils.installed_packages import parse_dpkg_query, parse_rpm_query
from ansible_collections.patchpilot.fleet.plugins.module_utils.rollback_check import (
    command_steps,
    rollback_check,
    rollback_outcomes,
    touched_names,
)

BASELINE = {"pp-web": "1.0-1", "pp-legacy": "0.9-1", "openssl": "3.0-1"}


def dpkg(*lines):
    return parse_dpkg_query("".join(f"{line}\n" for line in lines))


def test_everything_back_is_restored():
    records = dpkg("pp-web\t1.0-1\tall\tii ", "pp-legacy\t0.9-1\tall\tii ", "openssl\t3.0-1\tamd64\tii ",
                   "pp-conf\t1\tall\trc ")
    verdict = rollback_check(BASELINE, records, ["pp-web"])
    assert verdict == {"versions_restored": True, "mismatches": [], "other_differences": [],
                       "message": "0 mismatch(es) in planned packages; 0 other difference(s)"}


def test_a_touched_package_at_the_new_version_is_not_restored():
    records = dpkg("pp-web\t1.1-1\tall\tii ", "pp-legacy\t0.9-1\tall\tii ", "openssl\t3.0-2\tamd64\tii ")
    verdict = rollback_check(BASELINE, records, ["pp-web"])
    assert verdict["versions_restored"] is False
    assert verdict["mismatches"] == [{"name": "pp-web", "expected": "1.0-1", "actual": "1.1-1", "status": "ii",
                                      "text": "pp-web 1.0-1 expected, 1.1-1 found"}]
    # an untouched package that differs is reported, not a failure
    assert [d["text"] for d in verdict["other_differences"]] == ["openssl 3.0-1 expected, 3.0-2 found"]
    assert verdict["message"] == ("1 mismatch(es) in planned packages: pp-web 1.0-1 expected, 1.1-1 found;"
                                  " 1 other difference(s): openssl 3.0-1 expected, 3.0-2 found")


def test_a_missing_or_half_configured_package_and_a_package_the_patch_added():
    records = dpkg("pp-web\t1.0-1\tall\tiF ", "openssl\t3.0-1\tamd64\tii ", "pp-new-dep\t1\tall\tii ")
    verdict = rollback_check(BASELINE, records, ["pp-web", "pp-legacy"])
    assert [d["text"] for d in verdict["mismatches"]] == [
        "pp-legacy 0.9-1 expected, absent found", "pp-new-dep absent expected, 1 found",
        "pp-web 1.0-1 expected, 1.0-1 found (iF)"]
    assert verdict["mismatches"][0]["status"] == "not installed"
    assert not verdict["versions_restored"]


def test_rpm_baseline_with_epoch():
    records = parse_rpm_query("pprpm-seclib\t0:1.0-1\tnoarch\tii \n")
    assert rollback_check({"pprpm-seclib": "0:1.0-1"}, records, ["pprpm-seclib"])["versions_restored"]
    assert rollback_check({"pprpm-seclib": "1.0-1"}, records, ["pprpm-seclib"])["versions_restored"]


def test_touched_names_plan_removals_and_kept_files():
    snapshot = {"plan_packages": ["pp-web"]}
    entry = {"packages": [{"name": "pp-lib", "version": "2"}], "removals": ["pp-legacy", {"name": "pp-old"}]}
    assert touched_names(snapshot, entry, [{"name": "pp-kept", "file": "x.deb"}]) == \
        ["pp-web", "pp-lib", "pp-legacy", "pp-old", "pp-kept"]
    assert touched_names({}, None) == []


def test_rollback_outcomes_two_facts_apart():
    records = {
        "web01": {"phase": "rolled_back", "history": [{"phase": "rolled_back",
                                                       "detail": {"versions_restored": True, "healthy": False}}]},
        "db01": {"phase": "rolled_back", "history": [{"phase": "rolled_back", "detail": {"ok": True}}]},
        "app01": {"phase": "failed", "history": [{"phase": "failed", "detail": {"versions_restored": False}}]},
        "old01": {"phase": "rolled_back", "history": []},
    }
    assert rollback_outcomes(records) == {
        "web01": {"versions_restored": True, "healthy": False},
        "db01": {"versions_restored": True, "healthy": True},
        "old01": {"versions_restored": True, "healthy": True},
    }


def test_command_steps_name_each_command_and_cut_the_output():
    results = [{"item": {"argv": ["lvconvert", "--merge", "vg/snap"], "note": "merge"}, "rc": 0,
                "stdout": "x" * 50, "stderr": "warn"}]
    assert command_steps(results, limit=20) == [
        {"step": "lvconvert --merge vg/snap (merge)", "rc": 0, "output": "x" * 16 + " ..."}]
    assert command_steps(None) == []
