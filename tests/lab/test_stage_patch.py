"""The stage and patch roles on real lab hosts.

stage downloads exactly the plan's versions into the host cache and the run's
archive; patch installs exactly those files, nothing else, under a timeout, and
records what happened before it fails a host. Packages the lab repository does
not have (a postinst that hangs, a conffile) are built here with dpkg-deb and
put into the run's archive as the stage role would have, so that patch copies
them to the host itself. Every host a test changes is reset afterwards.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from labkit import ROOT, run_molecule

pytestmark = pytest.mark.lab

PLAYBOOK = """\
- name: Stage and patch one lab host
  hosts: "{host}"
  gather_facts: false
  become: true
  tasks:
    - name: Stage
      ansible.builtin.include_role:
        name: patchpilot.fleet.stage
      vars:
        stage_plan_host: "{{{{ plan }}}}"
        stage_run_id: "{{{{ run_id }}}}"
        stage_archive_dir: "{archive}"
      when: "'stage' in phases"
    - name: Patch
      ansible.builtin.include_role:
        name: patchpilot.fleet.patch
      vars:
        patch_plan_host: "{{{{ plan }}}}"
        patch_run_id: "{{{{ run_id }}}}"
        patch_archive_dir: "{archive}"
      when: "'patch' in phases"
"""

SECURITY_PLAN = [("pplab-seclib", "1.0-1+lab1sec1"), ("pplab-web", "1.0-2"), ("pplab-monitor", "1.1-1")]


def debian12(lab) -> dict:
    return next(h for h in lab.hosts if h.get("role") != "rpm" and h["release"] == "12")


def rpm_host(lab) -> dict:
    return next(h for h in lab.hosts if h.get("role") == "rpm")


def entry(host: dict, packages, removals=()) -> dict:
    return {"host": host["name"], "emergency": False, "reboot_expected": False,
            "packages": [{"name": n, "version": v, "effect": "upgrade", "from_version": None} for n, v in packages],
            "removals": [{"name": r} for r in removals]}


def dpkg(lab, host) -> dict:
    out = lab.ssh(host, "dpkg-query -W -f '${binary:Package} ${Version} ${db:Status-Abbrev}\\n'").stdout
    return {f[0]: f[1] for f in (line.split() for line in out.splitlines()) if len(f) == 3 and f[2][1] not in "nc"}


def rpmdb(lab, host) -> dict:
    out = lab.ssh(host, "rpm -qa --qf '%{NAME} %{EPOCHNUM}:%{VERSION}-%{RELEASE}\\n'").stdout
    return {n: re.sub(r"^0:", "", v) for n, v in (line.split() for line in out.splitlines())}


class Run:
    """One run directory on the controller and the playbook that stages and/or patches a host."""

    def __init__(self, lab, host: dict, tmp_path: Path, run_id: str):
        self.lab, self.host, self.run_id = lab, host, run_id
        self.archive = tmp_path / "runs" / run_id / "archive" / host["name"]
        self.playbook = tmp_path / f"{run_id}.yml"
        self.playbook.write_text(PLAYBOOK.format(host=host["name"], archive=self.archive), encoding="utf-8")
        self.tmp = tmp_path

    def __call__(self, plan: dict, *phases: str, extra: dict | None = None, timeout: int = 900):
        variables = {"plan": plan, "run_id": self.run_id, "phases": list(phases), **(extra or {})}
        path = self.tmp / f"{self.run_id}-vars.json"
        path.write_text(json.dumps(variables), encoding="utf-8")
        return self.lab.playbook(str(self.playbook), "-e", f"@{path}", check=False, timeout=timeout)

    def record(self, name: str) -> dict:
        return json.loads((self.archive / name).read_text(encoding="utf-8"))


def recap(proc, host: dict) -> dict:
    match = re.search(rf"^{re.escape(host['name'])}\s+:\s+(.*)$", proc.stdout, re.MULTILINE)
    assert match, proc.stdout[-3000:]
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", match.group(1))}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build_deb(workdir: Path, name: str, version: str, *, postinst: str = "", conffile: tuple[str, str] | None = None) -> Path:
    """A tiny arch-all .deb built with dpkg-deb on the controller."""
    root = workdir / f"{name}-{version}"
    shutil.rmtree(root, ignore_errors=True)
    (root / "DEBIAN").mkdir(parents=True)
    (root / f"usr/share/{name}").mkdir(parents=True)
    (root / f"usr/share/{name}/VERSION").write_text(version + "\n", encoding="utf-8")
    (root / "DEBIAN/control").write_text(
        f"Package: {name}\nVersion: {version}\nArchitecture: all\nMaintainer: patchpilot tests <t@patchpilot.invalid>\n"
        f"Section: misc\nPriority: optional\nDescription: patchpilot test fixture {name}\n", encoding="utf-8")
    if postinst:
        script = root / "DEBIAN/postinst"
        script.write_text(f"#!/bin/sh\nset -e\n{postinst}\nexit 0\n", encoding="utf-8")
        script.chmod(0o755)
    if conffile:
        path, text = conffile
        target = root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        (root / "DEBIAN/conffiles").write_text(path + "\n", encoding="utf-8")
    out = workdir / f"{name}_{version}_all.deb"
    subprocess.run(["dpkg-deb", "--root-owner-group", "-Zgzip", "--build", str(root), str(out)],
                   check=True, capture_output=True)
    return out


def stage_by_hand(run: Run, debs: list[tuple[str, str, Path]]) -> None:
    """Put files into the run's archive with their stage.json, as the stage role does."""
    (run.archive / "packages").mkdir(parents=True, exist_ok=True)
    packages = []
    for name, version, deb in debs:
        shutil.copy(deb, run.archive / "packages" / deb.name)
        packages.append({"name": name, "version": version, "arch": "all", "file": deb.name,
                         "sha256": sha256(deb), "size": deb.stat().st_size})
    (run.archive / "stage.json").write_text(json.dumps({"format": 1, "host": run.host["name"], "run_id": run.run_id,
                                                        "package_manager": "apt", "packages": packages}),
                                            encoding="utf-8")


def copy_to_host(lab, host: dict, src: Path, dest: str) -> None:
    lab.ansible(host["name"], "-m", "ansible.builtin.copy", "-a",
                json.dumps({"src": str(src), "dest": dest, "mode": "0644", "directory_mode": "0755"}))


# ---------------------------------------------------------------------------


def test_stage_then_patch_installs_exactly_the_plan(lab, tmp_path):
    host = debian12(lab)
    run = Run(lab, host, tmp_path, "t-exact")
    plan = entry(host, SECURITY_PLAN, removals=["pplab-monitor-compat"])
    try:
        before = dpkg(lab, host)
        assert before["pplab-seclib"] == "1.0-1" and before["pplab-monitor-compat"] == "1.0-1"

        proc = run(plan, "stage")
        assert proc.returncode == 0, proc.stdout[-5000:]
        staged = run.record("stage.json")
        assert staged["host"] == host["name"] and staged["run_id"] == "t-exact" and staged["format"] == 1
        assert [(p["name"], p["version"], p["arch"]) for p in staged["packages"]] == \
               [(n, v, "all") for n, v in SECURITY_PLAN]
        for pkg in staged["packages"]:
            local = run.archive / "packages" / pkg["file"]
            assert sha256(local) == pkg["sha256"] and local.stat().st_size == pkg["size"]
            assert lab.ssh(host, f"sudo sha256sum /var/cache/patchpilot/runs/t-exact/packages/{pkg['file']}"
                           ).stdout.split()[0] == pkg["sha256"]
        assert sorted(p.name for p in (run.archive / "packages").iterdir()) == sorted(p["file"] for p in staged["packages"])
        assert dpkg(lab, host) == before, "staging must not install anything"
        # Staging again: nothing is downloaded or fetched again.
        proc = run(plan, "stage")
        assert proc.returncode == 0 and recap(proc, host)["changed"] == 0, proc.stdout[-5000:]

        proc = run(plan, "patch")
        assert proc.returncode == 0, proc.stdout[-5000:]
        after = dpkg(lab, host)
        for name, version in SECURITY_PLAN:
            assert after[name] == version, (name, after.get(name))
        assert "pplab-monitor-compat" not in after
        changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
        assert changed == {n for n, _ in SECURITY_PLAN} | {"pplab-monitor-compat"}, changed
        record = run.record("patch.json")
        assert record["matches_plan"] is True and record["ok"] is True and record["rc"] == 0
        assert record["timed_out"] is False and record["mismatches"] == []
        assert record["unplanned"] == {"installed": [], "removed": []}
        assert record["removed"] == ["pplab-monitor-compat"]
        assert record["installed"] == dict(SECURITY_PLAN)
        assert record["argv"][2:6] == ["1800", "30", "--", "apt-get"] and record["argv"][1].endswith("/run_with_timeout.py")
        assert "Dpkg::Options::=--force-confold" in record["argv"]
        assert [a for a in record["argv"] if a.endswith(".deb")] == \
               [f"/var/cache/patchpilot/runs/t-exact/packages/{p['file']}" for p in staged["packages"]]

        # A rerun finds the plan in place: no apt run, no change, the record of the install is kept.
        proc = run(plan, "stage", "patch")
        assert proc.returncode == 0 and recap(proc, host)["changed"] == 0, proc.stdout[-5000:]
        assert run.record("patch.json") == record
    finally:
        lab.reset(host["name"])


def test_stage_fails_naming_a_version_the_repository_cannot_give(lab, tmp_path):
    host = debian12(lab)
    run = Run(lab, host, tmp_path, "t-missing")
    plan = entry(host, [("pplab-seclib", "1.0-1+lab1sec1"), ("pplab-web", "9.9-9"), ("pplab-nosuch", "1.0-1")])
    proc = run(plan, "stage")
    assert proc.returncode != 0
    flat = " ".join(proc.stdout.split())
    assert re.search(rf"stage failed on {host['name']}: the repository cannot give pplab-web=9.9-9 \(E: Version '9.9-9' "
                     r"for 'pplab-web' was not found\); pplab-nosuch=1.0-1 \(E: Unable to locate package", flat), \
        proc.stdout[-4000:]
    assert not (run.archive / "stage.json").exists()


def test_patch_installs_the_staged_versions_after_the_repository_changed(lab, tmp_path):
    """Done when: stage, then the repository offers something else, then patch installs the plan's versions."""
    host = debian12(lab)
    run = Run(lab, host, tmp_path, "t-repo-changed")
    plan = entry(host, [("pplab-seclib", "1.0-1+lab1sec1"), ("pplab-web", "1.0-2")])
    try:
        proc = run(plan, "stage")
        assert proc.returncode == 0, proc.stdout[-5000:]

        # The repository now offers a newer pplab-seclib and only the old pplab-web: a flat
        # repository of a rebuilt pplab-seclib 1.0-1+lab1sec2 and the seed pplab-web 1.0-1, which
        # replaces the lab sources on the host.
        repo = tmp_path / "other-repo"
        repo.mkdir()
        newer = build_deb(repo, "pplab-seclib", "1.0-1+lab1sec2")
        seed_web = next((Path(lab.state["repo_dir"]) / "seed").glob("pplab-web_1.0-1_all.deb"))
        shutil.copy(seed_web, repo / seed_web.name)
        stanzas = []
        for deb in (newer, repo / seed_web.name):
            fields = subprocess.run(["dpkg-deb", "-f", str(deb)], check=True, capture_output=True, text=True).stdout
            stanzas.append(fields.rstrip("\n") + f"\nFilename: ./{deb.name}\nSize: {deb.stat().st_size}\n"
                           f"SHA256: {sha256(deb)}\n")
        (repo / "Packages").write_text("\n".join(stanzas), encoding="utf-8")
        for sub in ("pplab-seclib-1.0-1+lab1sec2",):
            shutil.rmtree(repo / sub)
        copy_to_host(lab, host, repo, "/var/tmp/")
        lab.ssh(host, "sudo mkdir -p /root/pp-sources && sudo sh -c 'mv /etc/apt/sources.list.d/* /root/pp-sources/' && "
                      "echo 'deb [trusted=yes] file:/var/tmp/other-repo ./' | sudo tee /etc/apt/sources.list.d/other.list && "
                      "sudo apt-get update -q")
        policy = lab.ssh(host, "LANG=C apt-cache policy pplab-seclib pplab-web").stdout
        assert re.search(r"pplab-seclib:\n\s+Installed: 1\.0-1\n\s+Candidate: 1\.0-1\+lab1sec2", policy), policy
        assert re.search(r"pplab-web:\n\s+Installed: 1\.0-1\n\s+Candidate: 1\.0-1\n", policy), policy
        assert "1.0-1+lab1sec1" not in policy and "1.0-2" not in policy, policy

        proc = run(plan, "patch")
        assert proc.returncode == 0, proc.stdout[-5000:]
        after = dpkg(lab, host)
        assert after["pplab-seclib"] == "1.0-1+lab1sec1" and after["pplab-web"] == "1.0-2", after
        assert run.record("patch.json")["matches_plan"] is True
    finally:
        lab.reset(host["name"])


def test_a_hung_install_is_killed_by_the_timeout_and_the_record_kept(lab, tmp_path):
    host = debian12(lab)
    run = Run(lab, host, tmp_path, "t-hang")
    deb = build_deb(tmp_path, "pptest-hang", "1.0-1", postinst="echo pptest-hang: waiting forever >&2\nsleep 7777")
    stage_by_hand(run, [("pptest-hang", "1.0-1", deb)])
    plan = entry(host, [("pptest-hang", "1.0-1")])
    try:
        start = time.monotonic()
        proc = run(plan, "patch", extra={"patch_timeout": 8})
        elapsed = time.monotonic() - start
        assert proc.returncode != 0
        assert elapsed < 120, f"the hung postinst was not cut short ({elapsed:.0f} s)"
        record = run.record("patch.json")
        assert record["timed_out"] is True and record["rc"] in (124, 137), (record["message"], record["stderr"][-2000:])
        assert record["ok"] is False and record["matches_plan"] is False
        assert record["mismatches"][0]["name"] == "pptest-hang"
        assert "pptest-hang: waiting forever" in record["stderr"] + record["stdout"]
        flat = " ".join(proc.stdout.split())
        assert re.search(rf"patch failed on {host['name']}: timed out after 8 s, killed \(rc 1(24|37)\)", flat), \
            proc.stdout[-4000:]
        # The file was copied from the archive to the host cache, and no sleep is left behind.
        lab.ssh(host, f"sudo test -f /var/cache/patchpilot/runs/t-hang/packages/{deb.name}")
        assert lab.ssh(host, "pgrep -f 'sleep [7]777'", check=False).returncode == 1
    finally:
        lab.reset(host["name"])


@pytest.mark.parametrize("mode", ["keep", "new"])
def test_a_locally_changed_conffile(lab, tmp_path, mode):
    """No lab package ships a conffile, so this one is built here: 1.0-1 installed and edited, 1.1-1 patched."""
    host = debian12(lab)
    conf = "/etc/pptest-conf.conf"
    old = build_deb(tmp_path, "pptest-conf", "1.0-1", conffile=(conf, "setting = packaged-1.0\n"))
    new = build_deb(tmp_path, "pptest-conf", "1.1-1", conffile=(conf, "setting = packaged-1.1\n"))
    run = Run(lab, host, tmp_path, f"t-conf-{mode}")
    stage_by_hand(run, [("pptest-conf", "1.1-1", new)])
    try:
        copy_to_host(lab, host, old, "/var/tmp/pptest-conf_1.0-1_all.deb")
        lab.ssh(host, f"sudo dpkg -i /var/tmp/pptest-conf_1.0-1_all.deb && echo 'setting = local' | sudo tee {conf}")
        proc = run(entry(host, [("pptest-conf", "1.1-1")]), "patch", extra={"patch_conffile": mode})
        assert proc.returncode == 0, proc.stdout[-5000:]
        assert dpkg(lab, host)["pptest-conf"] == "1.1-1"
        text = lab.ssh(host, f"cat {conf}").stdout
        if mode == "keep":
            assert text == "setting = local\n"
            assert lab.ssh(host, f"cat {conf}.dpkg-dist").stdout == "setting = packaged-1.1\n"
            assert "Dpkg::Options::=--force-confold" in run.record("patch.json")["argv"]
        else:
            assert text == "setting = packaged-1.1\n"
            assert lab.ssh(host, f"cat {conf}.dpkg-old").stdout == "setting = local\n"
    finally:
        lab.reset(host["name"])


def test_stage_then_patch_on_the_dnf_host(lab, tmp_path):
    host = rpm_host(lab)
    plan_packages = [("pprpm-seclib", "1.0-2"), ("pprpm-tools", "1.1-1"), ("pprpm-tools-libs", "1:1.1-1")]
    plan = entry(host, plan_packages)
    for pkg in plan["packages"]:
        pkg["arch"] = "noarch"
    run = Run(lab, host, tmp_path, "t-dnf")
    try:
        before = rpmdb(lab, host)
        assert before["pprpm-seclib"] == "1.0-1"
        proc = run(plan, "stage", "patch", extra={"patchpilot_backend": "dnf"})
        assert proc.returncode == 0, proc.stdout[-5000:]
        staged = run.record("stage.json")
        assert staged["package_manager"] == "dnf"
        assert [p["file"] for p in staged["packages"]] == ["pprpm-seclib-1.0-2.noarch.rpm", "pprpm-tools-1.1-1.noarch.rpm",
                                                           "pprpm-tools-libs-1.1-1.noarch.rpm"]
        for pkg in staged["packages"]:
            assert sha256(run.archive / "packages" / pkg["file"]) == pkg["sha256"]
        after = rpmdb(lab, host)
        assert {k for k in after if after[k] != before.get(k)} == {n for n, _ in plan_packages}
        assert all(after[n] == v for n, v in plan_packages), after
        record = run.record("patch.json")
        assert record["matches_plan"] is True and record["argv"][5:10] == ["dnf", "install", "-y", "-q", "--disablerepo=*"]
        proc = run(plan, "stage", "patch", extra={"patchpilot_backend": "dnf"})
        assert proc.returncode == 0 and recap(proc, host)["changed"] == 0, proc.stdout[-5000:]
    finally:
        lab.reset(host["name"])


@pytest.mark.parametrize("role", ["stage", "patch"])
def test_molecule_scenario_of_the_role(lab, role):
    """roles/<role>/molecule/default: converge, idempotence (no change on a second run), verify."""
    code, out = run_molecule(ROOT / "roles" / role)
    assert code == 0, f"molecule test failed ({code}):\n{out[-6000:]}"
    for step in ("idempotence", "verify"):
        assert re.search(rf"^\s*default \S+ {step}: Executed: Successful\s*$", out, re.MULTILINE), out[-6000:]
    flat = " ".join(out.split())
    for platform in ("debian12", "debian13"):
        if role == "stage":
            assert f"pp-molecule-stage-{platform}: staged pplab-seclib_1.0-1+lab1sec1_all.deb pplab-web_1.0-2_all.deb" \
                in flat, out[-6000:]
        else:
            assert f"pp-molecule-patch-{platform}: rc 0, installed exactly the plan" in flat, out[-6000:]
