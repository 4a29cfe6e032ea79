"""package_plans: the package lists the stage, snapshot and rollback roles derive from a plan entry."""

from __future__ import annotations

from ansible_collections.patchpilot.fleet.plugins.module_utils.package_plans import (
    dnf_expected,
    dnf_spec,
    download_list,
    packages_to_keep,
    plan_names,
    plan_versions_installed,
    staged_packages,
    version_drift,
)

ENTRY = {"packages": [{"name": "pp-web", "version": "1.1-1", "from_version": "1.0-1"},
                      {"name": "pp-lib", "version": 2, "from_version": None},
                      {"name": "passwd", "version": "1:4.14-1", "from_version": "1:4.13-1"}],
         "removals": ["pp-legacy", {"name": "pp-old", "from_version": "0.8-1"}]}
VERSIONS = {"pp-web": "1.0-1", "passwd": "1:4.13-2", "pp-legacy": "0.9-1", "pp-old": "0.8-1"}
ARCHS = {"pp-web": "all", "passwd": "amd64", "pp-legacy": "all", "pp-old": "all"}


def test_plan_names_and_download_list():
    assert plan_names(ENTRY) == ["passwd", "pp-legacy", "pp-lib", "pp-old", "pp-web"]
    assert download_list(ENTRY) == [{"name": "pp-web", "version": "1.1-1"}, {"name": "pp-lib", "version": "2"},
                                    {"name": "passwd", "version": "1:4.14-1"}]
    assert plan_names({}) == [] and download_list(None) == []


def test_packages_to_keep_are_the_changed_and_removed_ones_installed():
    assert packages_to_keep(ENTRY, VERSIONS, ARCHS) == [
        {"name": "passwd", "version": "1:4.13-2", "arch": "amd64"},
        {"name": "pp-legacy", "version": "0.9-1", "arch": "all"},
        {"name": "pp-old", "version": "0.8-1", "arch": "all"},
        {"name": "pp-web", "version": "1.0-1", "arch": "all"}]


def test_version_drift_names_what_the_plan_did_not_expect():
    assert version_drift(ENTRY, VERSIONS) == [{"name": "passwd", "planned": "1:4.13-1", "installed": "1:4.13-2"}]


def test_plan_versions_installed():
    assert plan_versions_installed(ENTRY, VERSIONS) == {"pp-web": "1.0-1", "passwd": "1:4.13-2"}


def test_dnf_names():
    assert dnf_spec({"name": "pprpm-seclib", "version": "1.0-2", "arch": "noarch"}) == "pprpm-seclib-1.0-2.noarch"
    assert dnf_spec({"name": "pprpm-seclib", "version": "1.0-2"}) == "pprpm-seclib-1.0-2"


def test_dnf_expected_and_missing():
    results = [
        {"item": {"name": "pprpm-seclib", "version": "1.0-2"}, "rc": 0,
         "stdout": "pprpm-seclib 0:1.0-2 noarch pool/pprpm-seclib-1.0-2.noarch.rpm\n", "stderr": ""},
        {"item": {"name": "pprpm-gone", "version": "9"}, "rc": 0, "stdout": "", "stderr": ""},
        {"item": {"name": "pprpm-err", "version": "1"}, "rc": 1, "stdout": "", "stderr": "Error:\n  repo  down\n"},
    ]
    assert dnf_expected(results) == {
        "missing": ["pprpm-gone-9 (no such version)", "pprpm-err-1 (Error: repo down)"],
        "expected": [{"name": "pprpm-seclib", "version": "1.0-2", "arch": "noarch",
                      "file": "pprpm-seclib-1.0-2.noarch.rpm", "evr": "0:1.0-2"}]}


def test_staged_packages_from_deb_files_or_stat():
    deb = {"name": "pp-web", "version": "1.1-1", "arch": "all", "file": "pp-web_1.1-1_all.deb", "sha256": "ab",
           "size": 3, "method": "download"}
    stat = {"item": {"name": "pprpm-seclib", "version": "1.0-2", "arch": "noarch", "file": "f.rpm", "evr": "0:1.0-2"},
            "stat": {"checksum": "cd", "size": 5}}
    assert staged_packages([deb, stat]) == [
        {"name": "pp-web", "version": "1.1-1", "arch": "all", "file": "pp-web_1.1-1_all.deb", "sha256": "ab", "size": 3},
        {"name": "pprpm-seclib", "version": "1.0-2", "arch": "noarch", "file": "f.rpm", "sha256": "cd", "size": 5}]
