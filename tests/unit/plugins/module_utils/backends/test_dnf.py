"""dnf backend: real dnf output recorded on the lab's RPM host (fixtures/rpm) in, update records out."""

from __future__ import annotations

import pytest

from ansible_collections.patchpilot.fleet.plugins.module_utils.backends import _rpm, dnf
from ansible_collections.patchpilot.fleet.plugins.module_utils.records import BackendError, RecordError

from .rpm_recordings import OPTIONS, Replay, by_name, expected_pending, output

EXPECTED_PENDING = expected_pending("dnf")


# --- parsers over the recordings ------------------------------------------------------

def test_parse_repoquery_installed():
    packages = dnf.parse_repoquery(output("pending", "dnf-installed"))
    assert [(p["name"], p["epoch"], p["version"], p["release"], p["arch"], p["repoid"], p["vendor"])
            for p in packages] == [
        ("pprpm-extra", "0", "1.0", "1", "noarch", "@System", "Patchpilot Lab"),
        ("pprpm-kernel", "0", "1.0", "1", "noarch", "@System", "Patchpilot Lab"),
        ("pprpm-seclib", "0", "1.0", "1", "noarch", "@System", "Patchpilot Lab"),
        ("pprpm-tools", "0", "1.0", "1", "noarch", "@System", "Patchpilot Lab"),
        ("pprpm-tools-libs", "1", "1.0", "1", "noarch", "@System", "Patchpilot Lab"),
    ]


def test_parse_repoquery_upgrades():
    packages = dnf.parse_repoquery(output("pending", "dnf-upgrades"))
    assert {p["name"]: (_rpm.evr(p["epoch"], p["version"], p["release"]), p["repoid"]) for p in packages} == {
        "pprpm-extra": ("1.0-2", "patchpilot-lab"),
        "pprpm-kernel": ("1.1-1", "patchpilot-lab"),
        "pprpm-seclib": ("1.0-2", "patchpilot-lab"),
        "pprpm-tools": ("1.1-1", "patchpilot-lab"),
        "pprpm-tools-libs": ("1:1.1-1", "patchpilot-lab"),
    }


def test_parse_updateinfo_list():
    entries = dnf.parse_updateinfo_list(output("pending", "dnf-updateinfo_list"))
    assert [(e["advisory"], e["label"], e["name"], e["epoch"], e["version"], e["release"], e["arch"])
            for e in entries] == [
        ("PPRPM-EA-2026-0003", "enhancement", "pprpm-kernel", "0", "1.1", "1", "noarch"),
        ("PPRPM-SA-2026-0001", "Important/Sec.", "pprpm-seclib", "0", "1.0", "2", "noarch"),
        ("PPRPM-BA-2026-0002", "bugfix", "pprpm-tools", "0", "1.1", "1", "noarch"),
        ("PPRPM-BA-2026-0002", "bugfix", "pprpm-tools-libs", "1", "1.1", "1", "noarch"),
    ]


def test_parse_updateinfo_info():
    advisories = dnf.parse_updateinfo_info(output("pending", "dnf-updateinfo_info"))
    assert advisories == {
        "PPRPM-SA-2026-0001": {"id": "PPRPM-SA-2026-0001", "title": "Important: pprpm-seclib security update",
                               "type": "security", "severity": "Important", "updated": "2026-03-02",
                               "cves": ["CVE-2026-91001", "CVE-2026-91002"], "bugs": []},
        "PPRPM-BA-2026-0002": {"id": "PPRPM-BA-2026-0002", "title": "pprpm-tools bug fix update",
                               "type": "bugfix", "severity": "Moderate", "updated": "2026-02-16",
                               "cves": [], "bugs": []},
        "PPRPM-EA-2026-0003": {"id": "PPRPM-EA-2026-0003", "title": "pprpm-kernel enhancement update",
                               "type": "enhancement", "severity": None, "updated": "2026-03-09",
                               "cves": [], "bugs": []},
    }


def test_parse_repolist():
    assert dnf.parse_repolist(output("pending", "dnf-repolist")) == {
        "patchpilot-lab": "Patchpilot Lab RPM repository"}


@pytest.mark.parametrize("case", ["up-to-date"])
def test_parsers_on_empty_output(case):
    assert dnf.parse_repoquery(output(case, "dnf-upgrades")) == []
    assert dnf.parse_updateinfo_list(output(case, "dnf-updateinfo_list")) == []
    assert dnf.parse_updateinfo_info(output(case, "dnf-updateinfo_info")) == {}


@pytest.mark.parametrize("text, expected", [
    ("pprpm-seclib-1.0-2.noarch", ("pprpm-seclib", "0", "1.0", "2", "noarch")),
    ("pprpm-tools-libs-1:1.1-1.noarch", ("pprpm-tools-libs", "1", "1.1", "1", "noarch")),
    ("python3.11-libs-3.11.2-1.el9.x86_64", ("python3.11-libs", "0", "3.11.2", "1.el9", "x86_64")),
])
def test_parse_nevra(text, expected):
    got = dnf.parse_nevra(text)
    assert (got["name"], got["epoch"], got["version"], got["release"], got["arch"]) == expected


@pytest.mark.parametrize("text", ["pprpm-seclib", "noarch", "a-1.noarch"])
def test_parse_nevra_rejects_garbage(text):
    with pytest.raises(dnf.DnfOutputError):
        dnf.parse_nevra(text)


# --- collect(): commands and records --------------------------------------------------

def test_pending_host_gives_one_record_per_package():
    run = Replay("pending")
    records = by_name(dnf.collect(run, OPTIONS))
    assert records == EXPECTED_PENDING
    # The bugfix advisory covers two packages: two records, both naming it.
    assert [n for n, r in records.items() if "PPRPM-BA-2026-0002" in r["advisories"]] == \
        ["pprpm-tools", "pprpm-tools-libs"]


def test_commands_read_the_cache_only_unless_refreshing():
    run = Replay("pending")
    dnf.collect(run, OPTIONS)
    assert run.calls == list(dnf.commands(OPTIONS).values())
    assert all("-C" in argv and "--releasever=12" in argv for argv in run.calls)
    assert not any("makecache" in argv for argv in run.calls)
    refresh = Replay("pending")
    dnf.collect(refresh, dict(OPTIONS, update_cache=True))
    assert refresh.calls[0] == ["dnf", "-q", "--setopt=skip_if_unavailable=False", "--setopt=exit_on_lock=True",
                                "--releasever=12", "makecache", "--refresh"]
    assert refresh.calls[1:] == run.calls


def test_no_releasever_option_without_a_releasever():
    assert not any(a.startswith("--releasever") for argv in dnf.commands({}).values() for a in argv)


def test_after_the_security_advisory_was_applied():
    records = by_name(dnf.collect(Replay("partial"), OPTIONS))
    assert records == {name: rec for name, rec in EXPECTED_PENDING.items() if name != "pprpm-seclib"}


def test_up_to_date_host_has_no_records():
    assert dnf.collect(Replay("up-to-date"), OPTIONS) == []


def test_vendor_rule_makes_other_repositories_third_party():
    records = by_name(dnf.collect(Replay("pending"), dict(OPTIONS, vendor_origins=["Red Hat*", "Fedora Project"])))
    # A security advisory is security whoever ships it; everything else from outside is third_party.
    assert {n: r["classification"] for n, r in records.items()} == {
        "pprpm-extra": "third_party", "pprpm-kernel": "third_party", "pprpm-seclib": "security",
        "pprpm-tools": "third_party", "pprpm-tools-libs": "third_party"}
    # The repository id counts as well as the vendor.
    by_repo = by_name(dnf.collect(Replay("pending"), dict(OPTIONS, vendor_origins=["patchpilot-lab"])))
    assert by_repo == EXPECTED_PENDING


def test_reboot_hint_comes_from_patterns_only():
    """dnf 4 prints no reboot_suggested: without patterns nothing is known."""
    records = by_name(dnf.collect(Replay("pending"), dict(OPTIONS, reboot_packages=[])))
    assert {r["reboot"] for r in records.values()} == {None}
    records = by_name(dnf.collect(Replay("pending"), dict(OPTIONS, reboot_packages=["pprpm-k*", "pprpm-seclib"])))
    assert {n for n, r in records.items() if r["reboot"]} == {"pprpm-kernel", "pprpm-seclib"}


# --- errors ---------------------------------------------------------------------------

def test_lock_held_by_another_process():
    with pytest.raises(BackendError) as err:
        dnf.collect(Replay("locked"), dict(OPTIONS, releasever="12"))
    assert str(err.value).startswith("dnf repoquery --upgrades failed (exit 200): metadata already locked by")


def test_unreadable_repository_on_refresh():
    with pytest.raises(BackendError) as err:
        dnf.collect(Replay("broken-repo"), dict(OPTIONS, update_cache=True))
    assert str(err.value) == (
        "dnf makecache failed (exit 1): Error: Failed to download metadata for repo 'broken': "
        "Cannot download repomd.xml: Cannot download repodata/repomd.xml: All mirrors were tried")


def test_repository_without_cache():
    with pytest.raises(BackendError) as err:
        dnf.collect(Replay("broken-repo"), OPTIONS)
    assert "Error: Cache-only enabled but no cache for 'broken'" in str(err.value)
    assert "refresh it with update_cache" in str(err.value)


@pytest.mark.parametrize("name, text", [
    ("upgrades", "pprpm-seclib 1.0-2 patchpilot-lab\n"),
    ("updateinfo_list", "PPRPM-SA-2026-0001 Important/Sec.\n"),
    ("updateinfo_info", "=" * 79 + "\n  A title\n" + "=" * 79 + "\n  Update ID: X-1\n"),
])
def test_output_it_cannot_read(name, text):
    run = Replay("pending")
    argv = tuple(dnf.commands(OPTIONS)[name])
    run.answers[argv] = (0, text, "")
    with pytest.raises(BackendError, match="dnf: cannot read its output"):
        dnf.collect(run, OPTIONS)


def test_advisory_listed_without_info():
    run = Replay("pending")
    run.answers[tuple(dnf.commands(OPTIONS)["updateinfo_info"])] = (0, "", "")
    with pytest.raises(BackendError, match="PPRPM-.* is listed but has no info block"):
        dnf.collect(run, OPTIONS)


# --- the rules dnf and zypper share (_rpm) ----------------------------------------------

@pytest.mark.parametrize("epoch, version, release, expected", [
    ("0", "1.0", "2", "1.0-2"), (None, "1.0", "2", "1.0-2"), ("1", "1.1", "1", "1:1.1-1"),
    ("(none)", "2.4", "1.el9", "2.4-1.el9"), ("0", "7", None, "7"),
])
def test_evr(epoch, version, release, expected):
    assert _rpm.evr(epoch, version, release) == expected


@pytest.mark.parametrize("kinds, vendor, expected", [
    (["security", "bugfix"], False, "security"),
    (["bugfix", "enhancement"], True, "bugfix"),
    (["enhancement"], True, "enhancement"),
    (["newpackage"], True, "enhancement"),
    (["recommended"], True, "bugfix"),      # SUSE's word for bug fixes
    (["optional"], True, "enhancement"),
    (["feature"], True, "enhancement"),
    (["document"], True, "other"),
    ([], True, "other"),
    ([], False, "third_party"),
    (["bugfix"], False, "third_party"),
])
def test_classify(kinds, vendor, expected):
    assert _rpm.classify(kinds, vendor) == expected


def test_is_vendor_patterns_are_case_insensitive():
    assert _rpm.is_vendor(["SUSE*"], "SUSE LLC <https://www.suse.com/>")
    assert _rpm.is_vendor(["red hat, inc."], None, "Red Hat, Inc.")
    assert not _rpm.is_vendor([], "Patchpilot Lab", "patchpilot-lab")
    assert not _rpm.is_vendor(["Fedora Project"], None, None)


def test_worst_severity_ignores_words_it_does_not_know():
    assert _rpm.worst_severity(["Moderate", "Important", None]) == "high"
    assert _rpm.worst_severity(["", "unspecified", None]) is None
    assert _rpm.worst_severity(["someday", "Low"]) == "low"


@pytest.mark.parametrize("patterns, flags, expected", [
    ([], [], None), (None, [True], True), ([], [False], False), (["kernel*"], [], False),
    (["kernel*"], [False], False), (["pprpm-*"], [False], True),
])
def test_reboot_hint(patterns, flags, expected):
    assert _rpm.reboot_hint("pprpm-kernel", patterns, flags) is expected


def test_utc_date():
    assert _rpm.utc_date("1772409600") == "2026-03-02"
    assert _rpm.utc_date("0") is None and _rpm.utc_date("soon") is None


def test_a_bad_record_is_not_hidden_as_unreadable_output():
    """make_update's RecordError reaches the module as itself, not as a parse problem."""
    run = Replay("pending")
    argv = tuple(dnf.commands(OPTIONS)["installed"])
    run.answers[argv] = (0, "", "")  # nothing installed: an upgrade without an installed version
    with pytest.raises(RecordError):
        dnf.collect(run, OPTIONS)
