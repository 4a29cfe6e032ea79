"""playbooks/patch.yml on the lab's RPM host (rpm01: Debian 12 with dnf and rpm, pprpm-* packages
from a local rpm-md repository with updateinfo advisories; the inventory sets patchpilot_backend=dnf).

Every test runs the real playbook with ``--limit rpm01`` and reads the host back with ``rpm -q``:
the plan's versions after a good run, exactly the old ones after a run whose verification failed
and was rolled back (``dnf history`` undone). The preflight role's dnf checks are run on their own
too: its simulated transaction (dnf's resolver in check mode) and the rpm lock it waits for.
"""

from __future__ import annotations

import re
import subprocess

import pytest

from test_preflight import run_preflight
from test_rollout import Rollout, assert_services_run, explain, plan_of, policy

pytestmark = pytest.mark.lab

HOST = "rpm01"
RPM_QF = "%{NAME}\\t%|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}\\n"


def rpm_policy(**changes) -> dict:
    """The rollout test policy for rpm01 alone: no windows, rpm01 the canary, soak 0, budget 0.

    enhancement is auto-approved too, so the plan holds pprpm-kernel (its advisory suggests a
    reboot) next to the security and bug fix updates; pprpm-extra (no advisory) stays out.
    """
    base = policy(approvals={"auto": {"classifications": ["security", "bugfix", "enhancement"],
                                      "severities": ["critical", "high", "medium", "low"]},
                             "reject": [], "allow_removals": True},
                  rollout={"canary": {"hosts": [HOST]}, "soak_minutes": 0, "waves": [1, "rest"],
                           "anti_affinity": [], "minutes_per_host": 5},
                  budget={"max_failed": 0})
    base.update(changes)
    return base


def rpmdb(lab) -> dict:
    """{name: [epoch:]version-release} of every package in rpm01's rpm database, as a plan writes it."""
    out = lab.ssh(lab.host(HOST), f"rpm -qa --qf '{RPM_QF}'").stdout
    return dict(line.split("\t") for line in out.splitlines() if line)


def dnf_history_ids(lab) -> list[int]:
    out = lab.ssh(lab.host(HOST), "sudo dnf -q -C history list 2>/dev/null").stdout
    return [int(m.group(1)) for m in re.finditer(r"^\s*(\d+)\s*\|", out, re.M)]


@pytest.fixture
def rollout(lab, tmp_path):
    lab.reset(HOST)
    yield Rollout(lab, tmp_path)
    lab.reset(HOST)


def test_the_rollout_patches_the_rpm_host_to_exactly_the_plan(lab, rollout):
    before = rpmdb(lab)
    assert before["pprpm-seclib"] == "1.0-1" and before["pprpm-tools-libs"] == "1:1.0-1", before
    assert dnf_history_ids(lab) == [], "the lab's RPM host starts with an empty dnf history"

    proc = rollout.run(rpm_policy(), limit=HOST)
    assert proc.returncode == 0, explain(proc)
    run_dir = rollout.last()
    summary = rollout.read(run_dir / "summary.json")
    assert summary["state"] == "completed", summary
    assert summary["phases"] == {HOST: "done"}

    entry = plan_of(run_dir)[HOST]
    planned = {p["name"]: p["version"] for p in entry["packages"]}
    assert set(planned) == {"pprpm-seclib", "pprpm-tools", "pprpm-tools-libs", "pprpm-kernel"}, planned
    after = rpmdb(lab)
    assert {name: after.get(name) for name in planned} == planned
    assert planned["pprpm-tools-libs"] == "1:1.1-1"  # the epoch survived planning, staging and patching
    # nothing outside the plan changed (pprpm-extra's update has no advisory: not approved)
    assert {n: v for n, v in after.items() if n not in planned} == {n: v for n, v in before.items() if n not in planned}
    assert after["pprpm-extra"] == "1.0-1"

    # preflight checked the host as a dnf host, and dnf's resolver agreed with the plan
    history = rollout.host_record(run_dir, HOST)["history"]
    preflight = next(h["detail"] for h in history if h["phase"] == "preflight")
    assert preflight["passed"] is True and preflight["package_manager_used"] == "dnf", preflight
    assert preflight["package_manager"]["tool"] == "dnf" and preflight["package_manager"]["ok"] is True
    assert sorted(preflight["transaction"]["installs"]) == sorted(planned), preflight["transaction"]
    assert preflight["transaction"]["removals"] == [] and preflight["transaction"]["ok"] is True
    assert [h["phase"] for h in history][-2:] == ["verified", "done"]

    # the snapshot is the dnf history before patching; the patch is one dnf transaction after it
    snapshot = rollout.read(run_dir / "archive" / HOST / "snapshot.json")
    assert snapshot["package_manager"] == "dnf" and snapshot["provider"] == "package"
    assert snapshot["package"]["dnf_transaction_id"] == 0
    assert snapshot["packages"]["pprpm-seclib"] == "0:1.0-1"
    assert dnf_history_ids(lab) == [1]
    assert_services_run(lab, HOST)


def test_a_dnf_update_that_fails_verification_is_rolled_back(lab, rollout):
    before = rpmdb(lab)
    # a real post-patch regression: this check holds on the old pprpm-seclib and fails on the new one
    marker = {"name": "pprpm-seclib still at 1.0-1",
              "command": ["grep", "-qx", "pprpm-seclib 1.0-1", "/usr/share/pprpm/pprpm-seclib/VERSION"]}
    rules = rpm_policy(health_checks={"commands": [marker]})

    proc = rollout.run(rules, limit=HOST)
    assert proc.returncode != 0, explain(proc)
    run_dir = rollout.last()
    summary = rollout.read(run_dir / "summary.json")
    assert summary["phases"] == {HOST: "rolled_back"}, summary
    assert summary["state"] != "completed"

    history = rollout.host_record(run_dir, HOST)["history"]
    phases = [h["phase"] for h in history]
    assert "patched" in phases and phases[-1] == "rolled_back", phases
    patched = next(h["detail"] for h in history if h["phase"] == "patched")
    assert patched["installed"]["pprpm-seclib"] == "1.0-2", patched  # the update really went in
    failed = next(h["detail"] for h in history if h["phase"] == "failed")
    assert failed["changed"] is True, failed

    rollback = rollout.read(run_dir / "archive" / HOST / "rollback.json")
    assert rollback["ok"] is True and rollback["provider"] == "package", rollback
    assert rollback["compared"] is True and rollback["mismatches"] == [], rollback
    assert any(step["step"] == "dnf history undo 1" and step["rc"] == 0 for step in rollback["tried"]), rollback["tried"]

    # every pprpm package is back at exactly its old version, nothing added or lost
    assert rpmdb(lab) == before
    assert lab.ssh(lab.host(HOST), "cat /usr/share/pprpm/pprpm-seclib/VERSION").stdout.strip() == "pprpm-seclib 1.0-1"
    assert dnf_history_ids(lab) == [2, 1]  # the patch, then its undo
    assert_services_run(lab, HOST)


PREFLIGHT_VARS = {"preflight_backup_required": False, "preflight_lock_timeout": 3}


def test_preflight_refuses_a_plan_dnf_cannot_resolve(lab, tmp_path):
    host = lab.host(HOST)
    before = rpmdb(lab)
    entry = {"host": HOST, "removals": [], "emergency": False,
             "packages": [{"name": "pprpm-seclib", "version": "1.0-2", "effect": "upgrade", "arch": "noarch"},
                          {"name": "pprpm-tools", "version": "9.9-1", "effect": "upgrade"}]}
    proc, result, _ = run_preflight(lab, host, tmp_path, {**PREFLIGHT_VARS, "preflight_plan_host": entry})
    assert proc.returncode != 0
    assert result["failed_checks"] == ["transaction"], result
    assert result["package_manager_used"] == "dnf"
    assert "pprpm-tools-9.9-1" in result["transaction"]["message"], result["transaction"]
    assert rpmdb(lab) == before, "preflight changed the host"


def hold(lab, code: str) -> subprocess.Popen:
    """Run python code as root on rpm01 that takes a lock, says so, and holds it until its stdin closes (at most 300 s)."""
    script = f"{code};print('locked',flush=True);select.select([sys.stdin],[],[],300)"
    proc = subprocess.Popen(lab.ssh_argv(lab.host(HOST), f'sudo python3 -c "import fcntl,os,select,sys;{script}"'),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def release(proc: subprocess.Popen) -> None:
    proc.stdin.close()
    proc.wait(timeout=60)


def test_preflight_waits_for_the_rpm_lock_and_names_its_holder(lab, tmp_path):
    host = lab.host(HOST)
    # rpm's own lock, taken as rpm takes it (fcntl) during a transaction
    holder = hold(lab, "f=open('/var/lib/rpm/.rpm.lock','r+');fcntl.lockf(f,fcntl.LOCK_EX)")
    try:
        proc, result, _ = run_preflight(lab, host, tmp_path, PREFLIGHT_VARS)
    finally:
        release(holder)
    assert proc.returncode != 0
    assert result["failed_checks"] == ["locks"], result
    assert [h["path"] for h in result["locks"]["held"]] == ["/var/lib/rpm/.rpm.lock"], result["locks"]
    assert "python3" in result["locks"]["held"][0]["command"]
    assert re.search(r"locks: still held after 3 s .*/var/lib/rpm/.rpm.lock", proc.stdout), proc.stdout[-4000:]

    # dnf's lock: the pid of a live dnf in /var/lib/dnf/rpmdb_lock.pid
    holder = hold(lab, "p='/var/lib/dnf/rpmdb_lock.pid';open(p,'w').write(str(os.getpid()));"
                       "__import__('atexit').register(os.unlink,p)")
    try:
        proc, result, _ = run_preflight(lab, host, tmp_path, PREFLIGHT_VARS)
    finally:
        release(holder)
    assert proc.returncode != 0 and result["failed_checks"] == ["locks"], result
    assert [h["path"] for h in result["locks"]["held"]] == ["/var/lib/dnf/rpmdb_lock.pid"], result["locks"]
    assert lab.ssh(host, "test ! -e /var/lib/dnf/rpmdb_lock.pid", check=False).returncode == 0

    # with both free, the same check passes at once
    proc, result, _ = run_preflight(lab, host, tmp_path, PREFLIGHT_VARS)
    assert proc.returncode == 0 and result["locks"]["ok"] is True, proc.stdout[-4000:]
