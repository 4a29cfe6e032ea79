"""audit_checklist: the checklist of issue #15 item 4 kept once as data, and each step's rule finding
a run's evidence in its records (or None: "not done")."""

import pytest

from ansible_collections.patchpilot.fleet.plugins.module_utils.audit_checklist import CHECKLIST, RULES, evaluate

RUN = {"run_id": "r1", "user": "alice", "started": "2026-11-21T08:00:00+00:00", "approved_by": "carol",
       "change_ticket": "CHG-7", "policy_digest": "sha256:" + "ab" * 32, "awx_job_id": 4711}
BARE = {"run_id": "r1", "user": None, "started": None, "approved_by": None, "change_ticket": None,
        "policy_digest": None}
FULL = ("preflight", "staged", "snapshotted", "patched", "verified", "done")


def host(name="web1", state="done", wave=0, phases=FULL, snapshot=True, canary=False):
    return {"kind": "host", "run_id": "r1", "host": name, "state": state,
            "data": {"wave": wave, "canary": canary, "phases": [{"phase": p, "at": "x"} for p in phases],
                     "snapshot": {"provider": "lvm", "id": "s1"} if snapshot else None}}


def update(state, name="web1", **data):
    return {"kind": "update", "run_id": "r1", "host": name, "package": "openssl", "version": "3", "state": state,
            "data": data}


ASSET = {"kind": "asset", "host": "web1", "machine_id": "a" * 32, "data": {"hostname": "web1.example.org"}}
ENDED = {"kind": "run", "run_id": "r1", "state": "completed", "data": {}}

#: step -> (run, records with its evidence, what the evidence says, run and records without it)
CASES = {
    "inventory": (RUN, [ASSET], "asset facts of 1 host (web1)", RUN, [{"kind": "asset", "host": "web1", "data": {}}]),
    "priorities": (RUN, [update("approved", severity="high", due="2026-11-27")], "1 update records with a severity",
                   RUN, [update("approved", severity="high")]),
    "policy": (RUN, [], "approved by carol", BARE, []),
    "monitoring": (RUN, [host()], "health baseline taken in preflight on 1 host", RUN,
                   [host(phases=["staged", "patched"])]),
    "testing": (RUN, [update("tested")], "1 updates tested on canary 1 host (web1)", RUN, [update("installed")]),
    "documentation": (RUN, [], "run by alice (AWX job 4711)", BARE, []),
    "deployment": (RUN, [update("installed")], "1 updates installed on 1 host", RUN, [update("approved")]),
    "deployment_audit": (RUN, [update("verified")], "1 updates verified", RUN, [update("installed")]),
    "disaster_recovery": (RUN, [host(), host("web2", "rolled_back")], "web2) rolled back", RUN,
                          [host(snapshot=False)]),
    "reports": (RUN, [ENDED, host()], "run ended completed", RUN, [dict(ENDED, state="running"), host()]),
    "backup_verified": (RUN, [host()], "snapshot taken and recorded on 1 host", RUN,
                        [host(phases=["preflight", "patched"])]),
    "monitoring_before_after": (RUN, [host()], "before (preflight) and after (verify)", RUN,
                                [host(phases=["preflight", "patched", "failed"])]),
    "compatibility_verified": (RUN, [update("tested"), host(canary=True)], "canary 1 host (web1) patched", RUN,
                               [update("tested"), host(canary=True, state="failed")]),
    "one_change_at_a_time": (RUN, [host(wave=0), host("web2", wave=1)], "2 waves (0, 1)", RUN,
                             [host(wave=0), host("web2", wave=0)]),
    "documentation_updated": (RUN, [], "change ticket CHG-7", BARE, []),
}


def test_the_checklist_holds_every_step_of_the_issue_once():
    steps = [step for _id, step, _feature, _rule in CHECKLIST]
    assert steps == ["Inventory", "Priorities", "Policy", "Monitoring", "Testing", "Documentation", "Deployment",
                     "Audit of the deployment", "Disaster recovery", "Reports", "Backup verified",
                     "Monitoring before and after", "Compatibility verified", "One change at a time",
                     "Documentation updated"]
    assert all(feature for _id, _step, feature, _rule in CHECKLIST) and set(RULES) == set(CASES)


@pytest.mark.parametrize("step", sorted(CASES))
def test_rule_finds_the_evidence(step):
    run, records, says, _bare, _without = CASES[step]
    assert says in RULES[step](run, records)


@pytest.mark.parametrize("step", sorted(CASES))
def test_rule_without_the_evidence_says_not_done(step):
    _run, _records, _says, bare, without = CASES[step]
    assert RULES[step](bare, without) is None


def test_evaluate_marks_each_step_done_or_not():
    model = {"run_id": "r1", "runs": [RUN]}
    found = {step["id"]: step for step in evaluate(model, [update("installed")])}
    assert found["deployment"]["done"] and "1 updates installed" in found["deployment"]["evidence"]
    assert not found["testing"]["done"] and found["testing"]["evidence"] is None
    assert all(not step["done"] for step in evaluate({"run_id": None, "runs": []}, [update("installed")]))
