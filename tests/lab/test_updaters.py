"""Automatic updaters on a real lab host: preflight flags them, the updaters role pauses them and puts back exactly what it changed.

The lab image has apt-daily-upgrade.timer enabled and waiting but no unattended-upgrades; the
test makes the host look like one with it installed and on (its unit file and
``APT::Periodic::Unattended-Upgrade "1"``), which is all the check reads. The host is reset
afterwards.
"""

from __future__ import annotations

import json

import pytest

from test_preflight import run_preflight
from test_stage_patch import recap

pytestmark = pytest.mark.lab

PLAYBOOK = """\
- name: Pause or resume the automatic updaters of one lab host
  hosts: "{host}"
  gather_facts: false
  become: true
  tasks:
    - name: Updaters
      ansible.builtin.include_role:
        name: patchpilot.fleet.updaters
        tasks_from: "{{{{ action }}}}"
      vars:
        updaters_archive_dir: "{archive}"
"""
UNITS = "apt-daily-upgrade.timer apt-daily-upgrade.service unattended-upgrades.service"


def units(lab, host) -> dict:
    out = lab.ssh(host, f"systemctl show -p Id,LoadState,UnitFileState,ActiveState -- {UNITS}").stdout
    found = {}
    for block in out.strip().split("\n\n"):
        props = dict(line.split("=", 1) for line in block.splitlines())
        found[props["Id"]] = (props["UnitFileState"], props["ActiveState"])
    return found


def test_preflight_flags_unattended_upgrades_and_pause_resume_restore_the_units(lab, tmp_path):
    host = [h for h in lab.hosts if h.get("role") != "rpm"][-1]
    archive = tmp_path / "archive" / host["name"]
    archive.mkdir(parents=True)
    playbook = tmp_path / "updaters.yml"
    playbook.write_text(PLAYBOOK.format(host=host["name"], archive=archive), encoding="utf-8")

    def run(action: str):
        proc = lab.playbook(str(playbook), "-e", json.dumps({"action": action}), check=False, timeout=300)
        assert proc.returncode == 0, proc.stdout[-5000:]
        return proc

    entry = {"host": host["name"], "packages": [], "removals": [], "emergency": False}
    variables = {"preflight_plan_host": entry, "preflight_backup_required": False}
    try:
        # The image's timer is on; unattended-upgrades is not there (so nothing would be flagged:
        # test_updaters_find.py), it is made to look installed and on.
        assert units(lab, host)["apt-daily-upgrade.timer"] == ("enabled", "active")

        lab.ssh(host, "printf '[Service]\\nType=oneshot\\nExecStart=/bin/true\\n' "
                      "| sudo tee /etc/systemd/system/unattended-upgrades.service && "
                      "printf 'APT::Periodic::Update-Package-Lists \"1\";\\nAPT::Periodic::Unattended-Upgrade \"1\";\\n' "
                      "| sudo tee /etc/apt/apt.conf.d/20auto-upgrades && sudo systemctl daemon-reload")
        before = units(lab, host)
        _, result, _ = run_preflight(lab, host, tmp_path, {**variables, "preflight_automatic_updaters": "pause"})
        updaters = result["updaters"]
        assert updaters["ok"] is True and updaters["flagged"] is True, updaters
        assert [u["name"] for u in updaters["updaters"]] == ["unattended-upgrades"]
        assert updaters["units"] == ["apt-daily-upgrade.timer", "apt-daily-upgrade.service"]
        assert "updaters" not in result["failed_checks"]
        assert updaters["message"].endswith("paused for the run (automatic_updaters: pause)"), updaters
        assert units(lab, host) == before, "preflight only reads"

        proc = run("pause")
        paused = units(lab, host)
        assert paused["apt-daily-upgrade.timer"] == ("masked-runtime", "inactive"), paused
        assert paused["apt-daily-upgrade.service"][0] == "masked-runtime", paused
        assert paused["unattended-upgrades.service"] == before["unattended-upgrades.service"], "never stopped"
        state = json.loads((archive / "updaters.json").read_text(encoding="utf-8"))
        assert state == {"resumed": False, "paused": [
            {"unit": "apt-daily-upgrade.timer", "file": "enabled", "active": "active", "masked": True, "stopped": True},
            {"unit": "apt-daily-upgrade.service", "file": "static", "active": before["apt-daily-upgrade.service"][1],
             "masked": True, "stopped": False}]}, state
        # A second pause (a rerun) changes nothing and keeps the state from before the first.
        proc = run("pause")
        assert recap(proc, host)["changed"] == 0, proc.stdout[-3000:]
        assert json.loads((archive / "updaters.json").read_text(encoding="utf-8")) == state

        proc = run("resume")
        # unmask, start, and the state file marked resumed
        assert recap(proc, host)["changed"] == 3, proc.stdout[-3000:]
        assert units(lab, host) == before
        assert json.loads((archive / "updaters.json").read_text(encoding="utf-8")) == {**state, "resumed": True}
        proc = run("resume")
        assert recap(proc, host)["changed"] == 0, proc.stdout[-3000:]
    finally:
        lab.reset(host["name"])
