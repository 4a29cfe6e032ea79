"""plancheck.policy_verdict: a plan made under another policy is refused, both digests named."""

from __future__ import annotations

from ansible_collections.patchpilot.fleet.plugins.module_utils.plancheck import policy_verdict

OLD, NEW = "sha256:" + "a" * 64, "sha256:" + "b" * 64


def plan(digest=OLD, fmt=2):
    return {"format": fmt, "policy_digest": digest, "hosts": []}


def test_the_same_policy_is_accepted():
    verdict = policy_verdict(plan(), OLD, where="/plans/r1.json")
    assert verdict == {"ok": True, "replan": False, "plan_digest": OLD, "policy_digest": OLD, "message": None}


def test_a_reviewed_plan_under_another_policy_is_refused_with_both_digests():
    verdict = policy_verdict(plan(), NEW, where="/plans/r1.json")
    assert not verdict["ok"] and not verdict["replan"]
    assert OLD in verdict["message"] and NEW in verdict["message"]
    assert "/plans/r1.json" in verdict["message"] and "patchpilot_replan=true" in verdict["message"]
    assert "fresh plan" in verdict["message"]


def test_a_resumed_run_under_another_policy_is_refused_and_says_how_to_go_on():
    verdict = policy_verdict(plan(), NEW, resumed=True, where="20261127T210000Z-a1b2c3")
    assert not verdict["ok"] and not verdict["replan"]
    assert "run 20261127T210000Z-a1b2c3" in verdict["message"]
    assert OLD in verdict["message"] and NEW in verdict["message"]
    assert "pending hosts" in verdict["message"] and "close_run.yml" in verdict["message"]


def test_replan_turns_the_refusal_into_a_replan():
    reviewed = policy_verdict(plan(), NEW, replan=True, where="/plans/r1.json")
    resumed = policy_verdict(plan(), NEW, replan=True, resumed=True, where="r1")
    assert reviewed["replan"] and not reviewed["ok"] and "a fresh plan replaces it" in reviewed["message"]
    assert resumed["replan"] and "pending hosts are planned again" in resumed["message"]
    assert policy_verdict(plan(), OLD, replan=True)["ok"]  # nothing to replan when the policy is the same


def test_a_plan_of_the_old_format_counts_as_another_policy():
    verdict = policy_verdict(plan(digest=NEW, fmt=1), NEW, resumed=True, where="r1")
    assert not verdict["ok"] and "plan format 1" in verdict["message"]
    assert policy_verdict(plan(digest=NEW, fmt=1), NEW, replan=True)["replan"]


def test_a_plan_without_a_digest_is_refused():
    verdict = policy_verdict({"format": 2}, NEW)
    assert not verdict["ok"] and "(none)" in verdict["message"] and NEW in verdict["message"]
    assert not policy_verdict("not a plan", NEW)["ok"]


def test_a_plan_of_a_newer_patchpilot_is_refused_even_to_replan():
    for resumed, what in ((False, "the plan /plans/r9.json"), (True, "run r9")):
        verdict = policy_verdict(plan(digest=NEW, fmt=3), NEW, replan=True, resumed=resumed,
                                 where="r9" if resumed else "/plans/r9.json")
        assert not verdict["ok"] and not verdict["replan"]
        assert verdict["message"].startswith(f"{what}: plan format 3 is not 2: written by a newer patchpilot")
