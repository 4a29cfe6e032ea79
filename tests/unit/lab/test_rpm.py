"""The RPM variant of the lab: LAB_RPM_HOSTS, its hosts' place in the lab, and the RPM repository builder.

The repository is built for real (rpmbuild, createrepo_c, modifyrepo_c) when
those tools are on PATH; the host image needs podman and is covered by the lab
tests (tests/lab/test_rpm_backends.py).
"""

from __future__ import annotations

import csv
import gzip
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from patchpilot_lab import config, lifecycle, rpm
from patchpilot_lab.system import LabError
from support.skips import require_tools

RPM_TOOLS = ("rpmbuild", "createrepo_c", "modifyrepo_c", "rpm")
RPM_TOOLS_HINT = "apt-get install rpm createrepo-c; ./dev setup installs them"
needs_rpm_tools = pytest.mark.usefixtures("rpm_tools")
REPO_NS = "{http://linux.duke.edu/metadata/repo}"


# --- settings and the fleet ---------------------------------------------------------

def test_no_rpm_hosts_by_default_and_the_fleet_is_unchanged():
    plain = config.from_env({"LAB_HOSTS": "5"})
    assert plain.rpm_hosts == 0
    with_rpm = config.from_env({"LAB_HOSTS": "5", "LAB_RPM_HOSTS": "2"})
    hosts = config.fleet(with_rpm)
    assert hosts[:5] == config.fleet(plain)
    assert [(h.name, h.role, h.release, h.rpm) for h in hosts[5:]] == [
        ("rpm01", "rpm", "12", True), ("rpm02", "rpm", "12", True)]
    assert not any(h.rpm for h in hosts[:5])
    for attr in ("name", "ip", "mac", "ssh_port", "container"):
        assert len({getattr(h, attr) for h in hosts}) == 7, attr
    assert [h.ssh_port for h in hosts] == list(range(2201, 2208))
    assert {h.location for h in hosts[5:]} == set(config.LOCATIONS)


@pytest.mark.parametrize("env, message", [
    ({"LAB_RPM_HOSTS": "x"}, "LAB_RPM_HOSTS='x' is not a whole number"),
    ({"LAB_RPM_HOSTS": "-1"}, "LAB_RPM_HOSTS='-1' is not a whole number"),
    ({"LAB_RPM_HOSTS": "201"}, "LAB_RPM_HOSTS=201 is out of range (expected 0..200)"),
    ({"LAB_HOSTS": "200", "LAB_RPM_HOSTS": "1"}, "LAB_HOSTS=200 plus LAB_RPM_HOSTS=1 is more than 200 hosts"),
    ({"LAB_RPM_HOSTS": "1", "LAB_REAL": "1"}, "LAB_RPM_HOSTS=1 cannot be combined with LAB_REAL"),
])
def test_bad_rpm_settings_are_named(env, message):
    with pytest.raises(LabError) as err:
        config.from_env(env)
    assert message in str(err.value)


def test_rpm_hosts_in_inventory_cmdb_and_podman_run(tmp_path):
    cfg = config.from_env({"LAB_HOSTS": "1", "LAB_RPM_HOSTS": "1", "LAB_PREFIX": "ppunit",
                           "LAB_STATE_DIR": str(tmp_path / "state"), "LAB_INVENTORY_DIR": str(tmp_path / "inv"),
                           "LAB_CACHE_DIR": str(tmp_path / "cache")})
    web, rpm01 = config.fleet(cfg)
    lifecycle.write_inventory(cfg, [web, rpm01])
    inventory = (tmp_path / "inv" / "hosts.yml").read_text(encoding="utf-8")
    assert "    rpm:\n      hosts:\n        rpm01: {}\n" in inventory
    assert "    debian12:\n      hosts:\n        rpm01: {}\n" in inventory
    rows = {r["hostname"]: r for r in csv.DictReader((tmp_path / "inv" / "cmdb.csv").open(encoding="utf-8"))}
    assert rows["rpm01"]["os_distribution"] == "Debian (RPM variant)"
    assert rows["web01"]["os_distribution"] == "Debian"
    assert (rows["rpm01"]["os_version"], rows["rpm01"]["role"]) == ("12", "rpm")

    argv = lifecycle._run_argv(cfg, rpm01)
    assert argv[-2:] == [rpm.host_image(), "/sbin/init"]
    assert f"{tmp_path / 'cache' / 'rpm-repo'}:{rpm.RPM_MOUNT}:ro" in argv
    plain = lifecycle._run_argv(cfg, web)
    assert plain[-2] == "localhost/patchpilot-lab/host:debian11"
    assert not any(rpm.RPM_MOUNT in a for a in plain)


def test_provision_script_keeps_the_build_mirror_for_the_build_only():
    script = rpm.provision_script("http://deb.example.org/debian", {"seed": ["repo/Packages/a-1-1.noarch.rpm"]})
    lines = script.splitlines()
    added = lines.index("echo 'deb http://deb.example.org/debian bookworm main' > "
                        "/etc/apt/sources.list.d/patchpilot-build.list")
    removed = lines.index("rm -f /etc/apt/sources.list.d/patchpilot-build.list")
    assert added < removed
    assert "apt-get install -y -q --no-install-recommends dnf rpm createrepo-c zypper python3-dnf" in lines
    # After the mirror is gone, apt's lists are rebuilt from the lab source alone.
    assert lines.index("apt-get update -q", removed) > removed
    assert "echo '%_dbpath /var/lib/rpm' > /etc/rpm/macros.patchpilot-lab" in lines
    assert f"rpm -i --force-debian {rpm.RPM_MOUNT}/repo/Packages/a-1-1.noarch.rpm" in lines
    assert f"baseurl=file://{rpm.RPM_MOUNT}/repo" in script


# --- the repository ---------------------------------------------------------------------

@pytest.fixture
def rpm_tools():
    require_tools(*RPM_TOOLS, hint=RPM_TOOLS_HINT)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    require_tools(*RPM_TOOLS, hint=RPM_TOOLS_HINT)
    dest = tmp_path_factory.mktemp("lab") / "rpm-repo"
    return dest, rpm.build_rpm_repo(dest, install=False)


def _query(path: Path, fmt: str) -> str:
    return subprocess.run(["rpm", "-qp", "--qf", fmt, str(path)], capture_output=True, text=True,
                          check=True).stdout


@needs_rpm_tools
def test_repository_has_both_versions_of_every_package(built):
    dest, manifest = built
    files = sorted(p.name for p in (dest / "repo" / "Packages").iterdir())
    assert files == sorted(pkg.filename(which) for pkg in rpm.PACKAGES for which in ("old", "new"))
    for pkg in rpm.PACKAGES:
        for which in ("old", "new"):
            fields = _query(dest / "repo" / "Packages" / pkg.filename(which),
                            "%{NAME} %{EPOCHNUM} %{VERSION}-%{RELEASE} %{ARCH} %{VENDOR}")
            version, release = pkg.old if which == "old" else pkg.new
            assert fields == f"{pkg.name} {pkg.epoch} {version}-{release} noarch {rpm.VENDOR}"
    assert all((dest / path).is_file() for path in manifest["seed"])


@needs_rpm_tools
def test_updateinfo_is_in_repodata_and_holds_the_advisories(built):
    dest, manifest = built
    repomd = ET.parse(dest / "repo" / "repodata" / "repomd.xml").getroot()
    locations = {d.get("type"): d.find(f"{REPO_NS}location").get("href") for d in repomd.iter(f"{REPO_NS}data")}
    assert {"primary", "filelists", "other", "updateinfo"} <= set(locations)
    updates = ET.fromstring(gzip.decompress((dest / "repo" / locations["updateinfo"]).read_bytes()))
    found = {}
    for update in updates.iter("update"):
        found[update.findtext("id")] = {
            "type": update.get("type"), "severity": update.findtext("severity"),
            "issued": update.find("issued").get("date")[:10],
            "cves": [r.get("id") for r in update.iter("reference") if r.get("type") == "cve"],
            "packages": [p.get("name") for p in update.iter("package")],
            "reboot": [p.findtext("reboot_suggested") for p in update.iter("package")],
        }
    assert found == {
        "PPRPM-SA-2026-0001": {"type": "security", "severity": "Important", "issued": "2026-03-02",
                               "cves": ["CVE-2026-91001", "CVE-2026-91002"], "packages": ["pprpm-seclib"],
                               "reboot": [None]},
        "PPRPM-BA-2026-0002": {"type": "bugfix", "severity": "Moderate", "issued": "2026-02-16", "cves": [],
                               "packages": ["pprpm-tools", "pprpm-tools-libs"], "reboot": [None, None]},
        "PPRPM-EA-2026-0003": {"type": "enhancement", "severity": None, "issued": "2026-03-09", "cves": [],
                               "packages": ["pprpm-kernel"], "reboot": ["True"]},
    }
    assert [a["id"] for a in manifest["advisories"]] == list(found)


@needs_rpm_tools
def test_manifest_is_the_pending_set(built):
    _, manifest = built
    assert {p["name"]: (p["seed_version"], p["candidate_version"], p["advisory"]) for p in manifest["packages"]} == {
        "pprpm-seclib": ("1.0-1", "1.0-2", "PPRPM-SA-2026-0001"),
        "pprpm-tools": ("1.0-1", "1.1-1", "PPRPM-BA-2026-0002"),
        "pprpm-tools-libs": ("1:1.0-1", "1:1.1-1", "PPRPM-BA-2026-0002"),
        "pprpm-kernel": ("1.0-1", "1.1-1", "PPRPM-EA-2026-0003"),
        "pprpm-extra": ("1.0-1", "1.0-2", None),
    }
    assert manifest["repository"] == {"id": "patchpilot-lab", "name": "Patchpilot Lab RPM repository",
                                      "baseurl": "file:///srv/patchpilot-rpm/repo"}


@needs_rpm_tools
def test_second_build_is_cached_and_force_rebuilds(built):
    dest, manifest = built
    stamp = (dest / "repo" / "repodata" / "repomd.xml").stat().st_mtime_ns
    assert rpm.build_rpm_repo(dest, install=False) == manifest
    assert (dest / "repo" / "repodata" / "repomd.xml").stat().st_mtime_ns == stamp
    rpm.build_rpm_repo(dest, force=True, install=False)
    assert (dest / "repo" / "repodata" / "repomd.xml").stat().st_mtime_ns != stamp
    assert not [p for p in dest.parent.iterdir() if p.name.startswith(".rpm-repo")], "build leftovers"


def test_missing_tools_without_install_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(LabError, match="missing tools for the RPM repository: rpmbuild, createrepo_c, modifyrepo_c"):
        rpm.build_rpm_repo(tmp_path / "rpm-repo", install=False)
    assert not (tmp_path / "rpm-repo").exists()


@pytest.mark.parametrize("no_install", ["", "1"])
def test_lab_setup_installs_the_rpm_build_tools(monkeypatch, no_install):
    """`lab setup` (run by ./dev setup and ./dev test) brings rpm and createrepo-c, not only `lab up` with RPM hosts."""
    calls = []
    monkeypatch.setattr(lifecycle, "_preflight", lambda cfg: calls.append("preflight"))
    monkeypatch.setattr(rpm, "ensure_build_tools", lambda install=True: calls.append(("rpm tools", install)))
    lifecycle.setup(config.from_env({"LAB_NO_INSTALL": no_install}))
    assert calls == ["preflight", ("rpm tools", not no_install)]
