"""A plan gone stale between staging and patching: the repository moved on, or dropped a plan version.

Uses test_stage_patch.py's run (the stage and patch roles on one host, no rollout). For the
moved repository one host gets, after staging, an extra flat apt source (built here with
dpkg-deb, ``[trusted=yes]``, ``apt-get update`` on that host only) offering a newer
pplab-seclib than the plan's: the patch role reports it (``patch_candidates``,
``candidates.json``) and installs the plan's version. For a gone version the plan names one
the repositories do not have and nothing is staged: the host fails before anything changes,
naming it. The shared lab repository is not touched; the changed host is reset.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from test_stage_patch import Run, build_deb, copy_to_host, debian12, dpkg, entry, sha256

pytestmark = pytest.mark.lab

PLAN = [("pplab-seclib", "1.0-1+lab1sec1"), ("pplab-web", "1.0-2")]


def flat_repo(directory: Path, debs: list[Path]) -> None:
    """A flat apt repository: the .deb files and a hand-written Packages file."""
    stanzas = []
    for deb in debs:
        fields = subprocess.run(["dpkg-deb", "-f", str(deb)], check=True, capture_output=True, text=True).stdout
        stanzas.append(fields.rstrip("\n") + f"\nFilename: ./{deb.name}\nSize: {deb.stat().st_size}\nSHA256: {sha256(deb)}\n")
    (directory / "Packages").write_text("\n".join(stanzas), encoding="utf-8")


def test_a_repository_that_moved_on_is_reported_and_the_plan_installed(lab, tmp_path):
    host = debian12(lab)
    run = Run(lab, host, tmp_path, "t-moved")
    plan = entry(host, PLAN)
    try:
        proc = run(plan, "stage")
        assert proc.returncode == 0, proc.stdout[-5000:]

        repo = tmp_path / "pp-moved"
        repo.mkdir()
        work = tmp_path / "build"
        work.mkdir()
        newer = build_deb(work, "pplab-seclib", "1.0-1+lab1sec2")
        (repo / newer.name).write_bytes(newer.read_bytes())
        flat_repo(repo, [repo / newer.name])
        copy_to_host(lab, host, repo, "/var/tmp/")
        lab.ssh(host, "echo 'deb [trusted=yes] file:/var/tmp/pp-moved ./' | sudo tee /etc/apt/sources.list.d/pp-moved.list"
                      " && sudo apt-get update -q")
        policy = lab.ssh(host, "LANG=C apt-cache policy pplab-seclib").stdout
        assert re.search(r"Candidate: 1\.0-1\+lab1sec2\n", policy), policy

        proc = run(plan, "patch")
        assert proc.returncode == 0, proc.stdout[-5000:]
        after = dpkg(lab, host)
        assert after["pplab-seclib"] == "1.0-1+lab1sec1" and after["pplab-web"] == "1.0-2", after
        assert run.record("patch.json")["matches_plan"] is True
        candidates = run.record("candidates.json")
        assert candidates["ok"] is True and candidates["gone"] == [] and candidates["withdrawn"] == []
        assert candidates["moved"] == [{"name": "pplab-seclib", "planned": "1.0-1+lab1sec1", "candidate": "1.0-1+lab1sec2"}]
        assert {p["name"]: p["state"] for p in candidates["packages"]} == {"pplab-seclib": "moved", "pplab-web": "current"}
        flat = " ".join(proc.stdout.split())
        assert (f"{host['name']}: the repositories moved on since the plan, the planned versions are installed: "
                "pplab-seclib plan 1.0-1+lab1sec1, candidate 1.0-1+lab1sec2") in flat, proc.stdout[-4000:]
    finally:
        lab.reset(host["name"])


def test_a_plan_version_gone_from_the_repositories_fails_the_host_before_anything_changes(lab, tmp_path):
    host = debian12(lab)
    run = Run(lab, host, tmp_path, "t-gone")
    plan = entry(host, [("pplab-seclib", "1.0-1+lab1sec1"), ("pplab-web", "9.9-9")])
    run.archive.mkdir(parents=True)  # the run made it; nothing staged in it
    before = dpkg(lab, host)
    proc = run(plan, "patch")
    assert proc.returncode != 0
    flat = " ".join(proc.stdout.split())
    assert (f"patch failed on {host['name']}: plan versions gone from the repositories and not staged: "
            "pplab-web=9.9-9 (the repositories offer 1.0-2)") in flat, proc.stdout[-4000:]
    assert dpkg(lab, host) == before
    candidates = run.record("candidates.json")
    assert candidates["ok"] is False and [g["name"] for g in candidates["gone"]] == ["pplab-web"]
    assert not (run.archive / "patch.json").exists()
