"""Retention on real hosts: three cycles with ``keep: {runs: 1}`` leave exactly one snapshot.

Each cycle is what a run does on a host, cut down to the two roles that matter here: a run
directory is started (runrecord.RunDir, as playbooks/patch.yml does), the snapshot role takes
the host's snapshot, the retention role removes the older ones, and the run is finished. Two
hosts in one playbook per cycle:

* package, on a lab host: the kept ``.deb`` in ``/var/cache/patchpilot/runs/<id>``;
* btrfs, live: the loop-device btrfs container of test_snapshot_rollback.

(EBS on moto and LVM by its command plan: tests/integration/test_retention.py.)
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from labkit import ROOT, _ansible
from test_snapshot_rollback import btrfs_container, debian_host, plan_entry  # noqa: F401  # pylint: disable=unused-import

if str(ROOT / ".ansible" / "collections") not in sys.path:  # the checkout's link, as ansible.cfg finds it
    sys.path.insert(0, str(ROOT / ".ansible" / "collections"))
from ansible_collections.patchpilot.fleet.plugins.module_utils import runrecord  # noqa: E402

pytestmark = pytest.mark.lab

START = datetime(2026, 12, 1, 22, 0, tzinfo=timezone.utc)
CYCLE_PLAY = """\
- name: Cycle {number} - snapshot, then retention
  hosts: all
  gather_facts: false
  become: true
  tasks:
    - name: Take the snapshot of run {number}
      ansible.builtin.include_role:
        name: patchpilot.fleet.snapshot
      vars:
        snapshot_run_id: "{{{{ cycles[{index}].run_id }}}}"
        snapshot_provider: "{{{{ hosts_of[inventory_hostname].provider }}}}"
        snapshot_plan_host: "{{{{ hosts_of[inventory_hostname].entry }}}}"
        snapshot_archive_dir: "{{{{ cycles[{index}].archives[inventory_hostname] }}}}"
        snapshot_btrfs_subvolume: "{{{{ hosts_of[inventory_hostname].subvolume }}}}"
    - name: Remove the snapshots older than run {number}
      ansible.builtin.include_role:
        name: patchpilot.fleet.retention
      vars:
        retention_run_id: "{{{{ cycles[{index}].run_id }}}}"
"""


def test_three_cycles_keep_one_package_and_one_btrfs_snapshot(lab, tmp_path, btrfs_container):  # noqa: F811
    container, mnt, inventory = btrfs_container
    host = debian_host(lab)
    entry = plan_entry(lab, host)
    entry["packages"] = [p for p in entry["packages"] if p["name"] == "pplab-seclib"]
    entry["removals"] = []
    assert entry["packages"] and entry["packages"][0]["from_version"], entry
    folders = "sudo find /var/cache/patchpilot/runs -mindepth 1 -maxdepth 1 -printf '%f\\n' 2>/dev/null; true"
    before = set(lab.ssh(host, folders).stdout.split())
    base = tmp_path / "runs"
    # Three runs, one after the other; a run's retention sees the earlier ones finished, as in a
    # real sequence of runs (the snapshot role does not look at the run's state), so the three
    # cycles run in one ansible-playbook, one play each.
    runs, cycles = [], []
    for number in (1, 2, 3):
        run_id = f"20261201T22000{number}Z-l{number}"
        runs.append(run_id)
        run_dir = runrecord.RunDir(str(base), run_id)
        run_dir.start({"format": 2, "run_id": run_id, "settings": {},
                       "waves": [{"wave": 0, "hosts": [host["name"], container]}],
                       "hosts": [{"host": name, "wave": 0, "packages": [], "removals": []}
                                 for name in (host["name"], container)]},
                      "hosts:retention", at=START + timedelta(hours=number))
        if number < 3:
            run_dir.finish("completed", at=START + timedelta(hours=number, minutes=30))
        cycles.append({"run_id": run_id, "archives": {name: run_dir.archive_dir(name)
                                                      for name in (host["name"], container)}})
    playbook = tmp_path / "cycles.yml"
    playbook.write_text("\n".join(CYCLE_PLAY.format(number=n + 1, index=n) for n in range(3)), encoding="utf-8")
    extra = tmp_path / "cycles.json"
    extra.write_text(json.dumps({
        "cycles": cycles, "retention_base_dir": str(base), "retention_keep": {"runs": 1},
        "hosts_of": {host["name"]: {"provider": "package", "entry": entry, "subvolume": ""},
                     container: {"provider": "btrfs", "entry": {}, "subvolume": "/srv/pool/data"}}}),
        encoding="utf-8")
    try:
        _ansible("ansible-playbook", "-i", lab.inventory, "-i", str(inventory), "--limit",
                 f"{host['name']},{container}", str(playbook), "-e", f"@{extra}", check=True, timeout=900)

        # package: the last run's folder (and its kept .deb) is the only one of these runs left
        after = set(lab.ssh(host, folders).stdout.split())
        assert after - before == {runs[2]}, (before, after)
        kept = lab.ssh(host, f"sudo ls /var/cache/patchpilot/runs/{runs[2]}/rollback").stdout.split()
        assert [name for name in kept if name.startswith("pplab-seclib_")], kept
        # btrfs: one read-only snapshot, the last run's
        assert sorted(p.name for p in (mnt / ".patchpilot-snapshots").iterdir()) == [f"data-{runs[2]}"]
        show = subprocess.run(["btrfs", "subvolume", "list", "-o", str(mnt)], capture_output=True, text=True,
                              check=True).stdout
        assert f"data-{runs[0]}" not in show and f"data-{runs[1]}" not in show, show
        # the records: what the last cycle removed, and in the removed run that it is gone
        for name, provider in ((host["name"], "package"), (container, "btrfs")):
            last = json.loads(Path(runrecord.RunDir.load(str(base), runs[2]).archive_dir(name), "retention.json")
                              .read_text(encoding="utf-8"))
            assert [(s["run_id"], s["provider"]) for s in last["removed"]] == [(runs[1], provider)], last
            gone = runrecord.RunDir.load(str(base), runs[0]).host(name)["history"][-1]["detail"]["retention"]
            assert gone["snapshot_removed"] and gone["by_run"] == runs[1]
    finally:
        lab.ssh(host, "sudo rm -rf " + " ".join(f"/var/cache/patchpilot/runs/{r}" for r in runs), check=False)
