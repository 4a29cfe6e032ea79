"""plancheck.replan_pending: an interrupted run keeps its finished hosts and replans the pending ones."""

from __future__ import annotations

from ansible_collections.patchpilot.fleet.plugins.module_utils.plancheck import replan_pending


def entry(host, wave, version, digest):
    return {"host": host, "wave": wave, "status": "rollout", "packages": [{"name": "openssl", "version": version}],
            "removals": [], "settings": {"reboot": digest}}


def old_plan():
    return {"format": 2, "run_id": "run1", "policy_digest": "sha256:old", "settings": {"notifications": []},
            "budget": {"max_failed": 0}, "approved_set": {h: {"openssl": "1"} for h in ("a", "b", "c")},
            "waves": [{"wave": 0, "canary": True, "hosts": ["a"]}, {"wave": 1, "canary": False, "hosts": ["b", "c"]}],
            "hosts": [entry("a", 0, "1", "old"), entry("b", 1, "1", "old"), entry("c", 1, "1", "old"),
                      {"host": "z", "wave": None, "status": "nothing_to_do", "packages": [], "removals": []}]}


def fresh_plan():
    return {"format": 2, "run_id": "fresh", "policy_digest": "sha256:new", "settings": {"notifications": ["x"]},
            "budget": {"max_failed": 1}, "approved_set": {h: {"openssl": "2"} for h in ("a", "b", "c")},
            "waves": [{"wave": 0, "canary": True, "hosts": ["a"], "schedule": [{"hosts": ["a"]}]},
                      {"wave": 1, "canary": False, "hosts": ["b"], "schedule": [{"hosts": ["b"]}]},
                      {"wave": 2, "canary": False, "hosts": ["c"], "schedule": [{"hosts": ["c"]}]}],
            "hosts": [entry("a", 0, "2", "new"), entry("b", 1, "2", "new"), entry("c", 2, "2", "new")]}


def test_finished_hosts_keep_their_plan_and_pending_hosts_take_the_fresh_one():
    merged = replan_pending(old_plan(), fresh_plan(), {"a": "done", "b": "failed", "c": "staged"}, at="T")
    hosts = {e["host"]: e for e in merged["hosts"]}
    assert hosts["a"]["packages"][0]["version"] == "1" and hosts["b"]["settings"] == {"reboot": "old"}
    assert hosts["c"]["packages"][0]["version"] == "2" and hosts["c"]["settings"] == {"reboot": "new"}
    # the fresh wave of c follows the old waves, numbered on
    assert [(w["wave"], w["hosts"]) for w in merged["waves"]] == [(0, ["a"]), (1, ["b"]), (2, ["c"])]
    assert hosts["c"]["wave"] == 2 and merged["waves"][-1]["schedule"] == [{"hosts": ["c"]}]
    assert merged["policy_digest"] == "sha256:new" and merged["settings"] == {"notifications": ["x"]}
    assert merged["budget"] == {"max_failed": 1} and merged["run_id"] == "run1"
    assert merged["approved_set"] == {"a": {"openssl": "1"}, "b": {"openssl": "1"}, "c": {"openssl": "2"}}
    assert merged["replanned"] == [{"at": "T", "from_digest": "sha256:old", "to_digest": "sha256:new",
                                    "fresh_plan": "fresh", "hosts": ["c"]}]
    assert hosts["z"]["wave"] is None


def test_a_pending_host_the_fresh_plan_leaves_out_leaves_the_waves():
    fresh = fresh_plan()
    fresh["hosts"] = [dict(e, wave=None, status="nothing_to_do") if e["host"] == "c" else e for e in fresh["hosts"]]
    fresh["waves"] = fresh["waves"][:2]
    merged = replan_pending(old_plan(), fresh, {"a": "done", "b": "pending", "c": "pending"}, at="T")
    hosts = {e["host"]: e for e in merged["hosts"]}
    assert hosts["c"]["wave"] is None and hosts["b"]["wave"] == 2
    assert [(w["wave"], w["hosts"]) for w in merged["waves"]] == [(0, ["a"]), (2, ["b"])]
