"""module_utils/scan_report.py priority_section: the scan ranks with the policy's priority section, as the plan."""

from __future__ import annotations

import json
from datetime import date

import pytest

from ansible_collections.patchpilot.fleet.plugins.module_utils import priority, scan_report
from ansible_collections.patchpilot.fleet.plugins.module_utils.policy import validate_policy
from ansible_collections.patchpilot.fleet.plugins.module_utils.records import make_update

TODAY = date(2026, 11, 27)


def upd(name, classification):
    return make_update(name=name, installed_version="1.0-1", candidate_version="1.0-2", arch="all",
                       classification=classification, effect="upgrade", backend="apt").as_dict()


def asset(host):
    return {"hostname": host, "os_family": "Debian", "os_distribution": "Debian", "os_version": "12",
            "os_codename": "bookworm"}


RESULTS = {
    "db01": {"asset": asset("db01"), "updates": [upd("libssl3", "security")], "error": None},
    "web01": {"asset": asset("web01"), "updates": [upd("libssl3", "security")], "error": None},
}
# db01: high criticality, confidential data; web01: low, public, but on the internet.
CMDB = {"db01": {"criticality": "high", "internet_exposed": "no", "data_sensitivity": "confidential"},
        "web01": {"criticality": "low", "internet_exposed": "yes", "data_sensitivity": "public"}}


def order(section):
    report = scan_report.build(json.loads(json.dumps(RESULTS)), CMDB, section, TODAY, {})
    return [row["host"] for row in report["updates"]]


def policy(**keys):
    return validate_policy({"version": 2, "reboot": "never", **keys})


def test_without_a_policy_the_defaults():
    assert scan_report.priority_section(None) == priority.validate_policy({})
    assert order(scan_report.priority_section(None)) == ["db01", "web01"]


def test_a_policy_weight_changes_the_order():
    weighted = policy(priority={"weights": {"internet_exposed": 40}})
    assert order(scan_report.priority_section(weighted)) == ["web01", "db01"]
    # the same section the plan ranks with
    assert scan_report.priority_section(weighted) == weighted["priority"]


def test_the_policys_emergency_rules_come_with_it():
    section = scan_report.priority_section(policy(emergency={"cves": [], "packages": ["libssl*"]}))
    assert section["emergency"]["packages"] == ["libssl*"]
    rows = scan_report.build(json.loads(json.dumps(RESULTS)), CMDB, section, TODAY, {})["updates"]
    assert all(row["emergency"] for row in rows)


def test_overrides_are_laid_over_the_policys_section_key_by_key():
    weighted = policy(priority={"weights": {"internet_exposed": 40}, "sla_days": {"high": 3}})
    section = scan_report.priority_section(weighted, {"sla_days": {"low": 60}})
    assert section["weights"]["internet_exposed"] == 40
    assert section["sla_days"] == {**priority.DEFAULT_SLA_DAYS, "high": 3, "low": 60}
    assert order(scan_report.priority_section(weighted, {"weights": {"internet_exposed": 0}})) == ["db01", "web01"]


@pytest.mark.parametrize("checked, overrides, message", [
    ("policy.yml", None, "policy: expected a checked policy"),
    (None, {"weights": {"internet_exposed": -1}}, "policy.weights.internet_exposed"),
    (None, {"colour": 1}, "colour"),
])
def test_bad_input_is_one_error(checked, overrides, message):
    with pytest.raises(ValueError, match=message):
        scan_report.priority_section(checked, overrides)
