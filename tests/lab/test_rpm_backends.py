"""The dnf and zypper backends on the lab's RPM host find exactly its pending advisories.

The host (``rpm01``, from ``LAB_RPM_HOSTS``) is Debian 12 with Debian's dnf,
zypper and rpm, the OLD versions of the lab's RPM packages installed, and a
``file://`` repository whose updateinfo holds three advisories (see
lab/patchpilot_lab/rpm.py and its manifest.json).

The backends' commands run on the host through real Ansible runs (ad-hoc
``ansible.builtin.command`` with an argv, become as the inventory says), and
their captured output goes to the backends' parsers on the controller. The
test also asks dnf and zypper itself, in their plainest listings, and compares.
"""

from __future__ import annotations

import json
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from labkit import ROOT, _ansible

COLLECTIONS = ROOT / ".ansible" / "collections"
if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))

from ansible_collections.patchpilot.fleet.plugins.module_utils.backends import dnf, zypper  # noqa: E402
from ansible_collections.patchpilot.fleet.plugins.module_utils.records import normalise_severity  # noqa: E402

pytestmark = pytest.mark.lab

JSON_CALLBACK = {"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json", "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1"}


@pytest.fixture(scope="module")
def rpm_host(lab) -> dict:
    hosts = [h for h in lab.hosts if h["role"] == "rpm"]
    if not hosts:
        pytest.fail("the suite's lab has no RPM host (tests/lab/labkit.py TEST_ENV sets LAB_RPM_HOSTS=1)")
    return hosts[0]


@pytest.fixture(scope="module")
def rpm_manifest(lab) -> dict:
    return json.loads((Path(lab.state["rpm_repo_dir"]) / "manifest.json").read_text(encoding="utf-8"))


class AnsibleRun:
    """``run(argv) -> (rc, stdout, stderr)`` for a backend: one ad-hoc Ansible command per call."""

    def __init__(self, lab, host: str):
        self.lab, self.host, self.calls = lab, host, []

    def __call__(self, argv):
        self.calls.append(list(argv))
        proc = _ansible("ansible", "-i", self.lab.inventory, self.host, "-m", "ansible.builtin.command",
                        "-a", json.dumps({"argv": list(argv)}), check=False, timeout=300,
                        extra_env=JSON_CALLBACK)
        try:
            data = json.loads(proc.stdout)
            result = data["plays"][0]["tasks"][0]["hosts"][self.host]
        except (ValueError, KeyError, IndexError) as exc:
            raise AssertionError(f"no result from ansible for {argv}: {proc.stdout[-3000:]}{proc.stderr[-2000:]}") \
                from exc
        assert "rc" in result, f"{argv} did not run: {result.get('msg')}"
        return result["rc"], result.get("stdout", ""), result.get("stderr", "")


def options(manifest: dict, update_cache: bool) -> dict:
    return {"update_cache": update_cache, "vendor_origins": [manifest["vendor"]],
            "reboot_packages": ["pprpm-kernel"], "releasever": manifest["releasever"]}


@pytest.fixture(scope="module")
def scans(lab, rpm_host, rpm_manifest) -> dict:
    """Each backend's records: first refreshing the metadata, then from the cache alone (as in check mode)."""
    found = {}
    for backend in (dnf, zypper):
        name = backend.__name__.rsplit(".", 1)[-1]
        for update_cache in (True, False):
            run = AnsibleRun(lab, rpm_host["name"])
            records = backend.collect(run, options(rpm_manifest, update_cache))
            found[(name, update_cache)] = {r.name: r.as_dict() for r in records}
            found[(name, update_cache, "calls")] = run.calls
    return found


def expected_records(manifest: dict) -> dict:
    """What every backend must report, from the lab's manifest alone."""
    advisories = {a["id"]: a for a in manifest["advisories"]}
    expected = {}
    for pkg in manifest["packages"]:
        adv = advisories.get(pkg["advisory"]) if pkg["advisory"] else None
        expected[pkg["name"]] = {
            "installed_version": pkg["seed_version"], "candidate_version": pkg["candidate_version"],
            "arch": pkg["arch"], "advisories": [adv["id"]] if adv else [],
            "classification": adv["type"] if adv else "other",
            "severity": normalise_severity(adv["severity"]) if adv else None,
            "cves": sorted(adv["cves"]) if adv else [],
            "released": adv["issued"] if adv else None,
            "reboot": pkg["name"] == "pprpm-kernel",
            "source": {"repository": manifest["repository"]["id"], "origin": manifest["vendor"],
                       "label": manifest["repository"]["name"], "suite": None},
            "effect": "upgrade",
        }
    return expected


def test_manifest_describes_three_advisories_and_one_package_without(rpm_manifest):
    assert len(rpm_manifest["advisories"]) == 3
    assert {a["type"] for a in rpm_manifest["advisories"]} == {"security", "bugfix", "enhancement"}
    assert [p["name"] for p in rpm_manifest["packages"] if not p["advisory"]] == ["pprpm-extra"]


@pytest.mark.parametrize("name", ["dnf", "zypper"])
def test_backend_finds_exactly_the_pending_advisories(scans, rpm_manifest, name):
    records = scans[(name, True)]
    expected = expected_records(rpm_manifest)
    assert sorted(records) == sorted(expected)
    for pkg, want in expected.items():
        got = records[pkg]
        assert {k: got[k] for k in want} == want, pkg
        assert got["backend"] == name
    # The scan from the cache alone (what check mode does) finds the same, and refreshes nothing.
    assert scans[(name, False)] == records
    refreshing = [" ".join(argv) for argv in scans[(name, False, "calls")] if {"makecache", "refresh"} & set(argv)]
    assert not refreshing


def test_dnf_itself_lists_the_same_advisories(lab, rpm_host, rpm_manifest, scans):
    """`dnf updateinfo list` (and --with-cve), read here without the backend's parser."""
    releasever = f"--releasever={rpm_manifest['releasever']}"
    out = lab.ssh(rpm_host, f"sudo LANG=C dnf -q {releasever} updateinfo list").stdout
    listed = {}
    for line in out.splitlines():
        advisory, label, nevra = line.split()
        listed.setdefault(advisory, set()).add((re.sub(r"-[^-]+-[^-]+\.noarch$", "", nevra), label))
    cves = {}
    out = lab.ssh(rpm_host, f"sudo LANG=C dnf -q {releasever} updateinfo list --with-cve").stdout
    for line in out.splitlines():
        cve, _label, nevra = line.split()
        cves.setdefault(re.sub(r"-[^-]+-[^-]+\.noarch$", "", nevra), set()).add(cve)
    labels = {"security": "{severity}/Sec.", "bugfix": "bugfix", "enhancement": "enhancement"}
    assert listed == {
        a["id"]: {(p, labels[a["type"]].format(severity=a["severity"])) for p in a["packages"]}
        for a in rpm_manifest["advisories"]}
    assert cves == {p: set(a["cves"]) for a in rpm_manifest["advisories"] if a["cves"] for p in a["packages"]}

    records = scans[("dnf", False)]
    assert {a: {p for p, _ in pkgs} for a, pkgs in listed.items()} == {
        a: {n for n, r in records.items() if a in r["advisories"]} for a in listed}
    assert {n: set(r["cves"]) for n, r in records.items() if r["cves"]} == cves


def test_zypper_itself_lists_the_same_patches(lab, rpm_host, rpm_manifest, scans):
    """`zypper --xmlout list-patches`, read here without the backend's parser."""
    out = lab.ssh(rpm_host, "sudo LANG=C zypper --non-interactive --xmlout list-patches --with-optional").stdout
    patches = {}
    for update in ET.fromstring(out).iter("update"):
        patches[update.get("name")] = {
            "category": update.get("category"), "severity": update.get("severity") or None,
            "cves": sorted(i.get("id") for i in update.iter("issue") if i.get("type") == "cve"),
            "reboot": update.get("restart") == "true", "status": update.get("status")}
    assert patches == {
        a["id"]: {"category": a["type"], "severity": a["severity"].lower() if a["severity"] else None,
                  "cves": sorted(a["cves"]), "reboot": a["reboot_suggested"], "status": "needed"}
        for a in rpm_manifest["advisories"]}

    records = scans[("zypper", False)]
    for patch_id, patch in patches.items():
        covered = [r for r in records.values() if patch_id in r["advisories"]]
        assert covered, patch_id
        for rec in covered:
            assert rec["severity"] == normalise_severity(patch["severity"])
            assert set(patch["cves"]) <= set(rec["cves"])
            assert rec["reboot"] is patch["reboot"]
    assert [n for n, r in records.items() if not r["advisories"]] == ["pprpm-extra"]


def test_dnf_and_zypper_agree_on_the_host(scans):
    """Every backend yields the same record: all fields but the backend's name agree."""
    from_dnf = {n: dict(r, backend=None) for n, r in scans[("dnf", True)].items()}
    from_zypper = {n: dict(r, backend=None) for n, r in scans[("zypper", True)].items()}
    assert from_dnf == from_zypper


def test_only_the_lab_rpm_repository_is_configured(lab, rpm_host, rpm_manifest):
    out = lab.ssh(rpm_host, "sudo LANG=C zypper --non-interactive --xmlout repos").stdout
    repos = [(r.get("alias"), r.findtext("url")) for r in ET.fromstring(out).iter("repo")]
    assert repos == [(rpm_manifest["repository"]["id"], f"file:{rpm_manifest['mount']}/repo")]
    out = lab.ssh(rpm_host, f"sudo LANG=C dnf -q --releasever={rpm_manifest['releasever']} repolist --all").stdout
    assert [line.split()[0] for line in out.splitlines()[1:]] == [rpm_manifest["repository"]["id"]]
    # One rpm database for rpm, dnf and zypper.
    assert lab.ssh(rpm_host, "rpm --eval '%_dbpath'").stdout.strip() == "/var/lib/rpm"


@pytest.mark.parametrize("backend", ["dnf", "zypper"])
def test_missing_updates_module_on_the_rpm_host(lab, rpm_host, rpm_manifest, backend):
    """Through the module itself (shipped with its backends), in check mode and for real."""
    expected = expected_records(rpm_manifest)
    args = (f"backend={backend} releasever={rpm_manifest['releasever']} "
            f"vendor_origins='{rpm_manifest['vendor']}' reboot_packages=pprpm-kernel")
    for extra in ((), ("--check",)):
        result = lab.ansible_json(rpm_host["name"], *extra, "-m", "patchpilot.fleet.missing_updates", "-a", args)
        result = result[rpm_host["name"]]
        assert not result.get("failed"), result
        got = {r["name"]: r for r in result["updates"]}
        assert set(got) == set(expected)
        for name, record in got.items():
            assert record["backend"] == backend
            want = dict(expected[name], backend=backend)
            assert {k: record[k] for k in want} == want, name
