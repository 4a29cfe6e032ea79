"""deb_files: the real module run as Ansible runs it, with a fake apt-get, dpkg-query and dpkg-repack on PATH.

The fakes serve a "repository" folder of real .deb files built with dpkg-deb (the
real dpkg-deb reads their control fields), an "installed" list for dpkg-query
and an "installed files" folder that dpkg-repack packs from. Each fake logs its
argv, so the tests can count what ran.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ansible_collections.patchpilot.fleet.plugins.module_utils.deb_files import deb_name
from support.skips import require_tools


@pytest.fixture(scope="module", autouse=True)
def _dpkg_deb():
    require_tools("dpkg-deb", hint="to build test packages")


COLLECTIONS = Path(__file__).resolve().parents[4] / ".ansible" / "collections"

FAKE_APT_GET = r'''#!/usr/bin/env python3
import hashlib, json, os, shutil, sys
state = os.environ["FAKE_STATE"]
with open(os.path.join(state, "log"), "a") as log:
    log.write(json.dumps(["apt-get"] + sys.argv[1:]) + "\n")
if "--" not in sys.argv:  # a name must never be taken for an option
    sys.stderr.write(f"E: the fake wants -- before the names: {sys.argv[1:]}\n"); sys.exit(100)
end = sys.argv.index("--")
args, specs = [a for a in sys.argv[1:end] if a not in ("-q",)], sys.argv[end + 1:]
while "-o" in args:
    i = args.index("-o"); del args[i:i + 2]
assert args[0] == "download", args
uris = "--print-uris" in args
repo = os.path.join(state, "repo")
found = []
for spec in specs:
    name, version = spec.split("=", 1)
    files = [f for f in os.listdir(repo) if f.startswith(name + "_")]
    if not files:
        sys.stderr.write(f"E: Unable to locate package {name}\n"); sys.exit(100)
    match = [f for f in files if f.split("_")[1] == version.replace(":", "%3a")]
    if not match:
        sys.stderr.write(f"E: Version '{version}' for '{name}' was not found\n"); sys.exit(100)
    found.append(match[0])
for f in found:
    path = os.path.join(repo, f)
    if uris:
        digest = hashlib.sha256(open(path, "rb").read()).hexdigest()
        print(f"'file:/srv/repo/{f}' {f} {os.path.getsize(path)} SHA256:{digest}")
    else:
        shutil.copy(path, os.path.join(os.getcwd(), f))
'''

FAKE_DPKG_QUERY = r'''#!/usr/bin/env python3
import json, os, sys
state = os.environ["FAKE_STATE"]
installed = json.load(open(os.path.join(state, "installed.json")))
if sys.argv[-2] != "--":  # a name must never be taken for an option
    sys.stderr.write(f"dpkg-query: the fake wants -- before the name: {sys.argv[1:]}\n"); sys.exit(2)
name = sys.argv[-1]
if name not in installed:
    sys.stderr.write(f"dpkg-query: no packages found matching {name}\n"); sys.exit(1)
sys.stdout.write(installed[name] + "\tii ")
'''

FAKE_DPKG_REPACK = r'''#!/usr/bin/env python3
import json, os, shutil, sys
state = os.environ["FAKE_STATE"]
with open(os.path.join(state, "log"), "a") as log:
    log.write(json.dumps(["dpkg-repack"] + sys.argv[1:]) + "\n")
if sys.argv[1:2] != ["--"]:  # a name must never be taken for an option
    sys.stderr.write(f"dpkg-repack: the fake wants -- before the name: {sys.argv[1:]}\n"); sys.exit(1)
name = sys.argv[2]
src = os.path.join(state, "installed-files")
made = [f for f in os.listdir(src) if f.startswith(name + "_")]
if not made:
    sys.stderr.write(f"dpkg-repack: {name} is not installed\n"); sys.exit(1)
shutil.copy(os.path.join(src, made[0]), os.path.join(os.getcwd(), made[0]))
print(f"dpkg-deb: building package '{name}' in './{made[0]}'.")
'''


def build_deb(folder: Path, name: str, version: str, arch: str = "all", payload: str = "") -> Path:
    root = folder / f"build-{name}-{version}"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "usr/share" / name).mkdir(parents=True)
    (root / "usr/share" / name / "VERSION").write_text(version + payload + "\n", encoding="utf-8")
    (root / "DEBIAN/control").write_text(
        f"Package: {name}\nVersion: {version}\nArchitecture: {arch}\nMaintainer: t <t@patchpilot.invalid>\n"
        f"Description: test {name}\n", encoding="utf-8")
    out = folder / deb_name(name, version, arch)
    subprocess.run(["dpkg-deb", "--root-owner-group", "-Zgzip", "--build", str(root), str(out)],
                   check=True, capture_output=True)
    shutil.rmtree(root)
    return out


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class Host:
    """A fake host: the fakes' state folder, a PATH with them first, and a way to run the module."""

    def __init__(self, tmp_path: Path):
        self.state = tmp_path / "state"
        self.bin = tmp_path / "bin"
        self.repo = self.state / "repo"
        self.installed_files = self.state / "installed-files"
        for folder in (self.bin, self.repo, self.installed_files):
            folder.mkdir(parents=True)
        for name, text in (("apt-get", FAKE_APT_GET), ("dpkg-query", FAKE_DPKG_QUERY), ("dpkg-repack", FAKE_DPKG_REPACK)):
            (self.bin / name).write_text(text, encoding="utf-8")
            (self.bin / name).chmod(0o755)
        self.installed({})
        self.tmp = tmp_path

    def installed(self, versions: dict) -> None:
        (self.state / "installed.json").write_text(json.dumps(versions), encoding="utf-8")

    def log(self) -> list[list[str]]:
        path = self.state / "log"
        lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
        return [json.loads(line) for line in lines]

    def run(self, check_mode: bool = False, **args) -> dict:
        (self.state / "log").unlink(missing_ok=True)
        args_file = self.tmp / "args.json"
        args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": dict(args, _ansible_check_mode=check_mode)}),
                             encoding="utf-8")
        env = dict(os.environ, PATH=f"{self.bin}:{os.environ['PATH']}", FAKE_STATE=str(self.state),
                   PYTHONPATH=str(COLLECTIONS))
        proc = subprocess.run([sys.executable, "-m", "ansible_collections.patchpilot.fleet.plugins.modules.deb_files",
                               str(args_file)], capture_output=True, text=True, env=env, check=False)
        assert proc.stdout.strip(), proc.stderr
        return json.loads(proc.stdout)


@pytest.fixture
def host(tmp_path) -> Host:
    return Host(tmp_path)


# -- download -------------------------------------------------------------------------------


def test_download_gets_exactly_the_versions_then_reuses_them(host, tmp_path):
    web = build_deb(host.repo, "pplab-web", "1.0-2")
    build_deb(host.repo, "pplab-web", "1.0-1")
    lib = build_deb(host.repo, "pplab-seclib", "1:1.0-1")
    dest = tmp_path / "cache" / "packages"
    packages = [{"name": "pplab-web", "version": "1.0-2"}, {"name": "pplab-seclib", "version": "1:1.0-1"}]

    out = host.run(path=str(dest), mode="download", packages=packages, prune=True)
    assert out["changed"] is True and not out.get("failed"), out
    assert out["packages"] == [
        {"name": "pplab-web", "version": "1.0-2", "arch": "all", "file": web.name, "sha256": sha256(web),
         "size": web.stat().st_size, "method": "download"},
        {"name": "pplab-seclib", "version": "1:1.0-1", "arch": "all", "file": "pplab-seclib_1%3a1.0-1_all.deb",
         "sha256": sha256(lib), "size": lib.stat().st_size, "method": "download"},
    ]
    assert sorted(p.name for p in dest.iterdir()) == sorted([web.name, lib.name])
    assert oct(dest.stat().st_mode & 0o777) == "0o700"
    # One download for both.
    assert [c for c in host.log() if "--print-uris" not in c] == [
        ["apt-get", "download", "-q", "-o", "APT::Sandbox::User=root", "--", "pplab-web=1.0-2", "pplab-seclib=1:1.0-1"]]

    again = host.run(path=str(dest), mode="download", packages=packages, prune=True)
    assert again["changed"] is False and [p["method"] for p in again["packages"]] == ["kept", "kept"]
    assert again["packages"][0]["sha256"] == sha256(web)
    assert [c for c in host.log() if "--print-uris" not in c] == []


def test_download_replaces_a_corrupt_file_and_prunes_strangers(host, tmp_path):
    web = build_deb(host.repo, "pplab-web", "1.0-2")
    dest = tmp_path / "packages"
    dest.mkdir()
    (dest / web.name).write_bytes(b"truncated")
    (dest / "stranger_1.0_all.deb").write_bytes(b"x")
    (dest / ".hidden").mkdir()

    out = host.run(path=str(dest), mode="download", packages=[{"name": "pplab-web", "version": "1.0-2"}], prune=True)
    assert out["changed"] is True and out["packages"][0]["method"] == "download", out
    assert sorted(out["removed"]) == [".hidden", "pplab-web_1.0-2_all.deb", "stranger_1.0_all.deb"]
    assert [p.name for p in dest.iterdir()] == [web.name] and sha256(dest / web.name) == sha256(web)


def test_download_check_mode_changes_nothing(host, tmp_path):
    web = build_deb(host.repo, "pplab-web", "1.0-2")
    dest = tmp_path / "packages"
    dest.mkdir()
    (dest / "stranger").write_text("x")
    out = host.run(check_mode=True, path=str(dest), mode="download",
                   packages=[{"name": "pplab-web", "version": "1.0-2"}], prune=True)
    assert out["changed"] is True and out["removed"] == ["stranger"]
    assert out["packages"][0] | {"method": None} == {"name": "pplab-web", "version": "1.0-2", "arch": "all",
                                                     "file": web.name, "sha256": sha256(web),
                                                     "size": web.stat().st_size, "method": None}
    assert [p.name for p in dest.iterdir()] == ["stranger"]


def test_download_fails_naming_every_missing_version(host, tmp_path):
    build_deb(host.repo, "pplab-web", "1.0-1")
    build_deb(host.repo, "pplab-seclib", "1.0-1")
    dest = tmp_path / "packages"
    out = host.run(path=str(dest), mode="download", packages=[
        {"name": "pplab-seclib", "version": "1.0-1"}, {"name": "pplab-web", "version": "9.9-9"},
        {"name": "pplab-nosuch", "version": "1.0-1"}])
    assert out["failed"] is True
    assert out["msg"] == ("the repository cannot give pplab-web=9.9-9 (E: Version '9.9-9' for 'pplab-web' was not found); "
                          "pplab-nosuch=1.0-1 (E: Unable to locate package pplab-nosuch)")
    assert not dest.exists(), "nothing is made when a version is missing"


# -- keep -----------------------------------------------------------------------------------


def test_keep_downloads_what_the_repository_has_and_repacks_the_rest(host, tmp_path):
    seclib = build_deb(host.repo, "pplab-seclib", "1.0-1")
    build_deb(host.repo, "pplab-agent", "1.1-1")  # only the new version is still offered
    agent = build_deb(host.installed_files, "pplab-agent", "1.0-1", payload=" repacked")
    host.installed({"pplab-seclib": "1.0-1", "pplab-agent": "1.0-1"})
    dest = tmp_path / "run" / "rollback"
    packages = [{"name": "pplab-agent", "version": "1.0-1", "arch": "all"},
                {"name": "pplab-seclib", "version": "1.0-1", "arch": "all"}]

    out = host.run(path=str(dest), mode="keep", packages=packages)
    assert out["changed"] is True and not out.get("failed"), out
    assert out["packages"] == [
        {"name": "pplab-agent", "version": "1.0-1", "arch": "all", "file": agent.name, "sha256": sha256(agent),
         "size": agent.stat().st_size, "method": "repack"},
        {"name": "pplab-seclib", "version": "1.0-1", "arch": "all", "file": seclib.name, "sha256": sha256(seclib),
         "size": seclib.stat().st_size, "method": "download"},
    ]
    assert sorted(p.name for p in dest.iterdir()) == sorted([agent.name, seclib.name])
    assert oct((dest / agent.name).stat().st_mode & 0o777) == "0o600"
    assert not list((tmp_path / "run").glob(".repack-*")), "the scratch folder is removed"
    calls = host.log()
    # All at once, then one by one when one is missing; dpkg-repack only for the one that is.
    assert [c[6:] for c in calls if c[0] == "apt-get"] == [["pplab-agent=1.0-1", "pplab-seclib=1.0-1"],
                                                           ["pplab-agent=1.0-1"], ["pplab-seclib=1.0-1"]]
    assert [c for c in calls if c[0] == "dpkg-repack"] == [["dpkg-repack", "--", "pplab-agent"]]

    again = host.run(path=str(dest), mode="keep", packages=packages)
    assert again["changed"] is False and [p["method"] for p in again["packages"]] == ["kept", "kept"]
    assert host.log() == []


def test_keep_replaces_a_file_that_is_not_the_package(host, tmp_path):
    seclib = build_deb(host.repo, "pplab-seclib", "1.0-1")
    other = build_deb(tmp_path, "pplab-other", "1.0-1")
    dest = tmp_path / "rollback"
    dest.mkdir()
    shutil.copy(other, dest / seclib.name)
    out = host.run(path=str(dest), mode="keep", packages=[{"name": "pplab-seclib", "version": "1.0-1", "arch": "all"}])
    assert out["packages"][0]["method"] == "download" and out["packages"][0]["sha256"] == sha256(seclib), out


def test_keep_fails_naming_every_package_it_cannot_get(host, tmp_path):
    build_deb(host.repo, "pplab-seclib", "1.0-1")
    build_deb(host.repo, "pplab-web", "1.0-2")
    host.installed({"pplab-web": "1.0-2", "pplab-seclib": "1.0-1"})
    dest = tmp_path / "run" / "rollback"
    out = host.run(path=str(dest), mode="keep", packages=[
        {"name": "pplab-web", "version": "1.0-1", "arch": "all"},
        {"name": "pplab-seclib", "version": "1.0-1", "arch": "all"},
        {"name": "pplab-gone", "version": "2.0-1", "arch": "amd64"}])
    assert out["failed"] is True
    assert out["msg"].startswith("cannot keep pplab-web=1.0-1: apt-get download failed (E: Version '1.0-1' for "
                                 "'pplab-web' was not found) and dpkg-repack not tried: installed version is 1.0-2; "
                                 "pplab-gone=2.0-1: apt-get download failed (E: Unable to locate package pplab-gone) "
                                 "and dpkg-repack not tried: installed version is none"), out["msg"]
    assert [p["name"] for p in out["packages"]] == ["pplab-seclib"]
    assert not list((tmp_path / "run").glob(".repack-*"))


def test_keep_needs_the_architecture(host, tmp_path):
    out = host.run(path=str(tmp_path / "r"), mode="keep", packages=[{"name": "a", "version": "1"}])
    assert out["failed"] is True and out["msg"] == "mode keep needs packages[].arch (missing for a=1)"


def test_keep_rejects_unknown_package_keys_with_a_clear_message(host, tmp_path):
    out = host.run(path=str(tmp_path / "r"), mode="keep", packages=[{"name": "a", "version": "1", "arch": "all", "x": 1}])
    assert out["failed"] is True and "x" in out["msg"] and "Traceback" not in json.dumps(out)


# -- verify ---------------------------------------------------------------------------------


def test_verify_reports_good_missing_and_corrupt(host, tmp_path):
    folder = tmp_path / "archive"
    folder.mkdir()
    (folder / "a.deb").write_bytes(b"a")
    (folder / "b.deb").write_bytes(b"b")
    good = hashlib.sha256(b"a").hexdigest()
    out = host.run(path=str(folder), mode="verify",
                   checksums={"a.deb": good.upper(), "b.deb": good, "c.deb": good})
    assert out["changed"] is False and not out.get("failed")
    assert (out["good"], out["corrupt"], out["missing"]) == (["a.deb"], ["b.deb"], ["c.deb"])
    assert out["files"]["a.deb"] == {"exists": True, "sha256": good, "size": 1}
    assert out["files"]["c.deb"] == {"exists": False, "sha256": None, "size": None}


def test_verify_refuses_a_path_outside_the_folder(host, tmp_path):
    out = host.run(path=str(tmp_path), mode="verify", checksums={"../etc/passwd": "00"})
    assert out["failed"] is True and "is not a file name in" in out["msg"]
