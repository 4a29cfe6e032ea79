"""Parsing the package managers' answers about offered versions (apt-cache policy, dnf list) and rpm's order."""

from pathlib import Path

import pytest

from ansible_collections.patchpilot.fleet.plugins.module_utils.candidates import (
    CandidatesError,
    compare_rpm,
    dnf_candidates,
    parse_apt_policy,
    parse_dnf_list,
)

FIXTURES = Path(__file__).parent / "fixtures" / "candidates"


def fixture(name):
    return (FIXTURES / name).read_text(encoding="utf-8")


def test_recorded_apt_policy_of_a_lab_host():
    found = parse_apt_policy(fixture("apt-policy-bookworm.txt"))
    assert set(found) == {"pplab-seclib", "pplab-web"}, "apt prints nothing for an unknown name"
    assert found["pplab-seclib"] == {
        "installed": "1.0-1", "candidate": "1.0-1+lab1sec1",
        "versions": [
            {"version": "1.0-1+lab1sec1", "repositories": ["file:/srv/patchpilot-repo/archive lab-security/main amd64 Packages"]},
            {"version": "1.0-1", "repositories": ["file:/srv/patchpilot-repo/archive lab/main amd64 Packages"]},
        ]}
    # the installed 1.0-1 of pplab-web is in no repository any more: only dpkg's status knows it
    assert found["pplab-web"]["versions"] == [
        {"version": "1.0-2", "repositories": ["file:/srv/patchpilot-repo/archive lab/main amd64 Packages"]},
        {"version": "1.0-1", "repositories": []},
    ]


def test_apt_policy_with_an_extra_source_a_pin_and_none():
    found = parse_apt_policy(fixture("apt-policy-moved.txt"))
    assert found["pplab-seclib"]["candidate"] == "1.0-1+lab1sec2"
    assert [v["version"] for v in found["pplab-seclib"]["versions"]] == ["1.0-1+lab1sec2", "1.0-1+lab1sec1", "1.0-1"]
    assert found["pplab-seclib"]["versions"][0]["repositories"] == ["file:/var/tmp/pp-moved ./ Packages"]
    assert found["pplab-web"] == {"installed": "1.0-1", "candidate": "1.0-1", "versions": [
        {"version": "1.0-1", "repositories": ["file:/srv/patchpilot-repo/archive lab/main amd64 Packages"]}]}
    assert found["pplab-orphan"]["versions"] == [{"version": "2.0-1", "repositories": []}]
    assert found["pplab-absent"] == {"installed": None, "candidate": None, "versions": []}


def test_empty_apt_policy_is_nothing_known():
    assert not parse_apt_policy("")


def test_apt_policy_that_does_not_start_with_a_package_is_refused():
    with pytest.raises(CandidatesError, match=r"line 1: expected 'NAME:' first, got 'Installed: 1.0-1'"):
        parse_apt_policy("  Installed: 1.0-1\n")


def test_recorded_dnf_list():
    rows = parse_dnf_list(fixture("dnf-available.txt"))
    assert rows == [
        {"name": "pprpm-seclib", "arch": "noarch", "version": "1.0-1", "repository": "patchpilot-lab"},
        {"name": "pprpm-seclib", "arch": "noarch", "version": "1.0-2", "repository": "patchpilot-lab"},
        {"name": "pprpm-tools-libs", "arch": "noarch", "version": "1:1.0-1", "repository": "patchpilot-lab"},
        {"name": "pprpm-tools-libs", "arch": "noarch", "version": "1:1.1-1", "repository": "patchpilot-lab"},
    ]


def test_dnf_candidates_take_the_newest_offered():
    found = dnf_candidates(fixture("dnf-available.txt"), fixture("dnf-installed.txt"))
    assert found["pprpm-seclib"]["installed"] == "1.0-1" and found["pprpm-seclib"]["candidate"] == "1.0-2"
    assert found["pprpm-tools-libs"]["installed"] == "1:1.0-1" and found["pprpm-tools-libs"]["candidate"] == "1:1.1-1"
    assert found["pprpm-tools-libs"]["versions"][1] == {"version": "1:1.1-1", "repositories": ["patchpilot-lab"]}


def test_dnf_candidate_of_a_package_only_installed_is_none():
    found = dnf_candidates("", "Installed Packages\nfoo.x86_64  2.0-1.el9  @System\n")
    assert found == {"foo": {"installed": "2.0-1.el9", "candidate": None, "versions": []}}


@pytest.mark.parametrize("left, right, expected", [
    ("1.0-1", "1.0-1", 0),
    ("1.0-2", "1.0-10", -1),
    ("1.10-1", "1.9-1", 1),
    ("1:1.0-1", "2.0-1", 1),
    ("0:1.0-1", "1.0-1", 0),
    ("1.0~rc1-1", "1.0-1", -1),
    ("1.0^post1-1", "1.0-1", 1),
    ("1.0^post1-1", "1.0.1-1", -1),
    ("1.0a-1", "1.0-1", 1),
    ("1.0-1.el9", "1.0-1.el9_1", -1),
    ("2.a-1", "2.1-1", -1),
])
def test_rpm_order(left, right, expected):
    assert compare_rpm(left, right) == expected
    first, second = right, left
    assert compare_rpm(first, second) == -expected
