"""scan.urgency_severity: what a Debian changelog's urgency means, with defaults per key."""

import pytest

from ansible_collections.patchpilot.fleet.plugins.module_utils.policy import PolicyError, validate_policy

BASE = {"version": 2, "reboot": "never"}
DEFAULT = {"low": "low", "medium": "medium", "high": "high", "emergency": "critical", "critical": "critical"}


def test_the_default_mapping():
    assert validate_policy(BASE)["scan"] == {"stale_index": "report", "urgency_severity": DEFAULT}


def test_a_key_given_keeps_the_others_default_and_any_case_is_read():
    scan = validate_policy(dict(BASE, scan={"urgency_severity": {"medium": " High "}}))["scan"]
    assert scan["urgency_severity"] == dict(DEFAULT, medium="high")


def test_bad_mappings_are_refused_with_the_key():
    with pytest.raises(PolicyError) as caught:
        validate_policy(dict(BASE, scan={"urgency_severity": {"medium": "urgent", "severe": "low"}}))
    assert caught.value.errors == [
        "scan.urgency_severity.severe: unknown key (known keys: low, medium, high, emergency, critical)",
        "scan.urgency_severity.medium: 'urgent' is not a severity (critical, high, medium, low)"]
