"""The main job: every host's OS and its pending updates, as apt-get -s dist-upgrade sees them."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.lab

INST = re.compile(r"^Inst (\S+) \[(\S+)\] \((\S+) ")


def simulated_upgrades(lab, host) -> dict[str, tuple[str, str]]:
    out = lab.ssh(host, "LANG=C apt-get -s dist-upgrade").stdout
    return {m.group(1): (m.group(2), m.group(3)) for m in map(INST.match, out.splitlines()) if m}


def host_report(out: str, name: str) -> str:
    """The host's own report: the debug message under ``ok: [NAME] =>`` that starts with ``NAME: ``."""
    blocks = re.findall(rf"^ok: \[{re.escape(name)}\] =>[^\n]*\n((?:[ \t][^\n]*\n|\n)*)", out, re.MULTILINE)
    mine = [block for block in blocks if re.search(rf"^\s+{re.escape(name)}: ", block, re.MULTILINE)]
    assert len(mine) == 1, f"{name}: {len(mine)} reports of its own in:\n{out[-6000:]}"
    return mine[0]


def test_pending_playbook_reports_what_apt_sees(lab):
    proc = lab.playbook("playbooks/pending.yml")
    out = proc.stdout
    assert "failed=0" in out and "unreachable=0" in out
    for host in lab.hosts:
        upgrades = simulated_upgrades(lab, host)
        assert upgrades, f"{host['name']} has no pending upgrades"
        report = host_report(out, host["name"])
        codename = host["codename"]
        assert re.search(rf"^\s+{host['name']}: Debian {host['release']}\S* \({codename}\)", report, re.MULTILINE), report
        assert re.search(rf"^\s+{len(upgrades)} pending updates, ", report, re.MULTILINE), report
        listed = re.findall(r"^\s+(\S+) (\S+) -> (\S+) \(", report, re.MULTILINE)
        assert sorted(listed) == sorted((name, installed, candidate)
                                        for name, (installed, candidate) in upgrades.items()), report
        assert "pplab-seclib" in upgrades
    # The fleet summary lists every host with its pending and security counts.
    summary = out[out.index("HOST "):]
    for host in lab.hosts:
        row = next(line for line in summary.splitlines() if line.strip().startswith(host["name"] + " "))
        assert row.split()[-2:] == [str(len(simulated_upgrades(lab, host))), "1"], row


def test_faults_component_only_when_enabled(lab, manifest):
    """Tests that need the faults enable them on a host; a reset takes them away again."""
    host = lab.hosts[-1]
    faults = {p["name"]: p["candidate_version"] for p in manifest["packages"]
              if p.get("candidate_component") == "faults"}
    assert sorted(faults) == ["pplab-fault-crash", "pplab-fault-http", "pplab-fault-noisy", "pplab-fault-port",
                              "pplab-fault-postinst"]
    assert not set(faults) & set(simulated_upgrades(lab, host))
    lab.ssh(host, "sudo sed -i 's/ lab main$/ lab main faults/' /etc/apt/sources.list.d/patchpilot-lab.list"
                  " && sudo apt-get update -q")
    try:
        pending = simulated_upgrades(lab, host)
        assert {n: pending[n][1] for n in faults if n in pending} == faults
    finally:
        lab.reset(host["name"])
    assert not set(faults) & set(simulated_upgrades(lab, host))
