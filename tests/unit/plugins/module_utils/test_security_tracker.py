"""Debian version comparison, and CVEs from a Debian Security Tracker export (fixtures/security-tracker/)."""

import copy
import json
import subprocess
from pathlib import Path

import pytest

from ansible_collections.patchpilot.fleet.plugins.module_utils.records import make_update
from ansible_collections.patchpilot.fleet.plugins.module_utils.security_tracker import (
    TrackerError,
    VersionError,
    compare_versions,
    enrich,
    load_tracker,
    urgency_severity,
)
from support.skips import require_tools

SAMPLE = Path(__file__).parent / "fixtures" / "security-tracker" / "sample.json"

# (left, right, expected): what `dpkg --compare-versions` says (checked below
# against the dpkg on this machine when there is one).
VERSION_PAIRS = [
    ("1.0", "1.0", 0),
    ("1.0", "1.0-0", 0),               # a missing revision is an empty one, like "0"
    ("0:1.0", "1.0", 0),               # epoch 0 is the default
    ("1.0", "1.1", -1),
    ("1.10", "1.9", 1),                # numbers compare as numbers
    ("1.002", "1.2", 0),               # leading zeros do not count
    ("1:0.9", "2.0", 1),               # the epoch wins
    ("2:1.0", "10:0.1", -1),
    ("1.0~rc1", "1.0", -1),            # ~ sorts before the end of the string
    ("1.0~~", "1.0~", -1),
    ("1.0~~a", "1.0~~", 1),
    ("1.0~rc1", "1.0~rc2", -1),
    ("1.0", "1.0+b1", -1),             # a binNMU is newer
    ("1.0a", "1.0+", -1),              # letters sort before other characters
    ("1.0a", "1.0", 1),
    ("1.0.", "1.0", 1),
    ("1.0-1", "1.0.0-1", -1),
    ("1.0-1", "1.0-1.1", -1),
    ("1.0-10", "1.0-9", 1),
    ("2.30-1", "2.3-1", 1),
    ("3.0.19-1~deb12u2", "3.0.22-1~deb12u2", -1),
    ("3.0.22-1~deb12u2", "3.0.22-1", -1),
    ("1.2.3-1+deb12u1", "1.2.3-1", 1),
    ("1.2.3-1+deb12u1", "1.2.3-1+deb12u2", -1),
    ("1.2.3-1~deb12u1", "1.2.3-1+deb12u1", -1),
    ("6.1.0~rc5-1", "6.1.0-1", -1),
    ("1:2.0-1", "2.1-1", 1),
    ("1:2.0-1+deb12u1", "1:2.0-1", 1),
    ("7.88.1-10+deb12u8", "7.88.1-10+deb12u12", -1),
    ("1.0-1ubuntu1", "1.0-1", 1),
    ("1.0-a-1", "1.0-b-1", -1),        # hyphens in upstream with a revision
    ("0", "3.0.19-1~deb12u2", -1),     # the tracker's "never affected"
    ("1.0+dfsg-1", "1.0-1", 1),
    ("2024.01.01", "2023.12.31", 1),
    ("1.0~beta1+git20240101-1", "1.0~beta1-1", 1),
]


@pytest.mark.parametrize("older_or_not, newer_or_not, expected", VERSION_PAIRS)
def test_compare_versions(older_or_not, newer_or_not, expected):
    assert compare_versions(older_or_not, newer_or_not) == expected
    assert compare_versions(newer_or_not, older_or_not) == -expected  # antisymmetric


@pytest.mark.parametrize("left, right, expected", VERSION_PAIRS)
def test_table_agrees_with_dpkg(left, right, expected):
    require_tools("dpkg")
    operator = {-1: "lt", 0: "eq", 1: "gt"}[expected]
    result = subprocess.run(["dpkg", "--compare-versions", left, operator, right], check=False)
    assert result.returncode == 0, f"dpkg does not say {left} {operator} {right}"


@pytest.mark.parametrize("bad", ["", "   ", None, 12, "x:1.0", ":1.0", "1.0 beta", "1.0-", "a1.0", "1.0_1", "1.0-1_2"])
def test_rejects_what_is_not_a_version(bad):
    with pytest.raises(VersionError, match="not a Debian version"):
        compare_versions(bad, "1.0")


@pytest.mark.parametrize("urgency, severity", [
    ("high", "high"),
    ("medium", "medium"),
    ("low", "low"),
    ("high**", "high"),        # assigned by the NVD
    ("medium**", "medium"),
    ("unimportant", "low"),
    ("not yet assigned", None),
    ("end-of-life", None),
    (None, None),
    (" High ", "high"),
])
def test_urgency_severity(urgency, severity):
    assert urgency_severity(urgency) == severity


def test_unknown_urgency_is_an_error():
    with pytest.raises(TrackerError, match="unknown urgency 'critical'"):
        urgency_severity("critical")


# ---------------------------------------------------------------------------
# load_tracker
# ---------------------------------------------------------------------------

def test_loads_the_sample():
    tracker = load_tracker(SAMPLE)
    assert set(tracker) == {"_source", "pp-ssl", "pp-tool", "pp-kernel", "pp-web"}
    assert tracker["pp-ssl"]["CVE-2026-90001"]["releases"]["bookworm"]["fixed_version"] == "3.0.22-1~deb12u2"


def test_missing_file(tmp_path):
    path = tmp_path / "nowhere.json"
    with pytest.raises(TrackerError, match=rf"^{path}: cannot read the security tracker export: No such file"):
        load_tracker(path)


@pytest.mark.parametrize("content, reason", [
    (b"<html>Service unavailable</html>", r"not a JSON file: Expecting value at line 1 column 1"),
    (b'{"pp-ssl": {', r"not a JSON file: .* at line 1 column 13"),
    (b"\xff\xfe\x00garbage", r"not a JSON file"),
    (b"[]", r"expected a JSON object of source packages, got list"),
    (b'{"pp-ssl": []}', r"package 'pp-ssl': expected an object of issues"),
    (b'{"pp-ssl": {"CVE-2026-1": "resolved"}}', r"pp-ssl/CVE-2026-1: expected an object"),
    (b'{"pp-ssl": {"CVE-2026-1": {"releases": []}}}', r"pp-ssl/CVE-2026-1: 'releases' must be an object"),
    (b'{"pp-ssl": {"CVE-2026-1": {"releases": {"bookworm": "open"}}}}', r"pp-ssl/CVE-2026-1: releases\.bookworm: expected an object"),
    (b'{"pp-ssl": {"CVE-2026-1": {"releases": {"bookworm": {"fixed_version": 1}}}}}',
     r"pp-ssl/CVE-2026-1: releases\.bookworm\.fixed_version: expected a string, got 1"),
])
def test_bad_files_name_the_file_and_the_reason(tmp_path, content, reason):
    path = tmp_path / "tracker.json"
    path.write_bytes(content)
    with pytest.raises(TrackerError, match=rf"^{path}: {reason}"):
        load_tracker(path)


# ---------------------------------------------------------------------------
# enrich
# ---------------------------------------------------------------------------

def apt(name, installed, candidate, severity=None, cves=(), effect="upgrade", classification="security"):
    return make_update(
        name=name, installed_version=installed, candidate_version=candidate, arch="amd64",
        source={"suite": "bookworm-security", "label": "Debian-Security", "origin": "Debian"},
        classification=classification, severity=severity, cves=cves, effect=effect, backend="apt",
        first_seen="2026-11-27",
    ).as_dict()


@pytest.fixture(name="tracker")
def fixture_tracker():
    return load_tracker(SAMPLE)


SOURCES = {"libppssl3": "pp-ssl", "pp-ssl-bin": "pp-ssl"}


@pytest.mark.parametrize("record, cves, severity", [
    # 90001 (high) and 90002 (medium) are fixed between installed and candidate;
    # 90003 is fixed by the installed version, 90004 still open, 90005 fixed
    # only later, 90006 never affected, TEMP-... has no CVE id.
    (apt("libppssl3", "3.0.19-1~deb12u2", "3.0.22-1~deb12u2"), ["CVE-2026-90001", "CVE-2026-90002"], "high"),
    # Installed already has the 90002 fix: only 90001.
    (apt("libppssl3", "3.0.20-1~deb12u1", "3.0.22-1~deb12u2"), ["CVE-2026-90001"], "high"),
    # An upgrade that stops before the 90001 fix: only 90002 (medium).
    (apt("libppssl3", "3.0.19-1~deb12u2", "3.0.21-1~deb12u1"), ["CVE-2026-90002"], "medium"),
    # Epochs: 2.1-1 (90012) is older than 1:2.0-1; "not yet assigned" adds no
    # severity, "unimportant" counts as low.
    (apt("pp-tool", "1:2.0-1", "1:2.0-1+deb12u1"), ["CVE-2026-90010", "CVE-2026-90011"], "low"),
    # Tilde: 6.1.0~rc5-1 is older than the fix 6.1.0-1; low** is low, end-of-life adds no severity.
    (apt("pp-kernel", "6.1.0~rc5-1", "6.1.0-1"), ["CVE-2026-90020", "CVE-2026-90021"], "low"),
    # Only tracked for trixie: nothing for bookworm.
    (apt("pp-web", "2.3-1", "2.4-1", classification="bugfix"), [], None),
    # Not in the tracker at all.
    (apt("pp-unknown", "1.0-1", "1.1-1"), [], None),
    # Never lowered: a critical record stays critical, with the CVEs added to its own.
    (apt("libppssl3", "3.0.19-1~deb12u2", "3.0.22-1~deb12u2", severity="critical", cves=["CVE-2025-0001"]),
     ["CVE-2025-0001", "CVE-2026-90001", "CVE-2026-90002"], "critical"),
    # Raised: a low record becomes high.
    (apt("libppssl3", "3.0.19-1~deb12u2", "3.0.22-1~deb12u2", severity="low"),
     ["CVE-2026-90001", "CVE-2026-90002"], "high"),
    # A kept back package with versions is looked at too.
    (apt("pp-ssl-bin", "3.0.19-1~deb12u2", "3.0.22-1~deb12u2", effect="kept_back"),
     ["CVE-2026-90001", "CVE-2026-90002"], "high"),
])
def test_enrich_one_record(tracker, record, cves, severity):
    [result] = enrich([record], tracker, "bookworm", SOURCES)
    assert result["cves"] == cves
    assert result["severity"] == severity
    # Nothing else changes.
    assert {k: v for k, v in result.items() if k not in ("cves", "severity")} == \
        {k: v for k, v in record.items() if k not in ("cves", "severity")}


def test_codename_selects_the_release(tracker):
    record = apt("libppssl3", "1.1.1w-0+deb11u1", "1.1.1w-0+deb11u3")
    [result] = enrich([record], tracker, "bullseye", SOURCES)
    assert (result["cves"], result["severity"]) == (["CVE-2026-90001"], "high")  # high** is high
    [result] = enrich([record], tracker, "Bookworm", SOURCES)  # codename case does not matter
    assert result["cves"] == []


def test_binary_names_default_to_source_names(tracker):
    [without_map] = enrich([apt("libppssl3", "3.0.19-1~deb12u2", "3.0.22-1~deb12u2")], tracker, "bookworm")
    assert without_map["cves"] == []
    [same_name] = enrich([apt("pp-ssl", "3.0.19-1~deb12u2", "3.0.22-1~deb12u2")], tracker, "bookworm")
    assert same_name["cves"] == ["CVE-2026-90001", "CVE-2026-90002"]


def test_other_records_pass_unchanged(tracker):
    records = [
        make_update(name="pp-ssl", candidate_version="3.0.22-1~deb12u2", effect="new_dependency",
                    backend="apt", classification="security").as_dict(),
        make_update(name="pp-ssl", installed_version="3.0.19-1~deb12u2", effect="removal",
                    backend="apt").as_dict(),
        make_update(name="pp-ssl", installed_version="3.0.19-1", candidate_version="3.0.22-1",
                    backend="dnf").as_dict(),
        make_update(name="KB5050001", candidate_version="2026-11", backend="windows").as_dict(),
    ]
    assert enrich(records, tracker, "bookworm") == records


def test_input_is_not_modified(tracker):
    records = [apt("libppssl3", "3.0.19-1~deb12u2", "3.0.22-1~deb12u2")]
    before = copy.deepcopy(records)
    tracker_before = copy.deepcopy(tracker)
    result = enrich(records, tracker, "bookworm", SOURCES)
    assert records == before and tracker == tracker_before
    assert result[0] is not records[0]


def test_result_is_still_a_valid_record(tracker):
    [result] = enrich([apt("libppssl3", "3.0.19-1~deb12u2", "3.0.22-1~deb12u2")], tracker, "bookworm", SOURCES)
    assert make_update(**result).as_dict() == result


@pytest.mark.parametrize("args, message", [
    (("not a list", {}, "bookworm"), r"records: expected a list"),
    (([], [], "bookworm"), r"tracker: expected the export's JSON object"),
    (([], {}, "bookworm-security"), r"codename: expected a Debian release codename"),
    (([], {}, ""), r"codename: expected a Debian release codename"),
    (([], {}, None), r"codename: expected a Debian release codename"),
    (([], {}, "bookworm", ["pp-ssl"]), r"source_packages: expected a mapping"),
    ((["pp-ssl"], {}, "bookworm"), r"records\[0\]: expected an update record"),
])
def test_bad_arguments(args, message):
    with pytest.raises(TrackerError, match=message):
        enrich(*args)


@pytest.mark.parametrize("entry, message", [
    ({"releases": {"bookworm": {"status": "resolved", "fixed_version": "3.0.20 beta", "urgency": "high"}}},
     r"records\[0\] \(pp-ssl\): pp-ssl/CVE-2026-90099: releases\.bookworm: not a Debian version: '3\.0\.20 beta'"),
    ({"releases": {"bookworm": {"status": "resolved", "fixed_version": "3.0.20-1", "urgency": "severe"}}},
     r"records\[0\] \(pp-ssl\): pp-ssl/CVE-2026-90099: releases\.bookworm: unknown urgency 'severe'"),
    ({"releases": "bookworm"}, r"records\[0\] \(pp-ssl\): pp-ssl/CVE-2026-90099: 'releases' must be an object"),
])
def test_bad_entries_are_named(entry, message):
    tracker = {"pp-ssl": {"CVE-2026-90099": entry}}
    with pytest.raises(TrackerError, match=message):
        enrich([apt("pp-ssl", "3.0.19-1", "3.0.22-1")], tracker, "bookworm")


def test_sample_is_in_the_documented_shape():
    """Every issue of the sample uses only keys the tracker's generator writes."""
    data = json.loads(SAMPLE.read_text(encoding="utf-8"))
    assert "security-tracker.debian.org/tracker/data/json" in data["_source"]
    for package, issues in data.items():
        if package.startswith("_"):
            continue
        for entry in issues.values():
            assert set(entry) <= {"description", "debianbug", "scope", "releases"}
            for state in entry["releases"].values():
                assert set(state) <= {"status", "repositories", "fixed_version", "urgency",
                                      "nodsa", "nodsa_reason", "next_point_update"}
                assert state["status"] in ("resolved", "open", "undetermined")
                assert ("fixed_version" in state) == (state["status"] == "resolved")
