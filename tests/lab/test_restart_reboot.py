"""The restart and reboot roles on real lab hosts.

Restart: pplab-web does not load pplab-seclib's file, so the test starts a small
service of its own that mmaps /usr/share/pplab-seclib/VERSION; upgrading
pplab-seclib then replaces that file under it, as a library upgrade does.

Reboot: pplab-kernel 1.1-1 writes /run/reboot-required in its postinst; only the
host that installed it may reboot.
"""

from __future__ import annotations

import json
import re

import pytest

from labkit import ROOT, run_molecule

pytestmark = pytest.mark.lab

HOLDER_UNIT = "pp-seclib-user.service"
HOLDER = """\
[Unit]
Description=patchpilot test: keeps pplab-seclib's file mapped
[Service]
ExecStart=/usr/bin/python3 -c "import mmap, time; f = open('/usr/share/pplab-seclib/VERSION', 'rb'); m = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ); time.sleep(10**7)"
"""

ROLE_PLAY = """\
- name: Run the {role} role
  hosts: "{hosts}"
  gather_facts: false
  roles:
    - role: patchpilot.fleet.{role}
  post_tasks:
    - name: Keep the result for the test
      ansible.builtin.copy:
        content: "{{{{ {role}_result | to_json }}}}"
        dest: "{out}/{{{{ inventory_hostname }}}}.json"
        mode: "0644"
      delegate_to: localhost
      become: false
"""


def run_role(lab, tmp_path, role, hosts, extra=None, check=True):
    out = tmp_path / f"{role}-out"
    out.mkdir(exist_ok=True)
    for old in out.glob("*.json"):
        old.unlink()
    playbook = tmp_path / f"{role}.yml"
    playbook.write_text(ROLE_PLAY.format(role=role, hosts=hosts, out=out), encoding="utf-8")
    args = [str(playbook)]
    if extra is not None:
        args += ["-e", json.dumps(extra)]
    proc = lab.playbook(*args, check=check)
    results = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in out.glob("*.json")}
    return proc, results


def main_pid(lab, host, unit=HOLDER_UNIT):
    return lab.ssh(host, f"systemctl show -p MainPID --value {unit}").stdout.strip()


def test_library_update_leads_to_flag_then_restart(lab, tmp_path):
    host = lab.host("db01")
    name = host["name"]
    try:
        lab.ssh(host, f"sudo tee /etc/systemd/system/{HOLDER_UNIT} >/dev/null <<'EOF'\n{HOLDER}EOF\n"
                      f"sudo systemctl daemon-reload && sudo systemctl start {HOLDER_UNIT}")
        pid = main_pid(lab, host)
        assert pid not in ("", "0")
        # Nothing stale before the upgrade.
        before = lab.ansible_json(name, "-m", "patchpilot.fleet.stale_processes")[name]
        assert HOLDER_UNIT not in before["units"], before
        lab.ssh(host, "sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q pplab-seclib", timeout=300)

        found = lab.ansible_json(name, "-m", "patchpilot.fleet.stale_processes")[name]
        assert not found.get("failed"), found
        assert found["changed"] is False
        assert HOLDER_UNIT in found["units"], found
        proc = next(p for p in found["processes"] if p["unit"] == HOLDER_UNIT)
        assert proc["pid"] == int(pid) and proc["comm"] == "python3"
        assert proc["files"] == ["/usr/share/pplab-seclib/VERSION"]

        # flag (the default): nothing restarted, the host is not fixed.
        _, res = run_role(lab, tmp_path, "restart", name)
        r = res[name]
        assert r["mode"] == "flag" and r["restarted"] == [] and HOLDER_UNIT in r["flagged"], r
        assert HOLDER_UNIT in r["still_stale"] and r["fixed"] is False, r
        assert main_pid(lab, host) == pid

        # restart, but the unit is excluded by pattern: flagged, still not fixed.
        _, res = run_role(lab, tmp_path, "restart", name,
                          {"restart_mode": "restart", "restart_exclude": ["pp-seclib-*.service"]})
        r = res[name]
        assert r["restarted"] == [] and r["excluded"] == [HOLDER_UNIT] and r["fixed"] is False, r
        assert main_pid(lab, host) == pid

        # restart: the unit is restarted, nothing old is loaded any more.
        _, res = run_role(lab, tmp_path, "restart", name, {"restart_mode": "restart"})
        r = res[name]
        assert HOLDER_UNIT in r["restarted"] and HOLDER_UNIT not in r["flagged"], r
        assert r["still_stale"] == [] and r["fixed"] is True, r
        new_pid = main_pid(lab, host)
        assert new_pid not in (pid, "", "0")
        assert lab.ssh(host, f"systemctl is-active {HOLDER_UNIT}").stdout.strip() == "active"
        after = lab.ansible_json(name, "-m", "patchpilot.fleet.stale_processes")[name]
        assert after["processes"] == [], after
    finally:
        lab.reset(name)


def boot_time(lab, host):
    return lab.ssh(host, "cut -d' ' -f22 /proc/1/stat").stdout.strip()


def test_only_the_host_that_needs_it_reboots(lab, tmp_path):
    needs, clean = lab.host("web01"), lab.host("app01")
    try:
        lab.ssh(needs, "sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q pplab-kernel", timeout=300)
        assert lab.ssh(needs, "test -e /run/reboot-required", check=False).returncode == 0
        assert lab.ssh(clean, "test -e /run/reboot-required", check=False).returncode != 0
        before = {h["name"]: boot_time(lab, h) for h in (needs, clean)}

        _, res = run_role(lab, tmp_path, "reboot", f"{needs['name']},{clean['name']}",
                          {"reboot_mode": "if_required", "reboot_settle_seconds": 2})
        r_needs, r_clean = res[needs["name"]], res[clean["name"]]
        assert r_needs["required"] is True and r_needs["rebooted"] is True, r_needs
        assert any("pplab-kernel" in reason for reason in r_needs["reasons"]), r_needs
        assert r_needs["system_state"] == "running", r_needs
        assert r_needs["back_at"].endswith("+00:00") and int(r_needs["elapsed"]) > 0, r_needs
        assert r_clean == {"mode": "if_required", "required": False, "reasons": [], "rebooted": False,
                           "system_state": "", "back_at": None, "elapsed": None}, r_clean
        assert boot_time(lab, needs) != before[needs["name"]], "web01 did not reboot"
        assert boot_time(lab, clean) == before[clean["name"]], "app01 rebooted without need"
        assert lab.ssh(needs, "systemctl is-active pplab-web").stdout.strip() == "active"

        # never: required is reported, nothing reboots.
        lab.ssh(needs, "sudo sh -c 'echo pplab-kernel > /run/reboot-required.pkgs; touch /run/reboot-required'")
        mid = boot_time(lab, needs)
        _, res = run_role(lab, tmp_path, "reboot", needs["name"], {"reboot_mode": "never"})
        assert res[needs["name"]]["required"] is True and res[needs["name"]]["rebooted"] is False
        assert boot_time(lab, needs) == mid
    finally:
        lab.reset(needs["name"])


def test_reboot_mode_must_be_chosen(lab, tmp_path):
    host = lab.host("app01")
    before = boot_time(lab, host)
    proc, res = run_role(lab, tmp_path, "reboot", host["name"], check=False)
    assert proc.returncode != 0
    assert "missing required arguments: reboot_mode" in proc.stdout, proc.stdout[-3000:]
    assert res == {}
    assert boot_time(lab, host) == before


@pytest.mark.parametrize("role, steps", [("restart", ("idempotence", "verify")), ("reboot", ("verify",))])
def test_molecule_scenario_of_the_role(lab, role, steps):
    """Each role's own molecule scenario on the lab images (reboot: its no-reboot paths; real reboots above)."""
    code, out = run_molecule(ROOT / "roles" / role)
    assert code == 0, f"molecule test failed ({code}):\n{out[-6000:]}"
    for step in steps:
        assert re.search(rf"^\s*default \S+ {step}: Executed: Successful\s*$", out, re.MULTILINE), out[-6000:]
