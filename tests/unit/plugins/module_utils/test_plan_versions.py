"""plan_versions: do the installed versions match the plan? (module_utils/plan_versions.py)"""

from __future__ import annotations

import pytest

from ansible_collections.patchpilot.fleet.plugins.module_utils.installed_packages import parse_dpkg_query, parse_rpm_query
from ansible_collections.patchpilot.fleet.plugins.module_utils.plan_versions import (
    installed_versions,
    mismatches,
    observe,
    patch_verdict,
    pending,
    unplanned_changes,
)
from ansible_collections.patchpilot.fleet.plugins.module_utils.transaction_check import transaction_check

ENTRY = {"packages": [{"name": "pp-web", "version": "1.1-1", "from_version": "1.0-1"},
                      {"name": "pp-lib", "version": "2.0-1", "from_version": None}],
         "removals": [{"name": "pp-legacy", "from_version": "0.9-1"}]}


def dpkg(*lines):
    return parse_dpkg_query("".join(f"{line}\n" for line in lines))


BEFORE = dpkg("pp-web\t1.0-1\tall\tii ", "pp-legacy\t0.9-1\tall\tii ", "openssl\t3.0-1\tamd64\tii ")
AFTER = dpkg("pp-web\t1.1-1\tall\tii ", "pp-lib\t2.0-1\tall\tii ", "openssl\t3.0-1\tamd64\tii ")
OK_SIM = {"ok": True, "rc": 0, "unplanned_installs": [], "unplanned_removals": []}


def test_pending_names_what_is_not_at_its_planned_version():
    assert pending(ENTRY, BEFORE) == ["pp-web", "pp-lib"]
    assert pending(ENTRY, AFTER) == []


def test_rpm_epoch_0_matches_a_plan_without_epoch():
    records = parse_rpm_query("pprpm-seclib\t0:1.0-2\tnoarch\tii \npprpm-tools-libs\t1:1.1-1\tx86_64\tii \n")
    entry = {"packages": [{"name": "pprpm-seclib", "version": "1.0-2"}, {"name": "pprpm-tools-libs", "version": "1:1.1-1"}]}
    assert pending(entry, records) == [] and mismatches(entry, records) == []
    assert installed_versions(entry, records) == {"pprpm-seclib": "1.0-2", "pprpm-tools-libs": "1:1.1-1"}


def test_a_half_configured_package_is_a_mismatch_even_at_the_planned_version():
    after = dpkg("pp-web\t1.1-1\tall\tiF ", "pp-lib\t2.0-1\tall\tii ")
    assert mismatches(ENTRY, after) == [{"name": "pp-web", "planned": "1.1-1", "installed": "1.1-1", "status": "iF"}]
    missing = dpkg("pp-web\t1.1-1\tall\tii ")
    assert mismatches(ENTRY, missing) == [{"name": "pp-lib", "planned": "2.0-1", "installed": None, "status": ""}]


def test_unplanned_changes_between_two_readings():
    after = dpkg("pp-web\t1.1-1\tall\tii ", "pp-lib\t2.0-1\tall\tii ", "openssl\t3.1-1\tamd64\tii ", "pp-new\t1\tall\tii ")
    before = BEFORE + dpkg("pp-other\t1\tall\tii ")
    assert unplanned_changes(ENTRY, before, after) == {"installed": ["openssl=3.1-1", "pp-new=1"], "removed": ["pp-other"]}
    assert unplanned_changes(ENTRY, BEFORE, AFTER) == {"installed": [], "removed": []}


def test_verdict_installed_exactly_the_plan():
    verdict = patch_verdict(ENTRY, BEFORE, AFTER, OK_SIM, {"rc": 0, "stderr": ""}, 1800)
    assert verdict["ok"] and verdict["matches_plan"] and verdict["ran"] and verdict["rc"] == 0
    assert verdict["message"] == "rc 0, installed exactly the plan"
    assert verdict["installed"] == {"pp-web": "1.1-1", "pp-lib": "2.0-1"}
    assert verdict["removed"] == ["pp-legacy"] and verdict["simulation"] == {"rc": 0, "unplanned": {"installed": [], "removed": []}}


def test_verdict_nothing_to_do():
    verdict = patch_verdict(ENTRY, AFTER, AFTER, None, None, 1800)
    assert verdict["ok"] and not verdict["ran"] and verdict["rc"] is None and verdict["simulation"] is None
    assert verdict["message"] == "every planned version was already installed, nothing run"


def test_verdict_refused_before_installing():
    sim = transaction_check("apt", {"rc": 0, "stdout": "Inst pp-web [1.0-1] (1.1-1 x [all])\nRemv openssl [3.0-1]\n"},
                            ["pp-web", "pp-lib"], ["pp-legacy"])
    verdict = patch_verdict(ENTRY, BEFORE, BEFORE, sim, {"skipped": True}, 1800)
    assert not verdict["ok"] and not verdict["ran"] and verdict["unplanned"] == {"installed": [], "removed": ["openssl"]}
    assert verdict["message"] == ("refused before installing, the transaction differs from the plan: would install unplanned [],"
                                  " would remove unplanned [openssl]")


def test_verdict_failed_simulation():
    sim = transaction_check("apt", {"rc": 100, "stderr": "E: Broken packages\n"}, ["pp-web"], [])
    verdict = patch_verdict(ENTRY, BEFORE, BEFORE, sim, {"skipped": True}, 1800)
    assert not verdict["ok"] and verdict["rc"] == 100
    assert verdict["message"] == "the simulation of the install failed (rc 100): E: Broken packages"


def test_verdict_timed_out_and_off_plan():
    after = dpkg("pp-web\t1.1-1\tall\tiU ", "pp-legacy\t0.9-1\tall\tii ", "openssl\t3.0-1\tamd64\tii ")
    run = {"rc": 124, "stderr": "dpkg: error processing pp-web\nnoise\n"}
    verdict = patch_verdict(ENTRY, BEFORE, after, OK_SIM, run, 8)
    assert verdict["timed_out"] and not verdict["ok"] and not verdict["matches_plan"]
    assert verdict["message"] == ("timed out after 8 s, killed (rc 124); dpkg: error processing pp-web;"
                                  " mismatch pp-web: planned 1.1-1, installed 1.1-1 (iU);"
                                  " mismatch pp-lib: planned 2.0-1, installed none")


def test_bad_plan_entry_is_one_clear_error():
    with pytest.raises(ValueError, match="a planned package must be a mapping with name and version"):
        pending({"packages": ["pp-web"]}, BEFORE)


def test_observe_as_planned_as_before_or_neither():
    assert observe(ENTRY, AFTER)["as_planned"] is True
    before = observe(ENTRY, BEFORE)
    assert before["as_planned"] is False and before["as_before"] is True
    assert before["off_plan"] == ["pp-web 1.0-1 (planned 1.1-1)", "pp-lib (not installed) (planned 2.0-1)",
                                  "pp-legacy 0.9-1 (planned removed)"]
    mixed = observe(ENTRY, dpkg("pp-web\t1.1-1\tall\tii "))
    assert not mixed["as_planned"] and not mixed["as_before"]
    assert mixed["installed"] == {"pp-web": "1.1-1"}


def test_observe_refuses_records_that_are_not_records():
    with pytest.raises(ValueError, match="must be mappings with name and version"):
        observe(ENTRY, [{"nom": "x"}])
