"""transaction_check: does the simulated transaction match the plan? (module_utils/transaction_check.py)"""

from __future__ import annotations

from pathlib import Path

import pytest

from ansible_collections.patchpilot.fleet.plugins.module_utils.transaction_check import (
    parse_dnf_results,
    transaction_check,
)

FIXTURES = Path(__file__).parent / "fixtures"

# apt-get -s install of two planned versions; pp-legacy goes, pp-libnew comes in
APT_SIM = """Reading package lists...
Building dependency tree...
The following packages will be REMOVED:
  pp-legacy
The following NEW packages will be installed:
  pp-libnew
The following packages will be upgraded:
  pp-web pplab-seclib
2 upgraded, 1 newly installed, 1 to remove and 0 not upgraded.
Remv pp-legacy [0.9-1]
Inst pp-libnew (1.0-1 Fixture Repo:fixture [all])
Inst pp-web [1.0-1] (1.1-1 Fixture Repo:fixture [all])
Inst pplab-seclib:amd64 [1.0-1] (1.0-2 Fixture Repo:fixture [amd64])
Conf pp-libnew (1.0-1 Fixture Repo:fixture [all])
Conf pp-web (1.1-1 Fixture Repo:fixture [all])
Conf pplab-seclib:amd64 (1.0-2 Fixture Repo:fixture [amd64])
"""
# the patch role's simulation of staged files: apt names the file as the source
APT_FILES = ("Inst pp-web [1.0-1] (1.1-1 /var/cache/patchpilot/runs/r1/packages/pp-web_1.1-1_all.deb [all])\n"
             "Conf pp-web (1.1-1 /var/cache/patchpilot/runs/r1/packages/pp-web_1.1-1_all.deb [all])\n")


def test_apt_matching_the_plan():
    verdict = transaction_check("apt", {"rc": 0, "stdout": APT_SIM}, ["pp-web", "pplab-seclib", "pp-libnew"], ["pp-legacy"])
    assert verdict["ok"] is True and verdict["skipped"] is False and verdict["message"] == "transaction: matches the plan"
    assert verdict["installs"] == ["pp-web", "pplab-seclib", "pp-libnew"]  # upgrades, then new ones
    assert verdict["removals"] == ["pp-legacy"] and verdict["tool"] == "apt-get -s install"


def test_apt_unplanned_install_and_removal_fail_the_check():
    verdict = transaction_check("apt", {"rc": 0, "stdout": APT_SIM}, ["pp-web", "pplab-seclib"], [])
    assert verdict["ok"] is False
    assert verdict["unplanned_installs"] == ["pp-libnew"] and verdict["unplanned_removals"] == ["pp-legacy"]
    assert verdict["message"] == ("transaction: the simulation differs from the plan; would remove unplanned: [pp-legacy];"
                                  " would install unplanned: [pp-libnew]")


def test_apt_simulation_of_staged_files():
    verdict = transaction_check("apt", {"rc": 0, "stdout": APT_FILES}, ["pp-web"], [])
    assert verdict["ok"] and verdict["installs"] == ["pp-web"]


def test_apt_failure_quotes_apts_error():
    result = {"rc": 100, "stdout": "Reading package lists...\n",
              "stderr": "W: something\nE: Unable to correct problems, you have held broken packages.\n"}
    verdict = transaction_check("apt", result, ["pp-web"], [])
    assert verdict["ok"] is False and verdict["rc"] == 100
    assert verdict["message"] == ("transaction: apt-get -s install of the plan failed (rc 100): "
                                  "E: Unable to correct problems, you have held broken packages.")
    assert "installs" not in verdict


def test_apt_output_that_is_not_apts_fails_clearly():
    verdict = transaction_check("apt", {"rc": 0, "stdout": "hello world\n"}, ["pp-web"], [])
    assert verdict["ok"] is False and verdict["rc"] == 1
    assert "this is not the output of apt-get" in verdict["message"]


def test_apt_fixture_of_a_real_host():
    text = (FIXTURES / "bookworm-dist-upgrade.txt").read_text(encoding="utf-8")
    verdict = transaction_check("apt", {"rc": 0, "stdout": text}, ["nothing-planned-matches"], [])
    assert verdict["ok"] is False and verdict["unplanned_installs"]


DNF_RESULTS = ["Installed: pprpm-seclib-1.0-2.noarch", "Installed: pprpm-tools-libs-1:1.1-1.x86_64",
               "Removed: pprpm-seclib-1.0-1.noarch", "Removed: pprpm-tools-libs-1:1.0-1.x86_64",
               "Removed: pprpm-extra-1.0-1.noarch", "Installed: pprpm-new-dep-2.0-1.noarch"]


def test_parse_dnf_results_a_replaced_version_is_no_removal():
    assert parse_dnf_results(DNF_RESULTS) == {
        "installs": ["pprpm-seclib", "pprpm-tools-libs", "pprpm-new-dep"], "removals": ["pprpm-extra"]}
    assert parse_dnf_results(None) == {"installs": [], "removals": []}


def test_dnf_matching_and_differing():
    ok = transaction_check("dnf", {"rc": 0, "results": DNF_RESULTS[:4]}, ["pprpm-seclib", "pprpm-tools-libs"], [])
    assert ok["ok"] and ok["removals"] == [] and ok["tool"] == "dnf install (resolved in check mode)"
    off = transaction_check("dnf", {"rc": 0, "results": DNF_RESULTS}, ["pprpm-seclib", "pprpm-tools-libs"], [])
    assert off["unplanned_installs"] == ["pprpm-new-dep"] and off["unplanned_removals"] == ["pprpm-extra"]


def test_dnf_failure_quotes_the_modules_message():
    verdict = transaction_check("dnf", {"failed": True, "msg": "Depsolve Error occurred",
                                        "failures": ["No package pprpm-x-9 available."]}, ["pprpm-x"], [])
    assert verdict["ok"] is False and verdict["rc"] == 1
    assert verdict["message"].endswith("failed (rc 1): Depsolve Error occurred: No package pprpm-x-9 available.")


@pytest.mark.parametrize(("manager", "planned", "expected"), [
    ("apt", [], {"ok": True, "skipped": True,
                 "message": "transaction: no planned packages (preflight_plan_host), not simulated"}),
    ("zypper", ["x"], {"ok": False, "skipped": False, "message": "transaction: only apt and dnf here"}),
])
def test_nothing_planned_or_unsupported(manager, planned, expected):
    assert transaction_check(manager, None, planned, [], "only apt and dnf here") == expected
