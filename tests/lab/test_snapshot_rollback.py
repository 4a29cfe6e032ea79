"""The snapshot and rollback roles on real lab hosts.

* package: snapshot, a real upgrade of the plan (a new dependency pulled in, a
  package removed), rollback: ``dpkg-query -W`` is exactly as before;
* a failed postinst (pplab-fault-postinst from the faults component) leaves a
  half-configured package; the rollback still brings the host back;
* btrfs, live: a loop-device btrfs file system on the controller, bind-mounted
  into a container made from the lab's host image; data changed and deleted
  after the snapshot is back after the rollback;
* provider none must be chosen explicitly, and its rollback fails loudly;
* the roles' molecule scenarios.

Hosts the tests change are reset (recreated from their image) afterwards.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

from labkit import ROOT, run_molecule

pytestmark = pytest.mark.lab

INST = re.compile(r"^Inst (\S+) (?:\[(\S+)\] )?\((\S+) ")
REMV = re.compile(r"^Remv (\S+) \[(\S+)\]")
PLAYBOOK = """\
- name: Run the {role} role on one host
  hosts: "{host}"
  gather_facts: false
  become: true
  tasks:
    - name: Run the role, keep its result whatever happens
      block:
        - name: The role
          ansible.builtin.include_role:
            name: patchpilot.fleet.{role}
      always:
        - name: Save the result on the controller
          ansible.builtin.copy:
            content: "{{{{ {role}_result | default({{}}) | to_json }}}}"
            dest: "{result}"
            mode: "0600"
          delegate_to: localhost
          become: false
          check_mode: false
          changed_when: false
"""


def debian_host(lab, index=-1) -> dict:
    return [h for h in lab.hosts if h.get("role") != "rpm"][index]


def run_role(lab, tmp_path, role, host, variables, *args, inventory=None):
    result = tmp_path / f"{role}-result.json"
    playbook = tmp_path / f"{role}.yml"
    playbook.write_text(PLAYBOOK.format(role=role, host=host, result=result), encoding="utf-8")
    extra = tmp_path / f"{role}-vars.json"
    extra.write_text(json.dumps(variables), encoding="utf-8")
    result.unlink(missing_ok=True)
    if inventory:
        from labkit import _ansible
        proc = _ansible("ansible-playbook", "-i", inventory, str(playbook), "-e", f"@{extra}", *args,
                        check=False, timeout=900)
    else:
        proc = lab.playbook(str(playbook), "-e", f"@{extra}", *args, check=False, timeout=900)
    data = json.loads(result.read_text(encoding="utf-8")) if result.exists() else {}
    return proc, data


def plan_entry(lab, host) -> dict:
    """The plan entry for everything apt-get -s dist-upgrade would do, with from_version and removals."""
    out = lab.ssh(host, "LANG=C apt-get -s dist-upgrade").stdout
    packages, removals = [], []
    for line in out.splitlines():
        m = INST.match(line)
        if m:
            packages.append({"name": m.group(1), "version": m.group(3), "from_version": m.group(2),
                             "effect": "upgrade" if m.group(2) else "new_dependency"})
        m = REMV.match(line)
        if m:
            removals.append({"name": m.group(1), "from_version": m.group(2)})
    return {"host": host["name"], "packages": packages, "removals": removals}


def dpkg_state(lab, host) -> str:
    return lab.ssh(host, "dpkg-query -W -f '${Package}\\t${Version}\\t${db:Status-Abbrev}\\n'").stdout


def installed(lab, host, *names) -> dict:
    out = lab.ssh(host, "dpkg-query -W -f '${Package} ${Version} ${db:Status-Abbrev}\\n' " + " ".join(names),
                  check=False).stdout
    return {f[0]: (f[1], f[2]) for f in (line.split() for line in out.splitlines()) if len(f) >= 3}


def upgrade(lab, host, entry, check=True):
    wanted = " ".join(f"{p['name']}={p['version']}" for p in entry["packages"])
    return lab.ssh(host, f"sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q {wanted}", check=check,
                   timeout=600)


def enable_faults(lab, host):
    lab.ssh(host, "sudo sed -i 's/ lab main$/ lab main faults/' /etc/apt/sources.list.d/patchpilot-lab.list"
                  " && sudo apt-get update -q")


def test_package_snapshot_upgrade_and_rollback_restore_exact_versions(lab, tmp_path):
    host = debian_host(lab)
    archive = tmp_path / "archive" / host["name"]
    run_id = "t-" + uuid.uuid4().hex[:8]
    entry = plan_entry(lab, host)
    names = {p["name"] for p in entry["packages"]}
    assert {"pplab-agent", "pplab-agent-plugins", "pplab-monitor", "pplab-seclib"} <= names, entry
    assert [r["name"] for r in entry["removals"]] == ["pplab-monitor-compat"]
    before = dpkg_state(lab, host)
    try:
        proc, snap = run_role(lab, tmp_path, "snapshot", host["name"], {
            "snapshot_provider": "package", "snapshot_run_id": run_id, "snapshot_archive_dir": str(archive),
            "snapshot_plan_host": entry})
        assert proc.returncode == 0, proc.stdout[-6000:]
        record = json.loads((archive / "snapshot.json").read_text(encoding="utf-8"))
        assert record["format"] == 1 and record["provider"] == "package" and record["host"] == host["name"]
        assert snap["reused"] is False and snap["packages"] == record["packages"]
        # The baseline is the host's whole package list.
        assert record["packages"] == {line.split("\t")[0]: line.split("\t")[1] for line in before.splitlines()}
        kept = {d["name"]: d for d in record["package"]["debs"]}
        changing = {p["name"] for p in entry["packages"] if p["from_version"]} | {"pplab-monitor-compat"}
        assert set(kept) == changing
        # seclib's 1.0-1 is still in the repository; the other seed versions only on the host.
        assert kept["pplab-seclib"]["method"] == "download"
        assert kept["pplab-monitor-compat"]["method"] == "repack"
        for name, deb in kept.items():
            assert deb["version"] == record["packages"][name]
            path = archive / "rollback" / deb["file"]
            fields = subprocess.run(["dpkg-deb", "--field", str(path), "Package", "Version"], capture_output=True,
                                    text=True, check=True).stdout.split("\n")
            assert fields[:2] == [f"Package: {name}", f"Version: {deb['version']}"]
            import hashlib
            assert hashlib.sha256(path.read_bytes()).hexdigest() == deb["sha256"]

        # A rerun keeps the run's snapshot and changes nothing.
        proc, again = run_role(lab, tmp_path, "snapshot", host["name"], {
            "snapshot_provider": "package", "snapshot_run_id": run_id, "snapshot_archive_dir": str(archive),
            "snapshot_plan_host": entry})
        assert proc.returncode == 0 and "changed=0" in proc.stdout, proc.stdout[-4000:]
        assert again["reused"] is True and again["taken_at"] == record["taken_at"]

        upgrade(lab, host, entry)
        patched = installed(lab, host, "pplab-agent", "pplab-agent-plugins", "pplab-monitor", "pplab-monitor-compat")
        assert patched["pplab-agent"][0] == "1.1-1" and patched["pplab-agent-plugins"][1] == "ii"
        assert "pplab-monitor-compat" not in patched or patched["pplab-monitor-compat"][1] != "ii"
        # The host cache lost one kept file: the rollback copies it back from the archive.
        lab.ssh(host, f"sudo rm /var/cache/patchpilot/runs/{run_id}/rollback/{kept['pplab-agent']['file']}")

        proc, result = run_role(lab, tmp_path, "rollback", host["name"], {
            "rollback_run_id": run_id, "rollback_archive_dir": str(archive), "rollback_plan_host": entry})
        assert proc.returncode == 0, proc.stdout[-6000:]
        assert result["ok"] is True and result["mismatches"] == [] and result["other_differences"] == []
        assert dpkg_state(lab, host) == before
        on_disk = json.loads((archive / "rollback.json").read_text(encoding="utf-8"))
        assert on_disk["ok"] is True and on_disk["format"] == 1 and on_disk["provider"] == "package"
        steps = [t["step"] for t in on_disk["tried"]]
        assert any(s.startswith("dpkg --install") for s in steps) and any("purge" in s and "pplab-agent-plugins" in s
                                                                  for s in steps), steps
        assert kept["pplab-agent"]["file"] in on_disk["tried"][0]["output"]
    finally:
        lab.reset(host["name"])


def test_rollback_after_a_failing_postinst(lab, tmp_path):
    host = debian_host(lab, 0)
    archive = tmp_path / "archive" / host["name"]
    run_id = "t-" + uuid.uuid4().hex[:8]
    try:
        enable_faults(lab, host)
        before = dpkg_state(lab, host)
        entry = {"host": host["name"], "removals": [], "packages": [
            {"name": "pplab-fault-postinst", "version": "1.1-1", "from_version": "1.0-1", "effect": "upgrade"},
            {"name": "pplab-seclib", "version": "1.0-1+lab1sec1", "from_version": "1.0-1", "effect": "upgrade"}]}
        proc, _ = run_role(lab, tmp_path, "snapshot", host["name"], {
            "snapshot_provider": "package", "snapshot_run_id": run_id, "snapshot_archive_dir": str(archive),
            "snapshot_plan_host": entry})
        assert proc.returncode == 0, proc.stdout[-6000:]
        failed = upgrade(lab, host, entry, check=False)
        assert failed.returncode != 0, failed.stdout
        state = installed(lab, host, "pplab-fault-postinst", "pplab-seclib")
        assert state["pplab-fault-postinst"] == ("1.1-1", "iF"), state

        proc, result = run_role(lab, tmp_path, "rollback", host["name"], {
            "rollback_run_id": run_id, "rollback_archive_dir": str(archive)})
        assert proc.returncode == 0, proc.stdout[-6000:]
        assert result["ok"] is True, result
        assert dpkg_state(lab, host) == before
        assert lab.ssh(host, "dpkg --audit").stdout.strip() == ""
        assert result["tried"][1]["step"] == "dpkg --configure -a" and result["tried"][1]["rc"] != 0
        assert "pplab-fault-postinst" in result["tried"][1]["output"]
    finally:
        lab.reset(host["name"])


def test_provider_none_must_be_explicit_and_its_rollback_fails_loudly(lab, tmp_path):
    host = debian_host(lab)
    archive = tmp_path / "archive" / host["name"]
    run_id = "t-" + uuid.uuid4().hex[:8]
    for value in ("", None):
        variables = {"snapshot_run_id": run_id, "snapshot_archive_dir": str(archive)}
        if value is not None:
            variables["snapshot_provider"] = value
        proc, _ = run_role(lab, tmp_path, "snapshot", host["name"], variables)
        flat = " ".join(proc.stdout.split())
        assert proc.returncode != 0
        assert "a provider must be chosen: set snapshot_provider to one of package, btrfs, lvm, aws_ebs, none" in flat
        assert "none (no snapshot, a rollback is then impossible) must be chosen explicitly" in flat, flat[-3000:]
        assert not (archive / "snapshot.json").exists()

    before = dpkg_state(lab, host)
    proc, snap = run_role(lab, tmp_path, "snapshot", host["name"], {
        "snapshot_provider": "none", "snapshot_run_id": run_id, "snapshot_archive_dir": str(archive)})
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert snap["provider"] == "none" and snap["packages"]["pplab-seclib"] == "1.0-1"
    assert not (archive / "rollback").exists()

    proc, result = run_role(lab, tmp_path, "rollback", host["name"], {
        "rollback_run_id": run_id, "rollback_archive_dir": str(archive)})
    assert proc.returncode != 0
    flat = " ".join(proc.stdout.split())
    assert f"ROLLBACK FAILED on {host['name']} (provider none): no snapshot was taken (provider none)" in flat, \
        flat[-3000:]
    on_disk = json.loads((archive / "rollback.json").read_text(encoding="utf-8"))
    assert on_disk["ok"] is False and on_disk["provider"] == "none"
    assert on_disk["tried"][0] == {"step": "restore (provider none)", "rc": None,
                                   "output": "no snapshot was taken (provider none)"}
    assert dpkg_state(lab, host) == before

    # A rollback without any snapshot.json fails loudly too.
    proc, result = run_role(lab, tmp_path, "rollback", host["name"], {
        "rollback_run_id": run_id, "rollback_archive_dir": str(tmp_path / "nothing")})
    assert proc.returncode != 0 and result["ok"] is False
    assert f"ROLLBACK FAILED on {host['name']}" in proc.stdout and "no snapshot.json in" in proc.stdout


@pytest.fixture
def btrfs_container(lab, tmp_path):
    """A btrfs file system on a loop device, its top level bind-mounted into a systemd container at /srv/pool."""
    if shutil.which("mkfs.btrfs") is None:
        pytest.fail("mkfs.btrfs missing on the controller (btrfs-progs)")
    work = Path(tempfile.mkdtemp(prefix="pp-btrfs-"))
    image, mnt = work / "fs.img", work / "mnt"
    mnt.mkdir()
    name = f"pp-btrfs-{uuid.uuid4().hex[:6]}"
    release = debian_host(lab)["release"]
    mounted = started = False
    try:
        subprocess.run(["truncate", "-s", "256M", str(image)], check=True)
        subprocess.run(["mkfs.btrfs", "-q", str(image)], check=True, capture_output=True)
        subprocess.run(["mount", "-o", "loop,user_subvol_rm_allowed", str(image), str(mnt)], check=True)
        mounted = True
        subprocess.run(["btrfs", "-q", "subvolume", "create", str(mnt / "data")], check=True)
        subprocess.run(["podman", "run", "-d", "--name", name, "--network=none", "--systemd=always",
                        "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096",
                        "-v", f"{mnt}:/srv/pool", f"localhost/patchpilot-lab/host:debian{release}", "/sbin/init"],
                       check=True, capture_output=True)
        started = True
        inventory = tmp_path / "btrfs-inventory.yml"
        inventory.write_text(json.dumps({"all": {"hosts": {name: {
            "ansible_connection": "containers.podman.podman", "ansible_python_interpreter": "/usr/bin/python3"}}}}),
            encoding="utf-8")
        yield name, mnt, inventory
    finally:
        if started:
            subprocess.run(["podman", "rm", "-f", "-t", "0", name], check=False, capture_output=True)
        if mounted:
            subprocess.run(["umount", str(mnt)], check=False)
        shutil.rmtree(work, ignore_errors=True)


def pexec(name, *argv) -> str:
    return subprocess.run(["podman", "exec", name, *argv], check=True, capture_output=True, text=True).stdout


def test_btrfs_snapshot_and_rollback_live(lab, tmp_path, btrfs_container):
    name, mnt, inventory = btrfs_container
    archive = tmp_path / "archive" / name
    run_id = "t-" + uuid.uuid4().hex[:8]
    pexec(name, "sh", "-c", "mkdir -p /srv/pool/data/db && echo v1 > /srv/pool/data/db/table"
                            " && echo keep > /srv/pool/data/config && ln -s config /srv/pool/data/link")
    proc, snap = run_role(lab, tmp_path, "snapshot", name, {
        "snapshot_provider": "btrfs", "snapshot_run_id": run_id, "snapshot_archive_dir": str(archive),
        "snapshot_btrfs_subvolume": "/srv/pool/data"}, inventory=str(inventory))
    assert proc.returncode == 0, proc.stdout[-6000:]
    assert snap["btrfs"]["snapshot"] == f"/srv/pool/.patchpilot-snapshots/data-{run_id}"
    # The snapshot is a read-only subvolume on the controller's file system.
    show = subprocess.run(["btrfs", "subvolume", "show", str(mnt / ".patchpilot-snapshots" / f"data-{run_id}")],
                          capture_output=True, text=True, check=True).stdout
    assert re.search(r"Flags:\s+readonly", show), show

    pexec(name, "sh", "-c", "echo v2 > /srv/pool/data/db/table && rm /srv/pool/data/config"
                            " && echo junk > /srv/pool/data/new-file")
    proc, result = run_role(lab, tmp_path, "rollback", name, {
        "rollback_run_id": run_id, "rollback_archive_dir": str(archive)}, inventory=str(inventory))
    assert proc.returncode == 0, proc.stdout[-6000:]
    assert result["ok"] is True and result["provider"] == "btrfs", result
    assert (mnt / "data" / "db" / "table").read_text() == "v1\n"
    assert (mnt / "data" / "config").read_text() == "keep\n"
    assert (mnt / "data" / "link").is_symlink() and (mnt / "data" / "link").resolve() == (mnt / "data" / "config")
    assert not (mnt / "data" / "new-file").exists()
    assert any(t["step"].startswith("diff -r") and t["rc"] == 0 for t in result["tried"])


@pytest.mark.parametrize("role", ["snapshot", "rollback"])
def test_molecule_scenario_of_the_role(lab, role):
    code, out = run_molecule(ROOT / "roles" / role)
    assert code == 0, f"molecule test failed ({code}):\n{out[-6000:]}"
    assert re.search(r"^\s*default \S+ verify: Executed: Successful\s*$", out, re.MULTILINE), out[-6000:]
    flat = " ".join(out.split())
    assert f"pp-molecule-{role}-debian12: {role} verified" in flat, out[-6000:]
