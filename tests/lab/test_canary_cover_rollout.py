"""playbooks/patch.yml on the lab with a covering canary (issue 16): the update only the Debian 13
host receives is tried on it first, and its failure stops the run there.

One rollout, read by every test of this module. The Debian 13 host alone has the fault package
``pplab-fault-crash`` (the others lose it before the run) and every Debian host is given the
lab repository's ``faults`` component, pinned to that package: the broken update is offered to
the fleet, and only the Debian 13 host has it to install. A hand-made canary (web01, the Debian
11 host of test_rollout.py) would never have tried it; ``rollout.canary.cover`` must put the
Debian 13 host in wave 0, and nothing else that the cover does not need.

The helpers are test_rollout.py's.
"""

from __future__ import annotations

import itertools

import pytest

from test_rollout import (DEBIAN, Rollout, dpkg, dpkg_log_lines, explain, give_faults_component, plan_of, policy,
                          service_states)

pytestmark = pytest.mark.lab

FAULT = "pplab-fault-crash"  # 1.1-1: its service fails at start (a new failed unit)
# an attribute all the lab's hosts share (one combination: any host covers it) and the updates
COVER = ["location", "updates"]
# the phases of a host whose wave never started
PHASES_BEFORE_A_WAVE = {"pending", "preflight", "staged"}


@pytest.fixture(scope="module")
def trixie(lab) -> str:
    """The Debian 13 host of the lab's Debian hosts."""
    found = [h["name"] for h in lab.hosts if h["name"] in DEBIAN and h["release"] == "13"]
    assert len(found) == 1, lab.hosts
    return found[0]


@pytest.fixture(scope="module")
def cover_run(lab, trixie, tmp_path_factory):
    lab.reset(*DEBIAN)
    others = [name for name in DEBIAN if name != trixie]
    for name in others:
        lab.ssh(lab.host(name), f"sudo DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq {FAULT} >/dev/null")
    offered = {name: give_faults_component(lab, name, FAULT) for name in DEBIAN}
    assert offered == {name: [FAULT] if name == trixie else [] for name in DEBIAN}, offered
    before = {name: dpkg(lab, name) for name in DEBIAN}
    assert [name for name in DEBIAN if FAULT in before[name]] == [trixie], "the fault package is not on the Debian 13 host alone"
    services = {name: service_states(lab, name) for name in DEBIAN}
    logs = {name: dpkg_log_lines(lab, name) for name in DEBIAN}
    rollout = Rollout(lab, tmp_path_factory.mktemp("canary-cover"))
    # no reboot (the lab kernel update asks for one): the verification must catch the broken unit
    rules = policy(rollout={"canary": {"cover": COVER}}, reboot="never")
    proc = rollout.run(rules)
    yield {"proc": proc, "run_dir": rollout.last(), "rollout": rollout, "before": before, "services": services,
           "logs": logs, "others": others}
    lab.reset(*DEBIAN)


def test_the_covering_canary_is_the_debian_13_host_alone_and_tests_its_fault_update(cover_run, trixie):
    run_dir = cover_run["run_dir"]
    plan = Rollout.read(run_dir / "plan.json")
    entries = plan_of(run_dir)
    updates = {name: {p["name"] for p in entries[name]["packages"]} for name in DEBIAN}
    assert FAULT in updates[trixie] and all(FAULT not in updates[name] for name in cover_run["others"]), updates
    # the smallest set of hosts that has every planned update (brute force over the three) is the Debian 13 host
    everything = set().union(*updates.values())
    smallest = next(set(hosts) for size in range(1, len(DEBIAN) + 1) for hosts in itertools.combinations(DEBIAN, size)
                    if set().union(*(updates[h] for h in hosts)) == everything)
    assert smallest == {trixie}, updates
    canary = plan["waves"][0]
    assert canary["canary"] and canary["hosts"] == [trixie], plan["waves"]
    cover = plan["canary_cover"]
    assert cover["dimensions"] == COVER and cover["hosts"] == [trixie] and cover["untested"] == [], cover
    assert cover["tested_on"][f"update {FAULT}"] == trixie, cover["tested_on"]
    assert set(cover["tested_on"]) == {f"update {u}" for u in everything} | {"location dc-east"}, cover["tested_on"]
    assert entries[trixie]["wave"] == 0 and all(entries[name]["wave"] > 0 for name in cover_run["others"])


def test_the_fault_stops_the_run_at_the_canary_which_is_rolled_back(lab, cover_run, trixie):
    proc, run_dir, rollout = cover_run["proc"], cover_run["run_dir"], cover_run["rollout"]
    assert proc.returncode != 0, explain(proc)
    summary = rollout.read(run_dir / "summary.json")
    assert summary["phases"][trixie] == "rolled_back", summary
    assert f"the canary failed ({trixie})" in summary["halted"]["reason"], summary["halted"]
    assert summary["rollbacks"][trixie] == {"versions_restored": True, "healthy": True}, summary["rollbacks"]
    assert "HALTED" in proc.stdout
    history = rollout.host_record(run_dir, trixie)["history"]
    failure = next(h["detail"] for h in history if h["phase"] == "failed")
    assert failure["message"].startswith(f"verify failed on {trixie}: "), failure
    assert "failed_units" in failure["failed_checks"], failure
    assert f"failed_units: newly failed: {FAULT}.service" in failure["message"], failure
    # back on its exact versions, its units as before (the fault's own service runs again)
    assert dpkg(lab, trixie) == cover_run["before"][trixie]
    assert service_states(lab, trixie) == cover_run["services"][trixie]


def test_no_host_outside_the_canary_changed(lab, cover_run):
    run_dir, rollout = cover_run["run_dir"], cover_run["rollout"]
    summary = rollout.read(run_dir / "summary.json")
    for name in cover_run["others"]:
        record = rollout.host_record(run_dir, name)
        assert record["phase"] in PHASES_BEFORE_A_WAVE and summary["phases"][name] == record["phase"], (name, record)
        assert {h["phase"] for h in record["history"]} <= PHASES_BEFORE_A_WAVE, (name, record["history"])
        assert dpkg(lab, name) == cover_run["before"][name], name
        assert dpkg_log_lines(lab, name) == cover_run["logs"][name], f"dpkg ran on {name}"
        assert service_states(lab, name) == cover_run["services"][name], name
