"""The scan_report action reads the policy file and ranks with its priority section (defaults without one)."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleActionFail

from ansible_collections.patchpilot.fleet.plugins.action.scan_report import ranking
from ansible_collections.patchpilot.fleet.plugins.module_utils import priority


def test_the_policy_files_priority_section(tmp_path):
    path = tmp_path / "policy.yml"
    path.write_text("version: 2\nreboot: never\npriority:\n  weights:\n    internet_exposed: 40\n"
                    "emergency:\n  cves: [CVE-2026-90001]\n", encoding="utf-8")
    section = ranking(str(path), {})
    assert section["weights"]["internet_exposed"] == 40
    assert section["emergency"]["cves"] == ["CVE-2026-90001"]
    assert ranking(str(path), {"weights": {"internet_exposed": 1}})["weights"]["internet_exposed"] == 1


def test_no_policy_file_the_defaults():
    assert ranking(None, {}) == priority.validate_policy({})


def test_a_bad_policy_file_is_one_clear_error(tmp_path):
    path = tmp_path / "policy.yml"
    path.write_text("version: 2\nreboot: never\npriority:\n  weights:\n    internet_exposed: lots\n", encoding="utf-8")
    with pytest.raises(AnsibleActionFail, match=r"(?s)policy.yml: .*priority.weights.internet_exposed"):
        ranking(str(path), {})
