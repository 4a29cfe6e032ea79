"""The one update record: validation, severity words, and the release classification rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from ansible_collections.patchpilot.fleet.plugins.module_utils.records import (
    RecordError,
    classify_release,
    index_problem,
    make_index,
    make_update,
    normalise_severity,
    stale_index_failure,
    upstream_major,
)

RELEASES = Path(__file__).parent / "fixtures" / "release"


def release_fields(name: str) -> dict:
    fields = {}
    for line in (RELEASES / name).read_text(encoding="utf-8").splitlines():
        key, value = line.split(": ", 1)
        fields[key] = value
    return fields


@pytest.mark.parametrize("name, expected", [
    ("debian-bookworm-security.Release", "security"),
    ("debian-bookworm.Release", "bugfix"),
    ("debian-bookworm-updates.Release", "bugfix"),
])
def test_rule_on_debians_real_release_files(name, expected):
    fields = release_fields(name)
    assert classify_release(fields["Origin"], fields["Label"], fields["Suite"]) == expected
    # apt-get -s prints only Label and Suite; the rule gives the same answer from them.
    if expected == "security":
        assert classify_release(None, fields["Label"], fields["Suite"]) == "security"


@pytest.mark.parametrize("origin, label, suite, vendors, expected", [
    ("Patchpilot Lab", "Patchpilot Lab-Security", "lab-security", ["Patchpilot Lab"], "security"),
    ("Patchpilot Lab", "Patchpilot Lab", "lab", ["Patchpilot Lab"], "bugfix"),
    ("Patchpilot Lab", "Patchpilot Lab", "lab", ["Debian"], "third_party"),
    ("Debian", "Debian", "bullseye/updates", ["Debian"], "security"),
    ("Docker", "Docker CE", "bookworm", ["Debian"], "third_party"),
    (None, None, None, ["Debian"], "third_party"),
])
def test_rule_on_other_archives(origin, label, suite, vendors, expected):
    assert classify_release(origin, label, suite, vendors) == expected


@pytest.mark.parametrize("word, expected", [
    ("Critical", "critical"), ("Important", "high"), ("Moderate", "medium"), ("low", "low"),
    ("unimportant", "low"), ("not yet assigned", None), ("", None), (None, None),
])
def test_severity_words(word, expected):
    assert normalise_severity(word) == expected


def test_unknown_severity_is_an_error():
    with pytest.raises(RecordError, match="severity: unknown value 'dreadful'"):
        normalise_severity("dreadful")


def test_make_update_normalises():
    record = make_update(name="libssl3", installed_version="1.0-1", candidate_version="1.0-2", arch="amd64",
                         source={"origin": "Debian", "label": "Debian-Security", "suite": "bookworm-security"},
                         classification="security", severity="Important", cves=["cve-2026-0002", "CVE-2026-0001"],
                         advisories=["DSA-1"], reboot=False, backend="apt").as_dict()
    assert record["severity"] == "high"
    assert record["cves"] == ["CVE-2026-0001", "CVE-2026-0002"]
    assert record["source"] == {"repository": None, "origin": "Debian", "label": "Debian-Security",
                                "suite": "bookworm-security"}
    assert set(record) == {"name", "installed_version", "candidate_version", "arch", "source", "classification",
                           "severity", "advisories", "cves", "reboot", "first_seen", "released", "effect", "backend"}


@pytest.mark.parametrize("kwargs, message", [
    ({"name": ""}, "name: expected a package name"),
    ({"classification": "urgent"}, "classification: 'urgent' is not one of"),
    ({"effect": "explode"}, "effect: 'explode' is not one of"),
    ({"backend": "pacman"}, "backend: 'pacman' is not one of"),
    ({"installed_version": None}, "a apt upgrade needs the installed version"),
    ({"candidate_version": None}, "an upgrade needs the candidate version"),
    ({"cves": ["CVE-12"]}, "cves: not CVE ids: CVE-12"),
    ({"released": "27/11/2026"}, "released: expected an ISO date"),
    ({"reboot": "maybe"}, "reboot: expected true, false or null"),
    ({"source": {"mirror": "x"}}, "source: unknown key 'mirror'"),
])
def test_make_update_rejects_bad_fields(kwargs, message):
    args = {"name": "pkg", "installed_version": "1", "candidate_version": "2", "backend": "apt"}
    args.update(kwargs)
    with pytest.raises(RecordError, match=message.replace("(", r"\(")):
        make_update(**args)


def test_windows_updates_have_no_installed_version():
    record = make_update(name="KB5034439", candidate_version="KB5034439", backend="windows",
                         classification="security")
    assert record.installed_version is None


@pytest.mark.parametrize("version, major", [("2:1.4.0-3", "1"), ("1.0-1+lab1sec1", "1"), ("10.42-1", "10"),
                                            ("2.0", "2"), (None, None), ("abc", None)])
def test_upstream_major(version, major):
    assert upstream_major(version) == major


STALE = make_index(refreshed=True, age_seconds=3 * 3600 + 120, errors=[
    {"source": "http://mirror.example.org/debian stable",
     "message": "Could not connect to mirror.example.org:80 (192.0.2.10). - connect (111: Connection refused)"}])


def test_index_record():
    assert make_index(refreshed=True, age_seconds=5) == {"refreshed": True, "stale": False, "age_seconds": 5,
                                                         "errors": []}
    assert STALE["stale"] is True and STALE["refreshed"] is False
    for bad in ({"age_seconds": -1}, {"age_seconds": "1h"}, {"errors": [{"source": "x"}]}):
        with pytest.raises(RecordError, match="index"):
            make_index(refreshed=True, **bad)


def test_index_problem_names_the_source_apts_words_and_the_age():
    assert index_problem(make_index(refreshed=True)) is None
    assert index_problem(None) is None
    assert index_problem(STALE) == (
        "the package index could not be refreshed: http://mirror.example.org/debian stable: Could not connect to "
        "mirror.example.org:80 (192.0.2.10). - connect (111: Connection refused); the index it has is 3 hours old")
    assert index_problem(dict(STALE, age_seconds=None)).endswith("the index it has is of unknown age")
    assert index_problem(dict(STALE, age_seconds=86400 * 2)).endswith("2 days old")


@pytest.mark.parametrize("index, choice, fails", [
    (STALE, "report", False),
    (STALE, "fail", True),
    (make_index(refreshed=True, age_seconds=10), "fail", False),
    (make_index(refreshed=False, age_seconds=10), "fail", False),  # not refreshed on purpose (check mode)
    (None, "fail", False),  # a backend that says nothing about its index
])
def test_the_policy_decides_whether_a_stale_index_fails_the_host(index, choice, fails):
    reason = stale_index_failure(index, choice)
    assert (reason is not None) is fails
    if fails:
        assert "mirror.example.org/debian stable" in reason and "scan.stale_index: fail" in reason


def test_stale_index_choice_is_checked():
    with pytest.raises(ValueError, match="stale_index"):
        stale_index_failure(STALE, "ignore")
