"""Windows backend: win_updates results (fixtures/windows/, shape per each file's _source) into update records."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ansible_collections.patchpilot.fleet.plugins.module_utils.backends import windows
from ansible_collections.patchpilot.fleet.plugins.module_utils.records import BackendError

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "windows"


def load(name):
    data = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    assert data.pop("_source")
    return data


def record(name, candidate, classification, label, suite, advisories, arch=None):
    """Every field of a windows record; what varies per update is in the arguments."""
    return {
        "name": name,
        "installed_version": None,
        "candidate_version": candidate,
        "arch": arch,
        "source": {"repository": None, "origin": "Microsoft", "label": label, "suite": suite},
        "classification": classification,
        "severity": None,
        "advisories": advisories,
        "cves": [],
        "reboot": None,
        "first_seen": None,
        "released": None,
        "effect": "upgrade",
        "backend": "windows",
    }


SERVER_2022 = [
    record("KB2267602", "1.421.1183.0", "other", "Definition Updates", "Microsoft Defender Antivirus",
           ["KB2267602"]),
    record("KB4052623", "4.18.24090.11", "bugfix", "Critical Updates", "Microsoft Defender Antivirus",
           ["KB4052623"]),
    record("KB5045086", "KB5045086", "bugfix", "Updates", "Microsoft Server operating system-21H2",
           ["KB5045086"], arch="x64"),
    record("KB5046616", "KB5046616", "security", "Security Updates", "Microsoft Server operating system-21H2",
           ["KB5046616"], arch="x64"),
]

WINDOWS_11 = [
    record("Intel - System", "10.1.19.2", "other", "Drivers", None, []),
    record("KB5044284", "KB5044284", "enhancement", "Upgrades", "Windows 11", ["KB5044284"]),
    record("KB5046633", "KB5046633", "security", "Security Updates", "Windows 11", ["KB5046633"], arch="x64"),
    record("KB890830", "KB890830", "bugfix", "Update Rollups", "Windows 11", ["KB890830"], arch="x64"),
]


@pytest.mark.parametrize("fixture, expected", [
    ("win_updates-searched-server2022.json", SERVER_2022),
    ("win_updates-searched-win11.json", WINDOWS_11),
])
def test_fixture_records_field_by_field(fixture, expected):
    records = [r.as_dict() for r in windows.normalise_win_updates(load(fixture))]
    assert records == expected


def test_filtered_updates_give_no_records():
    result = load("win_updates-searched-server2022.json")
    names = {r.name for r in windows.normalise_win_updates(result)}
    assert len(result["filtered_updates"]) == 2
    assert "KB890830" not in names  # rejected by reject_list
    assert not any(name.startswith("Microsoft Edge") for name in names)  # hidden on the host


def test_failed_result_raises_its_message():
    with pytest.raises(BackendError) as err:
        windows.normalise_win_updates(load("win_updates-failed.json"))
    assert str(err.value) == (
        "Searching for updates: Exception from HRESULT: 0x8024402C - Same as ERROR_WINHTTP_NAME_NOT_RESOLVED - "
        "the proxy server or target server name cannot be resolved (WU_E_PT_WINHTTP_NAME_NOT_RESOLVED 0x8024402C)"
    )


def test_nothing_missing():
    assert windows.normalise_win_updates({"changed": False, "updates": {}, "filtered_updates": {}}) == []


# Microsoft's classification categories (KB 824684) and what each becomes.
@pytest.mark.parametrize("category, expected", [
    ("Security Updates", "security"),
    ("Critical Updates", "bugfix"),
    ("Updates", "bugfix"),
    ("Update Rollups", "bugfix"),
    ("Feature Packs", "enhancement"),
    ("Service Packs", "enhancement"),
    ("Upgrades", "enhancement"),
    ("Definition Updates", "other"),
    ("Drivers", "other"),
    ("Driver Sets", "other"),
    ("Tools", "other"),
    ("Applications", "other"),
    ("Connectors", "other"),
    ("Developer Kits", "other"),
    ("Guidance", "other"),
    ("security updates", "security"),  # Windows compares categories case-insensitively
])
def test_classification_of_each_category(category, expected):
    assert windows.classify_categories([category, "Windows Server 2019"]) == (expected, category, "Windows Server 2019")


@pytest.mark.parametrize("categories, expected", [
    (["Updates", "Security Updates"], ("security", "Security Updates", None)),
    (["Definition Updates", "Critical Updates"], ("bugfix", "Critical Updates", None)),
    (["Upgrades", "Tools"], ("enhancement", "Upgrades", None)),
    (["Windows 11"], ("other", None, "Windows 11")),
    ([], ("other", None, None)),
    (None, ("other", None, None)),
])
def test_classification_precedence_and_unknown(categories, expected):
    assert windows.classify_categories(categories) == expected


def one(info, key="0d7c4b2a-4b3e-4d7e-9a51-5f0c6f1d2e3a"):
    info = dict({"id": key, "downloaded": False, "installed": False}, **info)
    records = windows.normalise_win_updates({"updates": {key: info}, "filtered_updates": {}})
    assert len(records) == 1
    return records[0]


def test_no_kb_no_version_uses_title_and_guid():
    rec = one({"title": "Contoso Widget Firmware Update", "kb": [], "categories": ["Updates"]})
    assert (rec.name, rec.candidate_version, rec.advisories) == (
        "Contoso Widget Firmware Update", "0d7c4b2a-4b3e-4d7e-9a51-5f0c6f1d2e3a", [])


def test_several_kbs_first_names_the_update_all_are_advisories():
    rec = one({"title": "Security Update for Windows Server 2012 R2 (KB3004365)", "kb": ["3004365", "3004361"],
               "categories": ["Security Updates"]})
    assert (rec.name, rec.candidate_version, rec.advisories) == ("KB3004365", "KB3004365", ["KB3004361", "KB3004365"])


def test_kb_prefix_is_accepted():
    # The module itself reports "KB…" in its raw search result; the action plugin strips it.
    rec = one({"title": "Some update (KB5001234)", "kb": ["KB5001234"], "categories": ["Updates"]})
    assert rec.name == "KB5001234"


@pytest.mark.parametrize("title, arch", [
    ("2024-11 Cumulative Update for Windows 11 Version 23H2 for arm64-based Systems (KB5046633)", "arm64"),
    ("Security Update for Windows Server 2008 for x86-based Systems (KB4012598)", "x86"),
    ("Windows Malicious Software Removal Tool x64 - v5.130 (KB890830)", "x64"),
    ("Security Intelligence Update for Microsoft Defender Antivirus - KB2267602 (Version 1.421.1183.0)", None),
])
def test_arch_from_title(title, arch):
    assert one({"title": title, "kb": ["1"], "categories": []}).arch == arch


def test_installed_updates_are_not_missing():
    result = load("win_updates-searched-win11.json")
    for info in result["updates"].values():
        info["installed"] = True
    assert windows.normalise_win_updates(result) == []


@pytest.mark.parametrize("result, message", [
    ("not a dict", "expected the task result as a dict"),
    ({"changed": False}, "no 'updates' dict"),
    ({"failed": True}, "win_updates failed without a message"),
    ({"updates": {"x": "y"}}, "update x: expected a dict"),
    ({"updates": {"x": {"id": "x", "kb": [], "categories": []}}}, "update x has no title"),
    ({"updates": {"x": {"id": "x", "title": "T", "kb": "5001", "categories": []}}}, "'kb' is not a list"),
    ({"updates": {"x": {"id": "x", "title": "T", "kb": ["KB-1"], "categories": []}}}, "not a KB number"),
    ({"updates": {"x": {"id": "x", "title": "T", "kb": [], "categories": "Updates"}}}, "'categories' is not a list"),
])
def test_malformed_results_raise(result, message):
    with pytest.raises(BackendError, match=message):
        windows.normalise_win_updates(result)
