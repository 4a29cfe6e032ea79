"""macOS backend: softwareupdate and Homebrew output (fixtures/macos/, shape per each file's header) into records."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ansible_collections.patchpilot.fleet.plugins.module_utils.backends import macos
from ansible_collections.patchpilot.fleet.plugins.module_utils.records import BackendError

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "macos"


def load_text(name):
    """A text fixture without its '#' header (the source it was checked against)."""
    lines = (FIXTURES / name).read_text(encoding="utf-8").splitlines(keepends=True)
    header = 0
    while header < len(lines) and lines[header].startswith("#"):
        header += 1
    assert header, f"{name} has no header citing its source"
    return "".join(lines[header:])


def load_json_text(name):
    text = (FIXTURES / name).read_text(encoding="utf-8")
    assert json.loads(text)["_source"]
    return text


def apple(name, installed, candidate, classification, reboot):
    """Every field of a softwareupdate record."""
    return {
        "name": name,
        "installed_version": installed,
        "candidate_version": candidate,
        "arch": None,
        "source": {"repository": None, "origin": "Apple", "label": None, "suite": None},
        "classification": classification,
        "severity": None,
        "advisories": [],
        "cves": [],
        "reboot": reboot,
        "first_seen": None,
        "released": None,
        "effect": "upgrade",
        "backend": "macos",
    }


def brew(name, installed, candidate, kind, effect="upgrade", tap=None):
    """Every field of a Homebrew record."""
    return {
        "name": name,
        "installed_version": installed,
        "candidate_version": candidate,
        "arch": None,
        "source": {"repository": tap, "origin": "Homebrew", "label": kind, "suite": None},
        "classification": "third_party",
        "severity": None,
        "advisories": [],
        "cves": [],
        "reboot": False if kind == "formula" else None,
        "first_seen": None,
        "released": None,
        "effect": effect,
        "backend": "homebrew",
    }


SONOMA = [
    apple("Safari18.1SonomaAuto-18.1", None, "18.1", "bugfix", False),
    apple("macOS Sonoma 14.7.1-23H222", "14.6.1", "14.7.1", "bugfix", True),
    apple("macOS Sequoia 15.1.1-24B91", "14.6.1", "15.1.1", "enhancement", True),
    apple("Command Line Tools for Xcode-16.1", None, "16.1", "bugfix", False),
]
VENTURA_RSR = [
    apple("macOS Security Response 13.4.1 (c)-22F770820d", "13.4.1", "13.4.1 (c)", "security", True),
    apple("macOS Ventura 13.5-22G74", "13.4.1", "13.5", "bugfix", True),
]
CATALINA = [
    apple("Security Update 2022-005 Catalina-10.15.7", None, "10.15.7", "security", True),
    apple("BridgeOSUpdateCustomer", None, "10.15.7.1.1.1631310152", "bugfix", True),  # Action: shut down
    apple("Pro Video Formats-2.2.1", None, "2.2.1", "bugfix", False),  # "- Label:", not recommended
]


@pytest.mark.parametrize("fixture, os_version, expected", [
    ("softwareupdate-sonoma.txt", "14.6.1", SONOMA),
    ("softwareupdate-ventura-rsr.txt", "13.4.1", VENTURA_RSR),
    ("softwareupdate-catalina.txt", "10.15.7", CATALINA),
    ("softwareupdate-none.txt", "15.1", []),
])
def test_softwareupdate_records_field_by_field(fixture, os_version, expected):
    records = macos.parse_softwareupdate_list(load_text(fixture), os_version=os_version)
    assert [r.as_dict() for r in records] == expected


def test_softwareupdate_without_os_version():
    """Without sw_vers' answer macOS updates have no installed version and no upgrade is told apart."""
    records = macos.parse_softwareupdate_list(load_text("softwareupdate-sonoma.txt"))
    assert [(r.installed_version, r.classification) for r in records] == [
        (None, "bugfix"), (None, "bugfix"), (None, "bugfix"), (None, "bugfix")]


def test_softwareupdate_stdout_only():
    """The header lines may go to stderr; the items alone still parse."""
    text = load_text("softwareupdate-sonoma.txt")
    stdout = "".join(line for line in text.splitlines(keepends=True)
                     if line.startswith(("*", "-", "\t", "Software Update found")))
    assert len(macos.parse_softwareupdate_list(stdout, os_version="14.6.1")) == 4


@pytest.mark.parametrize("fields_line, expected", [
    ("\tTitle: Safari, Version: 18.1, Size: 168735KiB, Recommended: YES, ",
     {"Title": "Safari", "Version": "18.1", "Size": "168735KiB", "Recommended": "YES"}),
    ("\tTitle: Tools, for you, Version: 1.0, Size: 1K, Recommended: NO, Action: ,",
     {"Title": "Tools, for you", "Version": "1.0", "Size": "1K", "Recommended": "NO", "Action": ""}),
    ("    Title: macOS Catalina Public Beta, Version: 5, Size: 3084292K, Recommended: YES, Action: restart,",
     {"Title": "macOS Catalina Public Beta", "Version": "5", "Size": "3084292K", "Recommended": "YES",
      "Action": "restart"}),
])
def test_title_line_fields(fields_line, expected):
    assert macos._fields(fields_line) == expected  # pylint: disable=protected-access


def test_empty_version_falls_back_to_the_label():
    text = "* Label: macOS Mojave 10.14.6 Supplemental Update-\n\tTitle: macOS Mojave 10.14.6 Supplemental " \
           "Update, Version: , Size: 1581834K, Recommended: YES, Action: restart,\n"
    (rec,) = macos.parse_softwareupdate_list(text)
    assert rec.candidate_version == "macOS Mojave 10.14.6 Supplemental Update-"
    text = "* Label: BridgeOSUpdateCustomer-19.5\n\tTitle: BridgeOSUpdateCustomer, Version: , Size: 1K,\n"
    assert macos.parse_softwareupdate_list(text)[0].candidate_version == "19.5"


@pytest.mark.parametrize("text, message", [
    ("Software Update found the following new or updated software:\n   * Safari6.1.2MountainLion-6.1.2\n"
     "\tSafari (6.1.2), 51679K [recommended]\n", "not the 'Label:' listing"),
    ("* Label: Safari18.1SonomaAuto-18.1\n", "no 'Title:' line after 'Label: Safari18.1SonomaAuto-18.1'"),
    ("Password:\nsudo: a password is required\n", "not 'softwareupdate --list' output: 'Password:'"),
])
def test_softwareupdate_errors(text, message):
    with pytest.raises(BackendError, match=message):
        macos.parse_softwareupdate_list(text)


def test_softwareupdate_empty_output():
    assert macos.parse_softwareupdate_list("") == []


BREW_CURRENT = [
    brew("hashicorp/tap/terraform", "1.9.8", "1.10.0", "formula", tap="hashicorp/tap"),
    brew("openssl@3", "3.3.2", "3.4.0", "formula"),
    brew("postgresql@16", "16.4", "16.6", "formula", effect="kept_back"),
    brew("python@3.12", "3.12.7", "3.12.7_1", "formula"),
    brew("firefox", "132.0.1", "133.0", "cask"),
    brew("visual-studio-code", "1.95.2", "1.95.3", "cask", effect="kept_back"),
]
BREW_OLDER = [
    brew("git", "2.39.0", "2.39.1", "formula"),
    brew("google-cloud-sdk", "412.0.0", "413.0.0", "cask"),
]


@pytest.mark.parametrize("fixture, expected", [
    ("brew-outdated-v2.json", BREW_CURRENT),
    ("brew-outdated-v2-older-casks.json", BREW_OLDER),
    ("brew-outdated-v2-none.json", []),
])
def test_brew_records_field_by_field(fixture, expected):
    records = macos.parse_brew_outdated_json(load_json_text(fixture))
    assert [r.as_dict() for r in records] == expected


@pytest.mark.parametrize("text, message", [
    ("Error: Running Homebrew as root is extremely dangerous and no longer supported.", "not JSON"),
    ('[{"name": "git", "installed_versions": ["2.39.0"], "current_version": "2.39.1"}]', "--json=v1"),
    ('{"formulae": []}', "'formulae' and 'casks' lists"),
    ('{"formulae": [{"installed_versions": ["1"]}], "casks": []}', "formula entry without a name"),
    ('{"formulae": [{"name": "git", "installed_versions": [], "current_version": "2"}], "casks": []}',
     "git: no installed version"),
    ('{"formulae": [{"name": "git", "installed_versions": ["1"], "current_version": null}], "casks": []}',
     "git: .*candidate version"),
])
def test_brew_errors(text, message):
    with pytest.raises(BackendError, match=message):
        macos.parse_brew_outdated_json(text)


# --- collect(): the commands it runs -------------------------------------------------------

class FakeRun:
    """Answers each command from a table keyed by the words after the tool's path."""

    def __init__(self, answers):
        self.answers = answers
        self.calls = []

    def __call__(self, argv, environ_update=None):
        self.calls.append((list(argv), dict(environ_update or {})))
        for key, answer in self.answers.items():
            if key(argv):
                return answer
        raise AssertionError(f"unexpected command {argv}")


def is_sw_vers(argv):
    return argv[-1] == "-productVersion"


def is_softwareupdate(argv):
    return "--list" in argv


def is_brew_update(argv):
    return argv[-2:] == ["update", "--quiet"]


def is_brew_outdated(argv):
    return argv[-2:] == ["outdated", "--json=v2"]


SONOMA_RUN = {
    is_sw_vers: (0, "14.6.1\n", ""),
    is_softwareupdate: (0, load_text("softwareupdate-sonoma.txt"), ""),
    is_brew_update: (0, "", ""),
    is_brew_outdated: (0, load_json_text("brew-outdated-v2.json"), ""),
}


@pytest.fixture(name="as_user")
def fixture_as_user(monkeypatch):
    monkeypatch.setattr(macos, "_euid", lambda: 501)
    monkeypatch.setattr(macos, "find_brew", lambda: "/opt/homebrew/bin/brew")


def test_collect_scans_and_updates_brew(as_user):  # pylint: disable=unused-argument
    run = FakeRun(SONOMA_RUN)
    records = macos.collect(run, {"update_cache": True})
    assert [r.as_dict() for r in records] == SONOMA + BREW_CURRENT
    argvs = [argv for argv, _env in run.calls]
    assert argvs[0][-1] == "-productVersion"
    assert argvs[1][-1] == "--list" and argvs[1][0].endswith("softwareupdate")
    assert argvs[2] == ["/opt/homebrew/bin/brew", "update", "--quiet"]
    assert argvs[3] == ["/opt/homebrew/bin/brew", "outdated", "--json=v2"]
    assert run.calls[3][1] == {"LANG": "C", "LC_ALL": "C", "HOMEBREW_NO_AUTO_UPDATE": "1",
                               "HOMEBREW_NO_ENV_HINTS": "1", "HOMEBREW_NO_COLOR": "1"}


def test_collect_without_update_cache_lists_the_last_scan(as_user):  # pylint: disable=unused-argument
    run = FakeRun(SONOMA_RUN)
    macos.collect(run, {"update_cache": False})
    argvs = [argv for argv, _env in run.calls]
    assert argvs[1][-2:] == ["--list", "--no-scan"]
    assert not any("update" in argv for argv in argvs)


def test_collect_homebrew_off_or_absent(monkeypatch):
    monkeypatch.setattr(macos, "_euid", lambda: 501)
    monkeypatch.setattr(macos, "find_brew", lambda: None)
    run = FakeRun(SONOMA_RUN)
    assert len(macos.collect(run, {"update_cache": False})) == 4
    monkeypatch.setattr(macos, "find_brew", lambda: pytest.fail("homebrew: false must not look for brew"))
    assert len(macos.collect(run, {"update_cache": False, "homebrew": False})) == 4


def test_collect_as_root_runs_brew_as_its_owner(monkeypatch):
    monkeypatch.setattr(macos, "_euid", lambda: 0)
    monkeypatch.setattr(macos, "find_brew", lambda: "/opt/homebrew/bin/brew")
    monkeypatch.setattr(macos, "_owner", lambda path: "alice")
    run = FakeRun(SONOMA_RUN)
    macos.collect(run, {"update_cache": False})
    argv, env = run.calls[-1]
    assert argv == ["sudo", "-n", "-H", "-u", "alice", "/usr/bin/env", "HOMEBREW_NO_AUTO_UPDATE=1",
                    "HOMEBREW_NO_COLOR=1", "HOMEBREW_NO_ENV_HINTS=1", "LANG=C", "LC_ALL=C",
                    "/opt/homebrew/bin/brew", "outdated", "--json=v2"]
    assert env == {"LANG": "C", "LC_ALL": "C"}


def test_collect_as_root_with_root_owned_brew_fails(monkeypatch):
    monkeypatch.setattr(macos, "_euid", lambda: 0)
    monkeypatch.setattr(macos, "find_brew", lambda: "/usr/local/bin/brew")
    monkeypatch.setattr(macos, "_owner", lambda path: "root")
    with pytest.raises(BackendError, match="Homebrew refuses to run as root and /usr/local/bin/brew belongs to root"):
        macos.collect(FakeRun(SONOMA_RUN), {"update_cache": False})


@pytest.mark.parametrize("failing, message", [
    (is_softwareupdate, r"softwareupdate --list failed \(exit 1\): boom"),
    (is_brew_update, r"brew update failed \(exit 1\): boom"),
    (is_brew_outdated, r"brew outdated failed \(exit 1\): boom"),
])
def test_collect_tool_errors(as_user, failing, message):  # pylint: disable=unused-argument
    answers = dict(SONOMA_RUN)
    answers[failing] = (1, "", "first line\nboom\n")
    with pytest.raises(BackendError, match=message):
        macos.collect(FakeRun(answers), {"update_cache": True})


def test_collect_when_sw_vers_fails(as_user):  # pylint: disable=unused-argument
    answers = dict(SONOMA_RUN)
    answers[is_sw_vers] = (1, "", "sw_vers: not found")
    records = macos.collect(FakeRun(answers), {"update_cache": False})
    assert records[1].installed_version is None


def test_find_brew_falls_back_to_the_default_prefixes(monkeypatch):
    monkeypatch.setattr(macos.shutil, "which", lambda name: None)
    monkeypatch.setattr(macos.os.path, "isfile", lambda path: path == "/usr/local/bin/brew")
    monkeypatch.setattr(macos.os, "access", lambda path, mode: True)
    assert macos.find_brew() == "/usr/local/bin/brew"
    monkeypatch.setattr(macos.shutil, "which", lambda name: "/somewhere/bin/brew")
    assert macos.find_brew() == "/somewhere/bin/brew"
