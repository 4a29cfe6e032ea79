"""approval: who approved a plan, checked against the policy's approvers."""

import pytest

from ansible_collections.patchpilot.fleet.plugins.module_utils.approval import ApprovalError, plan_approval

HOSTS = [{"host": "web1", "packages": [{"name": "libssl3", "approved_by": "auto (security, high, released 7 days ago)"},
                                       {"name": "pp-agent", "approved_by": "approved (package pp-agent)"}]},
         {"host": "db1", "packages": [{"name": "openssl", "approved_by": "emergency: CVE-2026-1 is on the list"}]},
         {"host": "app1", "packages": []}]
AT = "2026-12-06T09:00:00+00:00"


def test_a_plan_with_personal_approvals_names_its_approver():
    record = plan_approval(HOSTS, ["alice", "ops-leads"], "alice", AT)
    assert record == {"needed": True, "by": "alice", "at": AT, "source": "patchpilot_approved_by",
                      "reasons": ["web1: pp-agent (approved (package pp-agent))",
                                  "db1: openssl (emergency: CVE-2026-1 is on the list)"]}


def test_nobody_named_the_plan_says_it_needs_one():
    record = plan_approval(HOSTS, ["alice"], None, AT)
    assert record["needed"] and record["by"] is None and record["at"] is None


def test_an_automatic_plan_needs_nobody():
    auto = [dict(HOSTS[0], packages=HOSTS[0]["packages"][:1])]
    assert plan_approval(auto, [], None, AT) == {"needed": False, "reasons": [], "by": None, "at": None, "source": None}


@pytest.mark.parametrize("approvers, message", [
    (["alice", "bob"], "mallory is not an approver of this policy: approvers are alice, bob"),
    ([], "approvers are nobody"),
])
def test_a_name_not_listed_is_refused_with_the_list(approvers, message):
    with pytest.raises(ApprovalError, match=message):
        plan_approval(HOSTS, approvers, " mallory ", AT)
