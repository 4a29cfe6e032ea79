"""Tests of the lab apt repository builder (lab/patchpilot_lab/repo.py).

The repository is built for real (reprepro, gpg, dpkg-deb) once per module and
then checked from the outside: Release metadata, signatures, package indices,
seed debs, the cache, error handling, and an apt-get simulation against it.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from patchpilot_lab import packages as spec
from patchpilot_lab import repo
from support.skips import require_tools

LAB_DIR = Path(repo.__file__).resolve().parents[1]
NEEDED = ("reprepro", "gpg", "gpgv", "dpkg-deb", "apt-get")


@pytest.fixture(scope="module", autouse=True)
def _tools():
    require_tools(*NEEDED, hint="./dev setup installs them")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    dest = tmp_path_factory.mktemp("lab") / "repo"
    manifest = repo.build_repo(dest)
    return dest, manifest


def _packages(by_name):
    return {pkg["name"]: pkg for pkg in by_name["packages"]}


def _stanzas(text: str) -> list[dict[str, str]]:
    """Parse deb822 text (Release, Packages, dpkg status) into dicts."""
    stanzas, current, key = [], {}, None
    for line in text.splitlines():
        if not line.strip():
            if current:
                stanzas.append(current)
            current, key = {}, None
        elif line[0] in " \t" and key:
            current[key] += "\n" + line.strip()
        else:
            key, _, value = line.partition(":")
            current[key] = value.strip()
    if current:
        stanzas.append(current)
    return stanzas


def _run_cli(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "patchpilot_lab.repo", *map(str, args)],
        capture_output=True, text=True, cwd=LAB_DIR, env=env, check=False, timeout=120,
    )


def _deb_member(deb: Path, member: str) -> bytes:
    tar = subprocess.run(["dpkg-deb", "--fsys-tarfile", str(deb)], capture_output=True,
                         check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(tar)) as archive:
        return archive.extractfile(f"./{member.lstrip('/')}").read()


# --------------------------------------------------------------------------
# Layout, metadata and signatures.


@pytest.mark.parametrize("codename, label", [
    ("lab", "Patchpilot Lab"),
    ("lab-security", "Patchpilot Lab-Security"),
])
def test_release_fields(built, codename, label):
    dest, _ = built
    release = _stanzas((dest / "archive/dists" / codename / "Release").read_text())[0]
    assert release["Origin"] == "Patchpilot Lab"
    assert release["Label"] == label
    assert release["Suite"] == codename
    assert release["Codename"] == codename
    assert set(release["Architectures"].split()) == {"amd64", "arm64"}
    expected = {"main", "faults"} if codename == "lab" else {"main"}
    assert set(release["Components"].split()) == expected


def test_inrelease_and_release_gpg_verify_with_exported_key(built):
    dest, manifest = built
    keyring = dest / manifest["keyring"]
    assert keyring.read_bytes()[:1] != b"-", "keyring must be binary, not armored"
    for codename in ("lab", "lab-security"):
        dists = dest / "archive/dists" / codename
        for argv in ([str(dists / "InRelease")],
                     [str(dists / "Release.gpg"), str(dists / "Release")]):
            proc = subprocess.run(["gpgv", "--keyring", str(keyring), *argv],
                                  capture_output=True, text=True, check=False)
            assert proc.returncode == 0, proc.stderr
            assert manifest["key_fingerprint"] in proc.stderr


def test_key_dir_is_private_and_outside_dest(built):
    dest, _ = built
    gnupg = dest.parent / "gnupg"
    assert gnupg.is_dir()
    assert gnupg.stat().st_mode & 0o777 == 0o700
    assert not list(dest.rglob("private-keys-v1.d"))


def test_tree_is_world_readable(built):
    dest, _ = built
    for path in [dest, *dest.rglob("*")]:
        assert path.stat().st_mode & 0o005 == (0o005 if path.is_dir() else 0o004), path


def test_indices_match_manifest(built):
    dest, manifest = built
    expected: dict[tuple[str, str], dict[str, str]] = {}
    for pkg in manifest["packages"]:
        for ver in pkg["versions"]:
            for where in ver["published"]:
                key = (where["distribution"], where["component"])
                expected.setdefault(key, {})[pkg["name"]] = ver["version"]
                assert (dest / ver["pool_deb"]).is_file()
            if not ver["published"]:
                assert ver["pool_deb"] is None
    assert set(expected) == {("lab", "main"), ("lab", "faults"), ("lab-security", "main")}
    for (dist, component), versions in expected.items():
        for arch in ("amd64", "arm64"):
            index = dest / "archive/dists" / dist / component / f"binary-{arch}/Packages"
            stanzas = _stanzas(index.read_text())
            assert {s["Package"]: s["Version"] for s in stanzas} == versions
            for stanza in stanzas:
                assert stanza["Architecture"] == "all"
                assert (dest / "archive" / stanza["Filename"]).is_file()


def test_candidates_where_the_manifest_says(built):
    _, manifest = built
    pkgs = _packages(manifest)
    seclib = pkgs["pplab-seclib"]
    assert (seclib["candidate_version"], seclib["candidate_distribution"]) == \
        ("1.0-1+lab1sec1", "lab-security")
    assert [v["published"] for v in seclib["versions"]][0] == \
        [{"distribution": "lab", "component": "main"}]
    for name in ("pplab-fault-postinst", "pplab-fault-crash", "pplab-fault-port",
                 "pplab-fault-noisy", "pplab-fault-http"):
        assert pkgs[name]["candidate_component"] == "faults"
        assert pkgs[name]["seed_version"] == "1.0-1"
        assert pkgs[name]["fault"]
    assert pkgs["pplab-agent-plugins"]["seed_version"] is None
    assert pkgs["pplab-monitor-compat"]["candidate_version"] is None


def test_manifest_truth(built):
    _, manifest = built
    pkgs = _packages(manifest)
    assert pkgs["pplab-seclib"]["classification"] == "security"
    assert pkgs["pplab-seclib"]["cves"] == ["CVE-2026-90001", "CVE-2026-90002"]
    assert pkgs["pplab-web"]["classification"] == "bugfix"
    assert pkgs["pplab-legacy"]["classification"] == "enhancement"
    assert pkgs["pplab-legacy"]["major_upgrade"] is True
    assert [n for n, p in pkgs.items() if p["reboot_required"]] == ["pplab-kernel"]
    assert pkgs["pplab-agent"]["new_dependencies"] == ["pplab-agent-plugins"]
    assert pkgs["pplab-agent-plugins"]["action"] == "install"
    assert pkgs["pplab-monitor"]["removes"] == ["pplab-monitor-compat"]
    assert pkgs["pplab-monitor-compat"]["action"] == "remove"
    assert pkgs["pplab-web"]["services_after"] == [
        {"unit": "pplab-web.service", "port": 8080, "state": "active",
         "journal_errors_per_second": 0}]
    ports = {p["name"]: [s["port"] for s in p["services_before"]] for p in pkgs.values()}
    assert ports["pplab-fault-crash"] == [8081]
    assert ports["pplab-fault-port"] == [8082]
    assert ports["pplab-fault-noisy"] == [8083]
    assert ports["pplab-fault-http"] == [8084]
    assert pkgs["pplab-fault-crash"]["services_after"][0]["state"] == "failed"
    assert pkgs["pplab-fault-port"]["services_after"][0]["port"] is None
    assert pkgs["pplab-fault-noisy"]["services_after"][0]["journal_errors_per_second"] > 0
    # the HTTP fault changes only the answer: the unit stays active on its port, the journal quiet
    assert pkgs["pplab-fault-http"]["services_after"] == [
        {"unit": "pplab-fault-http.service", "port": 8084, "state": "active", "journal_errors_per_second": 0}]
    for pkg in pkgs.values():
        for ver in pkg["versions"]:
            assert ver["changelog_date"].endswith("+0000")
        assert all(cve.startswith("CVE-2026-9") for cve in pkg["cves"])
    assert manifest["apt_sources"] == [
        "deb [signed-by=/etc/apt/keyrings/patchpilot-lab.gpg] "
        "file:/srv/patchpilot-repo/archive lab main",
        "deb [signed-by=/etc/apt/keyrings/patchpilot-lab.gpg] "
        "file:/srv/patchpilot-repo/archive lab-security main",
    ]


# --------------------------------------------------------------------------
# The .deb files.


def test_seed_debs_have_seed_versions(built):
    dest, manifest = built
    seeds = {}
    for deb in sorted((dest / "seed").glob("*.deb")):
        fields = _stanzas(subprocess.run(["dpkg-deb", "-f", str(deb)], capture_output=True,
                                         text=True, check=True).stdout)[0]
        seeds[fields["Package"]] = fields["Version"]
    expected = {p["name"]: p["seed_version"] for p in manifest["packages"] if p["seed_version"]}
    assert seeds == expected
    assert sorted(f"seed/{deb.name}" for deb in (dest / "seed").glob("*.deb")) == \
        manifest["seed"]


def test_reboot_package_postinst(built):
    dest, _ = built
    deb = dest / "archive/pool/main/p/pplab-kernel/pplab-kernel_1.1-1_all.deb"
    info = subprocess.run(["dpkg-deb", "-I", str(deb)], capture_output=True, text=True,
                          check=True).stdout
    assert " postinst " in info
    postinst = subprocess.run(["dpkg-deb", "-I", str(deb), "postinst"], capture_output=True,
                              text=True, check=True).stdout
    assert "/run/reboot-required" in postinst
    assert ">> /run/reboot-required.pkgs" in postinst
    seed = subprocess.run(["dpkg-deb", "-I", str(dest / "seed/pplab-kernel_1.0-1_all.deb"),
                           "postinst"], capture_output=True, text=True, check=True).stdout
    assert "reboot-required" not in seed


def test_service_postinst_never_starts_without_systemd(built):
    dest, _ = built
    script = subprocess.run(["dpkg-deb", "-I", str(dest / "seed/pplab-web_1.0-1_all.deb"),
                             "postinst"], capture_output=True, text=True, check=True).stdout
    assert "systemctl enable pplab-web.service" in script
    start = script.index("systemctl restart pplab-web.service")
    assert "[ -d /run/systemd/system ]" in script[:start]


def test_every_deb_has_changelog_and_copyright(built):
    dest, manifest = built
    debs = list((dest / "seed").glob("*.deb")) + list((dest / "archive/pool").rglob("*.deb"))
    dates = {(p["name"], v["version"]): v["changelog_date"]
             for p in manifest["packages"] for v in p["versions"]}
    assert len(debs) == len(dates) + 1  # seclib 1.0-1 is both a seed and published
    for deb in debs:
        name, version, _ = deb.name.split("_")
        changelog = gzip.decompress(
            _deb_member(deb, f"/usr/share/doc/{name}/changelog.Debian.gz")).decode()
        first = changelog.splitlines()[0]
        assert first.startswith(f"{name} ({version}) lab"), first
        assert f">  {dates[(name, version)]}\n" in changelog
        copyright_ = _deb_member(deb, f"/usr/share/doc/{name}/copyright").decode()
        assert copyright_.startswith("Format: https://www.debian.org/doc/packaging-manuals/")
    security = gzip.decompress(_deb_member(
        dest / "archive/pool/main/p/pplab-seclib/pplab-seclib_1.0-1+lab1sec1_all.deb",
        "/usr/share/doc/pplab-seclib/changelog.Debian.gz")).decode()
    assert "CVE-2026-90001" in security and "lab-security; urgency=high" in security


def test_package_build_is_reproducible(tmp_path):
    pkg = spec.package("pplab-web")
    ver = pkg.version("1.0-2")
    env = repo._tool_env()
    tools = repo._require_tools(env)
    digests = set()
    for run in ("a", "b"):
        out = tmp_path / run / "out"
        out.mkdir(parents=True)
        deb = repo._build_deb(pkg, ver, tmp_path / run / "work", out, tools, env)
        digests.add(deb.read_bytes())
    assert len(digests) == 1


# --------------------------------------------------------------------------
# Cache, force, and errors.


def test_second_build_is_cached_and_force_rebuilds(built):
    dest, manifest = built
    before = (dest / "manifest.json").stat().st_ino
    again = repo.build_repo(dest)
    assert again == manifest
    assert (dest / "manifest.json").stat().st_ino == before
    rebuilt = repo.build_repo(dest, force=True)
    assert (dest / "manifest.json").stat().st_ino != before
    assert rebuilt["key_fingerprint"] == manifest["key_fingerprint"]
    assert rebuilt["spec_hash"] == manifest["spec_hash"]
    leftovers = [p.name for p in dest.parent.iterdir() if ".build-" in p.name or ".old-" in p.name]
    assert leftovers == []


def test_cli_manifest_prints_the_manifest(built):
    dest, manifest = built
    proc = _run_cli("manifest", dest)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["spec_hash"] == manifest["spec_hash"]


def test_dest_that_is_a_file(tmp_path):
    dest = tmp_path / "repo"
    dest.write_text("not a directory")
    with pytest.raises(repo.RepoError, match="not a directory"):
        repo.build_repo(dest)
    proc = _run_cli("build", dest)
    assert proc.returncode == 2
    assert proc.stderr.startswith("repo: error: ") and "not a directory" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_manifest_of_missing_repo(tmp_path):
    proc = _run_cli("manifest", tmp_path / "nothing")
    assert proc.returncode == 2
    assert proc.stderr.startswith("repo: error: no repository at ")
    assert "Traceback" not in proc.stderr


def _path_without(tmp_path: Path, missing: str, fake: dict[str, str] | None = None) -> str:
    """A PATH holding only the tools we need, minus one, plus fake scripts."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("gpg", "gpgv", "gpgconf", "gpg-agent", "dpkg-deb", "reprepro", "tar",
                 "xz", "gzip", "dpkg"):
        real = shutil.which(tool)
        if tool != missing and real:
            (bin_dir / tool).symlink_to(real)
    for tool, text in (fake or {}).items():
        (bin_dir / tool).unlink(missing_ok=True)
        (bin_dir / tool).write_text(text)
        (bin_dir / tool).chmod(0o755)
    return str(bin_dir)


def test_missing_reprepro(tmp_path, monkeypatch):
    path = _path_without(tmp_path, "reprepro")
    dest = tmp_path / "repo"
    monkeypatch.setenv("PATH", path)
    with pytest.raises(repo.RepoError, match="'reprepro' not found"):
        repo.build_repo(dest)
    monkeypatch.undo()
    proc = _run_cli("build", dest, env=dict(os.environ, PATH=path))
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("repo: error: required tool 'reprepro' not found")
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not dest.exists()


def test_failing_tool_leaves_previous_repo_intact(tmp_path, monkeypatch, built):
    good, manifest = built
    dest = tmp_path / "repo"
    shutil.copytree(good, dest, symlinks=True)
    shutil.copytree(good.parent / "gnupg", tmp_path / "gnupg", symlinks=True,
                    ignore=shutil.ignore_patterns("S.*"))
    fake = "#!/bin/sh\necho 'Error: simulated reprepro failure' >&2\nexit 254\n"
    monkeypatch.setenv("PATH", _path_without(tmp_path, "", {"reprepro": fake}))
    with pytest.raises(repo.RepoError,
                       match=r"^reprepro includedeb .* failed \(exit 254\): Error: simulated"):
        repo.build_repo(dest, force=True)
    assert json.loads((dest / "manifest.json").read_text()) == manifest
    assert sorted(p.name for p in tmp_path.iterdir()) == [".repo.lock", "bin", "gnupg", "repo"]


# --------------------------------------------------------------------------
# End to end: apt itself against the built file: repository.

PENDING_MAIN = {
    "pplab-seclib": ("1.0-1+lab1sec1", "lab-security"),
    "pplab-web": ("1.0-2", "lab"),
    "pplab-kernel": ("1.1-1", "lab"),
    "pplab-agent": ("1.1-1", "lab"),
    "pplab-agent-plugins": ("1.1-1", "lab"),
    "pplab-legacy": ("2.0-1", "lab"),
    "pplab-monitor": ("1.1-1", "lab"),
}
PENDING_FAULTS = {
    name: ("1.1-1", "lab")
    for name in ("pplab-fault-postinst", "pplab-fault-crash", "pplab-fault-port",
                 "pplab-fault-noisy", "pplab-fault-http")
}


def _apt(tmp: Path, dest: Path, arch: str, faults: bool):
    """A private apt (own sources, state, cache, config) seeing only the lab repo."""
    for sub in ("state/lists/partial", "cache/archives/partial", "empty", "log"):
        (tmp / sub).mkdir(parents=True, exist_ok=True)
    archive = dest / "archive"
    keyring = archive / "patchpilot-lab.gpg"
    components = "main faults" if faults else "main"
    (tmp / "sources.list").write_text(
        f"deb [signed-by={keyring}] file:{archive} lab {components}\n"
        f"deb [signed-by={keyring}] file:{archive} lab-security main\n")
    status = []
    for deb in sorted((dest / "seed").glob("*.deb")):
        control = subprocess.run(["dpkg-deb", "-f", str(deb)], capture_output=True, text=True,
                                 check=True).stdout
        status.append(control.rstrip("\n") + "\nStatus: install ok installed\n")
    status.append(f"Package: python3\nStatus: install ok installed\nPriority: optional\n"
                  f"Version: 3.11.2-1+b1\nArchitecture: {arch}\nMaintainer: stub\n"
                  "Description: stand-in for the hosts' python3\n")
    (tmp / "status").write_text("\n".join(status))
    (tmp / "apt.conf").write_text(
        f'Dir::Etc::main "/dev/null";\nDir::Etc::parts "{tmp}/empty";\n'
        f'APT::Architectures {{ "{arch}"; }};\n')
    options = {
        "Dir::Etc::sourcelist": tmp / "sources.list",
        "Dir::Etc::sourceparts": tmp / "empty",
        "Dir::Etc::preferences": tmp / "empty/preferences",
        "Dir::Etc::preferencesparts": tmp / "empty",
        "Dir::Etc::Trusted": tmp / "empty/trusted.gpg",
        "Dir::Etc::TrustedParts": tmp / "empty",
        "Dir::State": tmp / "state",
        "Dir::State::status": tmp / "status",
        "Dir::Cache": tmp / "cache",
        "Dir::Log": tmp / "log",
        "Debug::NoLocking": 1,
        "APT::Architecture": arch,
        "APT::Sandbox::User": "root",
        "Acquire::Languages": "none",
    }
    argv = ["apt-get", "-q"] + [arg for key, value in options.items()
                                for arg in ("-o", f"{key}={value}")]
    env = dict(os.environ, APT_CONFIG=str(tmp / "apt.conf"), LC_ALL="C")

    def run(*args):
        proc = subprocess.run(argv + list(args), capture_output=True, text=True, env=env,
                              check=False, timeout=60)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc.stdout + proc.stderr

    return run


def _simulated(output: str):
    installs, removals = {}, set()
    for line in output.splitlines():
        words = line.split()
        if line.startswith("Inst "):
            # Inst NAME [OLD] (NEW LABEL:SUITE [all])
            new = line[line.index("(") + 1:].split()
            installs[words[1]] = (new[0], new[-2].rsplit(":", 1)[-1])
        elif line.startswith("Remv "):
            removals.add(words[1])
    return installs, removals


@pytest.mark.parametrize("arch, faults", [("amd64", False), ("amd64", True), ("arm64", False)])
def test_apt_sees_the_pending_set(built, tmp_path, arch, faults):
    dest, _ = built
    apt = _apt(tmp_path, dest, arch, faults)
    update = apt("update")
    assert "W:" not in update and "E:" not in update, update
    installs, removals = _simulated(apt("-s", "dist-upgrade"))
    expected = dict(PENDING_MAIN, **(PENDING_FAULTS if faults else {}))
    assert installs == expected
    assert removals == {"pplab-monitor-compat"}
    # apt-get upgrade neither installs nor removes: agent and monitor stay back.
    installs, removals = _simulated(apt("-s", "upgrade"))
    assert set(installs) == set(expected) - {"pplab-agent", "pplab-agent-plugins",
                                             "pplab-monitor"}
    assert removals == set()


def test_apt_pending_set_matches_manifest(built):
    _, manifest = built
    pending = {p["name"]: (p["candidate_version"], p["candidate_distribution"])
               for p in manifest["packages"] if p["action"] in ("upgrade", "install")}
    assert pending == dict(PENDING_MAIN, **PENDING_FAULTS)
    kept = {p["name"] for p in manifest["packages"] if p["kept_back_by_apt_get_upgrade"]}
    assert kept == {"pplab-agent", "pplab-monitor"}


def test_spec_versions_ascending_and_unique():
    names = [pkg.name for pkg in spec.PACKAGES]
    assert len(names) == len(set(names)) and all(n.startswith("pplab-") for n in names)
    for pkg in spec.PACKAGES:
        for older, newer in zip(pkg.versions, pkg.versions[1:]):
            proc = subprocess.run(["dpkg", "--compare-versions", older.version, "lt",
                                   newer.version], check=False)
            assert proc.returncode == 0, (pkg.name, older.version, newer.version)
            assert older.epoch < newer.epoch
