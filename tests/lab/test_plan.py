"""The plan on the lab: hosts, waves, exact versions, exclusions and refusals; bad policies stop early."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from test_scan import apt_truth

pytestmark = pytest.mark.lab


def policy(**overrides) -> dict:
    data = {
        "version": 2,
        "change_ticket": "CHG-LAB-1",
        "approvers": ["ops"],
        "approvals": {
            "auto": {"classifications": ["security", "bugfix"],
                     "severities": ["critical", "high", "medium", "low"], "after_days": None},
            "reject": [{"package": "pplab-legacy", "reason": "major upgrade waits for the app team",
                        "expires": "2099-12-31"}],
            "allow_removals": True,
            "new_dependencies": "approved",
        },
        "windows": {"timezone": "UTC", "maintenance": [
            {"name": "any-time", "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
             "start": "00:00", "end": "23:59"}]},
        "rollout": {"canary": {"hosts": ["web01"]}, "waves": ["rest"], "minutes_per_host": 1, "soak_minutes": 1},
        "budget": {"max_failed": 1},
        "reboot": "if_required",
    }
    for key, value in overrides.items():
        section, _, leaf = key.partition("__")
        if leaf:
            data[section][leaf] = value
        else:
            data[section] = value
    return data


def make_plan(lab, tmp_path, data, check=True):
    path = tmp_path / "policy.yml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    proc = lab.playbook("playbooks/plan.yml", "-e", f"patchpilot_policy={path}",
                        "-e", f"patchpilot_plan_dir={tmp_path / 'plans'}",
                        "-e", f"patchpilot_report_dir={tmp_path / 'scan'}", check=check)
    plan_file = tmp_path / "plans" / "latest.json"
    return proc, (json.loads(plan_file.read_text(encoding="utf-8")) if plan_file.exists() else None)


def test_plan_for_the_lab(lab, tmp_path):
    _proc, plan = make_plan(lab, tmp_path, policy())
    hosts = {h["host"]: h for h in plan["hosts"]}
    assert plan["change_ticket"] == "CHG-LAB-1" and plan["budget"]["max_failed"] == 1
    assert set(hosts) == {h["name"] for h in lab.hosts}
    debian = [h for h in lab.hosts if h["role"] != "rpm"]
    for host in debian:
        entry = hosts[host["name"]]
        truth = apt_truth(lab, host)
        assert entry["status"] == "rollout", entry
        want = {n: v[1] for n, v in truth["upgrade"].items() if n != "pplab-legacy"}
        want.update({n: v[1] for n, v in truth["new_dependency"].items()})
        assert {p["name"]: p["version"] for p in entry["packages"]} == want, host["name"]
        assert plan["approved_set"][host["name"]] == want
        legacy = next(x for x in entry["excluded"] if x["name"] == "pplab-legacy")
        assert "major upgrade waits for the app team" in legacy["reason"]
        assert [r["name"] for r in entry["removals"]] == list(truth["removal"])
        assert entry["reboot_expected"] is True  # pplab-kernel, a reboot package in the lab inventory
    waves = {w["wave"]: w for w in plan["waves"]}
    assert waves[0]["canary"] and waves[0]["hosts"] == ["web01"]
    assert all(h["wave"] == 0 for h in plan["hosts"] if h["host"] == "web01")
    later = {h for w in plan["waves"] if w["wave"] > 0 for h in w["hosts"]}
    assert later == {h["host"] for h in plan["hosts"] if h["status"] == "rollout"} - {"web01"}


def test_removals_refused_by_default(lab, tmp_path):
    data = policy(rollout={"waves": ["rest"]})  # no canary: a refused canary would prove nothing
    data["approvals"]["allow_removals"] = False
    _proc, plan = make_plan(lab, tmp_path, data)
    for host in (h for h in lab.hosts if h["role"] != "rpm"):
        entry = next(h for h in plan["hosts"] if h["host"] == host["name"])
        assert entry["status"] == "refused" and entry["transaction_refused"], entry
        assert any(r["name"] == "pplab-monitor-compat" for r in entry["refused"]), entry["refused"]
        assert entry["wave"] is None and host["name"] not in plan["approved_set"]


def test_bad_policy_stops_before_any_host_is_contacted(lab, tmp_path):
    data = policy()
    data["reboot"] = "sometimes"
    data["rollout"]["canaryy"] = {"hosts": ["web01"]}
    data["windows"]["maintenance"][0]["start"] = "25:00"
    data["budget"]["max_failed"] = "150%"
    data["windows"]["timezone"] = "Mars/Olympus"
    proc, plan = make_plan(lab, tmp_path, data, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and plan is None
    for key in ("reboot", "rollout.canaryy", "windows.maintenance[0].start", "budget.max_failed", "windows.timezone"):
        assert re.search(rf"- {re.escape(key)}: ", out), (key, out[-3000:])
    assert "Read the host's asset facts" not in out and "Traceback" not in out
    assert not (tmp_path / "scan").exists()


def test_canary_that_matches_no_host(lab, tmp_path):
    data = policy(rollout={"canary": {"hosts": ["nosuch01"]}, "waves": ["rest"]})
    proc, plan = make_plan(lab, tmp_path, data, check=False)
    assert proc.returncode != 0 and plan is None
    assert "rollout.canary" in proc.stdout + proc.stderr and "nosuch01" in proc.stdout + proc.stderr


def test_a_covering_canary_tests_every_release_role_and_update_first(lab, tmp_path):
    _proc, plan = make_plan(lab, tmp_path, policy(rollout={
        "canary": {"cover": ["release", "role", "updates"]}, "waves": ["rest"], "minutes_per_host": 1,
        "soak_minutes": 1}))
    hosts = {h["host"]: h for h in plan["hosts"]}
    canary = plan["waves"][0]
    assert canary["canary"]
    patched = [h for h in lab.hosts if hosts[h["name"]]["status"] == "rollout"]
    in_canary = [h for h in patched if h["name"] in canary["hosts"]]
    assert {h["release"] for h in in_canary} == {h["release"] for h in patched}
    assert {h["role"] for h in in_canary} == {h["role"] for h in patched}
    for host in patched:
        for package in hosts[host["name"]]["packages"]:
            tester = plan["canary_cover"]["tested_on"][f"update {package['name']}"]
            assert tester in canary["hosts"] and package["name"] in {p["name"] for p in hosts[tester]["packages"]}
    assert plan["canary_cover"]["untested"] == []


def test_after_days_counts_from_the_changelog_date_or_first_seen_and_the_approver_is_recorded(lab, tmp_path, manifest):
    # The lab's changelogs date every apt upgrade; a new dependency has no changelog read, so its
    # first-seen date (the state directory's store, planted here) counts instead.
    now = "2026-01-25T12:00:00+00:00"  # pplab-seclib's upload (2026-01-20) is 5 days old, the rest are younger
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    debian = [h for h in lab.hosts if h["role"] != "rpm"]
    planted = {f"{h['name']}|{name}|all|{v[1]}": "2026-01-10"
               for h in debian for name, v in apt_truth(lab, h)["new_dependency"].items()}
    assert planted
    (state / "first_seen.json").write_text(json.dumps(planted), encoding="utf-8")
    data = policy(approvals={"auto": {"classifications": ["security", "bugfix"],
                                      "severities": ["critical", "high", "medium", "low"], "after_days": 3},
                             "approve": [{"package": "pplab-agent"}], "allow_removals": True,
                             "new_dependencies": "approved"},
                  approvers=["ops", "alice"])
    path = tmp_path / "policy.yml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    common = ["playbooks/plan.yml", "-e", f"patchpilot_policy={path}", "-e", f"patchpilot_state_dir={state}",
              "-e", f"patchpilot_plan_dir={tmp_path / 'plans'}", "-e", f"patchpilot_plan_now={now}"]
    refused = lab.playbook(*common, "-e", "patchpilot_approved_by=mallory", check=False)
    assert refused.returncode != 0 and "mallory is not an approver of this policy: approvers are ops, alice" in refused.stdout
    lab.playbook(*common, "-e", "patchpilot_approved_by=alice")
    plan = json.loads((tmp_path / "plans" / "latest.json").read_text(encoding="utf-8"))
    assert plan["approval"]["by"] == "alice" and plan["approval"]["needed"] and plan["approval"]["at"]
    released = {(p["name"], v["version"]): v["date"][:10] for p in manifest["packages"] for v in p["versions"]}
    for host in debian:
        entry = next(e for e in plan["hosts"] if e["host"] == host["name"])
        approved = {p["name"]: p["approved_by"] for p in entry["packages"]}
        truth = apt_truth(lab, host)
        for name, (_installed, candidate, _rest) in truth["upgrade"].items():
            day = released[(name, candidate)]
            if name == "pplab-agent":
                assert approved[name] == "approved (package pplab-agent)"
            elif name == "pplab-legacy":
                continue  # rejected by the policy
            elif day <= "2026-01-22":
                assert approved[name].endswith(f"released {(25 - int(day[8:]))} days ago)"), (name, approved)
            else:
                excluded = next(x for x in entry["excluded"] if x["name"] == name)
                assert name not in approved and "not auto-approved: released" in excluded["reason"], excluded
        for name in truth["new_dependency"]:
            assert "first seen 15 days ago" in approved[name], (name, approved)
