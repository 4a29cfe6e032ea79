"""plugin_utils.policy_file: the policy file read and checked for the policy_check and plan actions."""

import pytest
from ansible.errors import AnsibleActionFail

from ansible_collections.patchpilot.fleet.plugins.plugin_utils.policy_file import merged, read_checked_policy


def test_merged_lays_overrides_over_the_policy():
    base = {"emergency": {"cves": ["CVE-2026-0001"], "bypass_windows": False}, "reboot": "never"}
    assert merged(base, {"emergency": {"bypass_windows": True}, "reboot": "always"}) == {
        "emergency": {"cves": ["CVE-2026-0001"], "bypass_windows": True}, "reboot": "always"}
    assert base["emergency"]["bypass_windows"] is False


def test_read_checked_policy(tmp_path):
    path = tmp_path / "policy.yml"
    path.write_text("version: 2\nreboot: never\n", encoding="utf-8")
    policy = read_checked_policy(str(path), "2026-11-27", {"rollout": {"parallel": 2}})
    assert policy["rollout"]["parallel"] == 2 and policy["plan"] == {"max_age_hours": 72}
    with pytest.raises(AnsibleActionFail, match="no policy given"):
        read_checked_policy(None, None)
    with pytest.raises(AnsibleActionFail, match=r"^today: "):
        read_checked_policy(str(path), "soon")
    with pytest.raises(AnsibleActionFail, match=r"rollout\.parallel: expected a whole number from 1 to 100000"):
        read_checked_policy(str(path), None, {"rollout": {"parallel": 0}})
