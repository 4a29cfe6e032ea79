"""zypper backend: real zypper output recorded on the lab's RPM host (fixtures/rpm) in, update records out."""

from __future__ import annotations

import pytest

from ansible_collections.patchpilot.fleet.plugins.module_utils.backends import dnf, zypper
from ansible_collections.patchpilot.fleet.plugins.module_utils.records import BackendError

from .rpm_recordings import OPTIONS, Replay, by_name, expected_pending, output
PENDING_NAMES = ["pprpm-extra", "pprpm-kernel", "pprpm-seclib", "pprpm-tools", "pprpm-tools-libs"]

EXPECTED_PENDING = expected_pending("zypper")


# --- parsers over the recordings ------------------------------------------------------

def test_parse_list_updates_xml():
    updates = zypper.parse_list_updates_xml(output("pending", "zypper-list_updates"))
    assert [(u["name"], u["edition_old"], u["edition"], u["arch"], u["alias"], u["url"]) for u in updates] == [
        ("pprpm-extra", "1.0-1", "1.0-2", "noarch", "patchpilot-lab", "file:/srv/patchpilot-rpm/repo"),
        ("pprpm-kernel", "1.0-1", "1.1-1", "noarch", "patchpilot-lab", "file:/srv/patchpilot-rpm/repo"),
        ("pprpm-seclib", "1.0-1", "1.0-2", "noarch", "patchpilot-lab", "file:/srv/patchpilot-rpm/repo"),
        ("pprpm-tools", "1.0-1", "1.1-1", "noarch", "patchpilot-lab", "file:/srv/patchpilot-rpm/repo"),
        ("pprpm-tools-libs", "1:1.0-1", "1:1.1-1", "noarch", "patchpilot-lab", "file:/srv/patchpilot-rpm/repo"),
    ]


def test_parse_list_patches_xml():
    patches = zypper.parse_list_patches_xml(output("pending", "zypper-list_patches"))
    assert [(p["id"], p["status"], p["category"], p["severity"], p["reboot"], p["released"], p["cves"], p["alias"])
            for p in patches] == [
        ("PPRPM-SA-2026-0001", "needed", "security", "important", False, "2026-03-02",
         ["CVE-2026-91001", "CVE-2026-91002"], "patchpilot-lab"),
        ("PPRPM-BA-2026-0002", "needed", "bugfix", "moderate", False, "2026-02-16", [], "patchpilot-lab"),
        # reboot_suggested in updateinfo.xml is zypper's restart flag.
        ("PPRPM-EA-2026-0003", "needed", "enhancement", None, True, "2026-03-09", [], "patchpilot-lab"),
    ]


def test_parse_info_packages_and_patch_conflicts():
    info = zypper.parse_info(output("pending", "zypper-info"))
    assert sorted(info["package"]) == PENDING_NAMES
    libs = info["package"]["pprpm-tools-libs"]
    assert (libs["vendor"], libs["repository"], libs["version"], libs["status"]) == (
        "Patchpilot Lab", "Patchpilot Lab RPM repository", "1:1.1-1", "out-of-date (version 1:1.0-1 installed)")
    assert libs["description"] == ("Library of the lab command-line tools. "
                                   "Test fixture built by the patchpilot lab.")
    conflicts = {pid: [(c["name"], c["op"], c["edition"]) for c in p["conflicts"]] for pid, p in info["patch"].items()}
    assert conflicts == {
        # One entry on the line itself; several as "[N]" and indented lines.
        "PPRPM-SA-2026-0001": [("pprpm-seclib", "<", "1.0-2")],
        "PPRPM-BA-2026-0002": [("pprpm-tools", "<", "1.1-1"), ("pprpm-tools-libs", "<", "1:1.1-1")],
        "PPRPM-EA-2026-0003": [("pprpm-kernel", "<", "1.1-1")],
    }
    assert info["patch"]["PPRPM-EA-2026-0003"]["interactive"] == "reboot"


@pytest.mark.parametrize("text, expected", [
    ("pprpm-seclib < 1.0-2", {"name": "pprpm-seclib", "op": "<", "edition": "1.0-2"}),
    ("libfoo1.x86_64 < 1:1.2-3.1", {"name": "libfoo1.x86_64", "op": "<", "edition": "1:1.2-3.1"}),
    ("srcpackage:libfoo < 1.2-3.1", None),
    ("pprpm-kernel", {"name": "pprpm-kernel", "op": None, "edition": None}),
])
def test_parse_conflict(text, expected):
    assert zypper.parse_conflict(text) == expected


def test_up_to_date_listings_are_empty():
    assert zypper.parse_list_updates_xml(output("up-to-date", "zypper-list_updates")) == []
    assert zypper.parse_list_patches_xml(output("up-to-date", "zypper-list_patches")) == []


@pytest.mark.parametrize("case, name", [("locked", "zypper-list_updates"), ("broken-repo", "zypper-refresh")])
def test_parse_xml_messages(case, name):
    messages = zypper.parse_xml_messages(output(case, name))
    assert messages and all(m.strip() for m in messages)


# --- collect(): commands and records --------------------------------------------------

def test_pending_host_gives_one_record_per_package():
    records = by_name(zypper.collect(Replay("pending"), OPTIONS))
    assert records == EXPECTED_PENDING


def test_commands_never_refresh_unless_asked():
    run = Replay("pending")
    zypper.collect(run, OPTIONS)
    assert run.calls == [
        ["zypper", "--non-interactive", "--no-refresh", "--xmlout", "list-updates"],
        ["zypper", "--non-interactive", "--no-refresh", "--xmlout", "list-patches", "--with-optional"],
        ["zypper", "--non-interactive", "--no-refresh", "info", *PENDING_NAMES,
         "patch:PPRPM-BA-2026-0002", "patch:PPRPM-EA-2026-0003", "patch:PPRPM-SA-2026-0001"],
    ]
    refresh = Replay("pending")
    zypper.collect(refresh, dict(OPTIONS, update_cache=True))
    assert refresh.calls == [["zypper", "--non-interactive", "--xmlout", "refresh"], *run.calls]


def test_after_the_security_advisory_was_applied():
    records = by_name(zypper.collect(Replay("partial"), OPTIONS))
    assert records == {name: rec for name, rec in EXPECTED_PENDING.items() if name != "pprpm-seclib"}


def test_up_to_date_host_has_no_records_and_asks_no_info():
    run = Replay("up-to-date")
    assert zypper.collect(run, dict(OPTIONS, update_cache=True)) == []
    assert not any("info" in argv for argv in run.calls)


def test_vendor_rule_makes_other_repositories_third_party():
    records = by_name(zypper.collect(Replay("pending"), dict(OPTIONS, vendor_origins=["SUSE*", "openSUSE"])))
    assert {n: r["classification"] for n, r in records.items()} == {
        "pprpm-extra": "third_party", "pprpm-kernel": "third_party", "pprpm-seclib": "security",
        "pprpm-tools": "third_party", "pprpm-tools-libs": "third_party"}
    by_alias = by_name(zypper.collect(Replay("pending"), dict(OPTIONS, vendor_origins=["patchpilot-lab"])))
    assert by_alias == EXPECTED_PENDING


def test_reboot_flag_of_the_patch_without_patterns():
    records = by_name(zypper.collect(Replay("pending"), dict(OPTIONS, reboot_packages=[])))
    assert {n: r["reboot"] for n, r in records.items()} == {
        "pprpm-kernel": True,        # the patch says reboot
        "pprpm-seclib": False, "pprpm-tools": False, "pprpm-tools-libs": False,  # their patches say no
        "pprpm-extra": None,         # no patch, no pattern: unknown
    }


def test_optional_patches_are_pending_too():
    """zypper without --with-optional marks the enhancement patch 'optional': still pending."""
    run = Replay("pending")
    argv = tuple(zypper.commands(OPTIONS)["list_patches"])
    rc, text, err = run.answers[argv]
    run.answers[argv] = (rc, text.replace('status="needed" category="enhancement"',
                                          'status="optional" category="enhancement"'), err)
    assert by_name(zypper.collect(run, OPTIONS))["pprpm-kernel"] == EXPECTED_PENDING["pprpm-kernel"]


def test_dnf_and_zypper_give_the_same_records():
    """One host, two tools: every field but the backend agrees (given a reboot pattern, which dnf needs)."""
    for case in ("pending", "partial", "up-to-date"):
        from_dnf = {r.name: dict(r.as_dict(), backend=None) for r in dnf.collect(Replay(case), OPTIONS)}
        from_zypper = {r.name: dict(r.as_dict(), backend=None) for r in zypper.collect(Replay(case), OPTIONS)}
        assert from_dnf == from_zypper, case


# --- errors ---------------------------------------------------------------------------

def test_lock_held_by_another_process():
    with pytest.raises(BackendError) as err:
        zypper.collect(Replay("locked"), OPTIONS)
    assert str(err.value).startswith(
        "zypper list-updates failed (exit 7, locked by another process): System management is locked by the "
        "application with pid")


def test_unreadable_repository_on_refresh():
    with pytest.raises(BackendError) as err:
        zypper.collect(Replay("broken-repo"), dict(OPTIONS, update_cache=True))
    text = str(err.value)
    assert text.startswith("zypper refresh failed (exit 4, libzypp error): Repository 'Broken lab repository' "
                           "is invalid.")
    assert "Some of the repositories have not been refreshed because of an error." in text


def test_repository_skipped_while_listing():
    """Exit 106: zypper lists what it could read, but the scan would be incomplete."""
    with pytest.raises(BackendError) as err:
        zypper.collect(Replay("broken-repo"), OPTIONS)
    assert str(err.value).startswith("zypper list-updates failed (exit 106, some repositories were skipped")
    assert "Specified path '/srv/nowhere' is not a directory" in str(err.value)


@pytest.mark.parametrize("name, text", [
    ("list_updates", "Loading repository data...\n"),
    ("list_patches", "<?xml version='1.0'?>\n<stream><message type='info'>hi</message></stream>\n"),
])
def test_output_it_cannot_read(name, text):
    run = Replay("pending")
    run.answers[tuple(zypper.commands(OPTIONS)[name])] = (0, text, "")
    with pytest.raises(BackendError, match="zypper: cannot read its output"):
        zypper.collect(run, OPTIONS)


def test_error_without_xml_uses_the_last_lines():
    run = Replay("pending")
    patches = ["PPRPM-BA-2026-0002", "PPRPM-EA-2026-0003", "PPRPM-SA-2026-0001"]
    argv = tuple(zypper.info_command(PENDING_NAMES, patches))
    run.answers[argv] = (5, "", "Root privileges are required to run this command.\n")
    with pytest.raises(BackendError, match=r"zypper info failed \(exit 5, not enough privileges\): Root privileges"):
        zypper.collect(run, OPTIONS)
