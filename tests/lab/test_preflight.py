"""The preflight role on real lab hosts: it passes a host that matches its plan and refuses one that does not.

Plan entries are built from the host's own ``apt-get -s dist-upgrade``, parsed
here with the test's own regular expressions. The role only reads, so hosts
are not reset; the backup marker a test writes is removed again.
"""

from __future__ import annotations

import json
import re
import subprocess
import time

import pytest

from labkit import ROOT, run_molecule

pytestmark = pytest.mark.lab

INST = re.compile(r"^Inst (\S+) (?:\[(\S+)\] )?\((\S+) ")
REMV = re.compile(r"^Remv (\S+) \[(\S+)\]")
PLAYBOOK = """\
- name: Preflight one lab host
  hosts: "{host}"
  gather_facts: false
  become: true
  tasks:
    - name: Run the role, keep its result whatever happens
      block:
        - name: Preflight
          ansible.builtin.include_role:
            name: patchpilot.fleet.preflight
      always:
        - name: Save the result on the controller
          ansible.builtin.copy:
            content: "{{{{ preflight_result | default({{}}) | to_json }}}}"
            dest: "{result}"
            mode: "0600"
          delegate_to: localhost
          become: false
          check_mode: false
          changed_when: false
"""


def debian_host(lab) -> dict:
    return [h for h in lab.hosts if h.get("role") != "rpm"][-1]


def plan_entry(lab, host) -> dict:
    """The host's plan entry for everything apt-get -s dist-upgrade would do, removals allowed."""
    out = lab.ssh(host, "LANG=C apt-get -s dist-upgrade").stdout
    packages, removals = [], []
    for line in out.splitlines():
        m = INST.match(line)
        if m:
            packages.append({"name": m.group(1).split(":")[0], "version": m.group(3),
                             "effect": "upgrade" if m.group(2) else "new_dependency"})
        m = REMV.match(line)
        if m:
            removals.append({"name": m.group(1).split(":")[0], "arch": None, "from_version": m.group(2)})
    assert packages, f"{host['name']}: nothing pending, the lab should have updates:\n{out}"
    return {"host": host["name"], "packages": packages, "removals": removals, "emergency": False,
            "window": None}


def run_preflight(lab, host, tmp_path, variables: dict, *args: str) -> tuple[subprocess.CompletedProcess, dict, float]:
    result = tmp_path / "result.json"
    playbook = tmp_path / "preflight.yml"
    playbook.write_text(PLAYBOOK.format(host=host["name"], result=result), encoding="utf-8")
    extra = tmp_path / "vars.json"
    extra.write_text(json.dumps(variables), encoding="utf-8")
    start = time.monotonic()
    result.unlink(missing_ok=True)
    proc = lab.playbook(str(playbook), "-e", f"@{extra}", *args, check=False, timeout=600)
    elapsed = time.monotonic() - start
    data = json.loads(result.read_text(encoding="utf-8")) if result.exists() else {}
    return proc, data, elapsed


def hold_lock(lab, host, path: str, seconds: int) -> subprocess.Popen:
    """Hold an apt lock on the host as apt does (fcntl), for a bounded time."""
    holder = (f"sudo python3 -c \"import fcntl,time;f=open('{path}','w');"
              f"fcntl.lockf(f,fcntl.LOCK_EX);print('locked',flush=True);time.sleep({seconds})\"")
    proc = subprocess.Popen(lab.ssh_argv(host, holder), stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_preflight_passes_a_host_matching_its_plan(lab, tmp_path):
    host = debian_host(lab)
    entry = plan_entry(lab, host)
    assert "pplab-monitor-compat" in {r["name"] for r in entry["removals"]}
    variables = {"preflight_plan_host": entry, "preflight_backup_command": "true",
                 "preflight_window_start": "2000-01-01T00:00:00Z", "preflight_window_end": "2999-01-01T00:00:00+01:00"}
    # In check mode the probes still run (they only read) and give the same verdict.
    proc, checked, _ = run_preflight(lab, host, tmp_path, variables, "--check")
    assert proc.returncode == 0 and "changed=0" in proc.stdout, proc.stdout[-5000:]
    proc, result, _ = run_preflight(lab, host, tmp_path, variables)
    assert proc.returncode == 0 and "changed=0" in proc.stdout, proc.stdout[-5000:]
    assert checked["transaction"] == result["transaction"] and checked["passed"] is True
    assert result["passed"] is True and result["failed_checks"] == []
    assert set(result) >= {"os", "locks", "package_manager", "free_space", "reboot", "backup", "transaction",
                           "window", "reboot_pending"}
    assert result["transaction"]["unplanned_removals"] == [] and result["transaction"]["unplanned_installs"] == []
    assert "pplab-monitor-compat" in result["transaction"]["removals"]
    assert sorted(result["transaction"]["installs"]) == sorted(p["name"] for p in entry["packages"])
    assert result["backup"]["method"] == "command" and result["window"]["ok"] is True
    assert result["os"]["major_version"] == host["release"]
    assert result["reboot_pending"] is False


def test_the_simulated_transaction_check_refuses_an_unplanned_removal(lab, tmp_path):
    host = debian_host(lab)
    entry = {"host": host["name"], "packages": [{"name": "pplab-monitor", "version": "1.1-1", "effect": "upgrade"}],
             "removals": [], "emergency": False}
    proc, result, _ = run_preflight(lab, host, tmp_path, {"preflight_plan_host": entry,
                                                          "preflight_backup_required": False})
    assert proc.returncode != 0
    assert result["failed_checks"] == ["transaction"], result
    assert result["transaction"]["unplanned_removals"] == ["pplab-monitor-compat"]
    assert re.search(rf"preflight failed on {host['name']}: transaction: .*would remove unplanned: "
                     r"\[pplab-monitor-compat\]", proc.stdout), proc.stdout[-4000:]


def test_a_held_lock_is_waited_out(lab, tmp_path):
    host = debian_host(lab)
    holder = hold_lock(lab, host, "/var/lib/apt/lists/lock", 8)
    try:
        proc, result, _ = run_preflight(lab, host, tmp_path, {"preflight_lock_timeout": 60,
                                                              "preflight_backup_required": False})
    finally:
        holder.wait(timeout=60)
    assert proc.returncode == 0, proc.stdout[-5000:]
    assert result["locks"]["ok"] is True and result["locks"]["waited_seconds"] >= 2, result["locks"]
    assert "free after" in result["locks"]["message"]


def test_a_lock_held_past_the_timeout_fails_naming_it(lab, tmp_path):
    host = debian_host(lab)
    holder = hold_lock(lab, host, "/var/lib/apt/lists/lock", 15)
    try:
        proc, result, _ = run_preflight(lab, host, tmp_path, {"preflight_lock_timeout": 3,
                                                              "preflight_backup_required": False})
    finally:
        holder.wait(timeout=60)
    assert proc.returncode != 0
    assert result["failed_checks"] == ["locks"], result
    assert [h["path"] for h in result["locks"]["held"]] == ["/var/lib/apt/lists/lock"]
    assert "python3" in result["locks"]["held"][0]["command"]
    assert re.search(r"locks: still held after 3 s .*/var/lib/apt/lists/lock", proc.stdout), proc.stdout[-4000:]


def test_a_backup_marker_too_old_fails(lab, tmp_path):
    host = debian_host(lab)
    marker = "/var/tmp/pp-preflight-backup-ok"
    lab.ssh(host, f"sudo touch -d '3 days ago' {marker}")
    try:
        proc, result, _ = run_preflight(lab, host, tmp_path, {"preflight_backup_marker": marker,
                                                              "preflight_backup_max_age_hours": 24})
        assert proc.returncode != 0
        assert result["failed_checks"] == ["backup"], result
        assert 71 <= result["backup"]["age_hours"] <= 73
        assert re.search(rf"preflight failed on {host['name']}: backup: marker {marker} is [0-9.]+ h old, limit 24 h",
                         proc.stdout), proc.stdout[-4000:]
        # A fresh marker passes.
        lab.ssh(host, f"sudo touch {marker}")
        proc, result, _ = run_preflight(lab, host, tmp_path, {"preflight_backup_marker": marker})
        assert proc.returncode == 0 and result["backup"]["ok"] is True, proc.stdout[-4000:]
    finally:
        lab.ssh(host, f"sudo rm -f {marker}")


def test_without_backup_configuration_the_message_says_how_to_opt_out(lab, tmp_path):
    host = debian_host(lab)
    proc, result, _ = run_preflight(lab, host, tmp_path, {})
    assert proc.returncode != 0 and result["failed_checks"] == ["backup"], result
    assert "preflight_backup_required: false" in result["backup"]["message"]


def test_molecule_scenario_of_the_role(lab):
    """roles/preflight/molecule/default: converge with a matching plan entry, idempotence, verify."""
    code, out = run_molecule(ROOT / "roles" / "preflight")
    assert code == 0, f"molecule test failed ({code}):\n{out[-6000:]}"
    for step in ("idempotence", "verify"):
        assert re.search(rf"^\s*default \S+ {step}: Executed: Successful\s*$", out, re.MULTILINE), out[-6000:]
    flat = " ".join(out.split())  # the yaml callback wraps long messages
    for platform in ("debian12", "debian13"):
        assert f"pp-molecule-preflight-{platform}: preflight passed every check" in flat, out[-6000:]
        assert f"pp-molecule-preflight-{platform}: pplab-monitor and pplab-monitor-compat still at 1.0-1" in flat, \
            out[-6000:]


def test_outside_the_plan_window_fails_unless_emergency(lab, tmp_path):
    host = debian_host(lab)
    entry = {"host": host["name"], "packages": [], "removals": [], "emergency": False,
             "window": {"start": "2001-01-01T22:00:00+01:00", "end": "2001-01-02T04:00:00+01:00"}}
    proc, result, _ = run_preflight(lab, host, tmp_path, {"preflight_plan_host": entry,
                                                          "preflight_backup_required": False})
    assert proc.returncode != 0 and result["failed_checks"] == ["window"], result
    assert "outside the maintenance window 2001-01-01T22:00:00+01:00" in result["window"]["message"]
    proc, result, _ = run_preflight(lab, host, tmp_path, {"preflight_plan_host": {**entry, "emergency": True},
                                                          "preflight_backup_required": False})
    assert proc.returncode == 0 and result["window"] == {"ok": True, "emergency": True,
                                                         "message": "window: bypassed, emergency change"}
