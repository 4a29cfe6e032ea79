"""The end-of-life table and eol_status."""

from datetime import date, datetime

import pytest

from ansible_collections.patchpilot.fleet.plugins.module_utils.eol import (
    EOL_TABLE,
    STATUSES,
    eol_status,
    find_release,
)

D = date.fromisoformat
TODAY = D("2026-11-27")


# ---------------------------------------------------------------------------
# The table itself
# ---------------------------------------------------------------------------

def test_table_covers_the_releases_the_project_supports():
    keys = {(row.family, row.release) for row in EOL_TABLE}
    expected = {
        *(("debian", v) for v in ("10", "11", "12", "13")),
        *(("ubuntu", v) for v in ("20.04", "22.04", "24.04")),
        *((family, v) for family in ("rhel", "rocky", "alma") for v in ("8", "9")),
        *(("sles", f"15.{sp}") for sp in range(8)),
        *(("windows", v) for v in ("2016", "2019", "2022", "2025")),
        *(("macos", v) for v in ("13", "14", "15")),
    }
    assert keys == expected
    assert len(keys) == len(EOL_TABLE), "a release is in the table twice"


@pytest.mark.parametrize("row", EOL_TABLE, ids=lambda row: f"{row.family}-{row.release}")
def test_every_row_is_dated_and_sourced(row):
    assert row.source.startswith("https://") and " " not in row.source
    assert row.regular_end is None or isinstance(row.regular_end, date)
    assert row.extended_end is None or isinstance(row.extended_end, date)
    if row.regular_end and row.extended_end:
        assert row.regular_end <= row.extended_end
    assert row.name and row.extended_name


@pytest.mark.parametrize("family, release, regular_end, extended_end", [
    # Spot checks against the sources named in the table.
    ("debian", "11", "2024-08-14", "2026-08-31"),
    ("debian", "12", "2026-07-11", "2028-06-30"),
    ("ubuntu", "22.04", "2027-06-01", "2032-04-21"),
    ("rhel", "9", "2027-05-31", "2032-05-31"),
    ("alma", "8", "2024-05-01", "2029-03-01"),
    ("sles", "15.5", "2024-12-31", "2027-12-31"),
    ("windows", "2019", "2024-01-09", "2029-01-09"),
    ("macos", "13", "2023-09-26", "2025-09-15"),
    ("macos", "15", "2025-09-15", None),
])
def test_known_dates(family, release, regular_end, extended_end):
    row = next(r for r in EOL_TABLE if (r.family, r.release) == (family, release))
    assert row.regular_end == D(regular_end)
    assert row.extended_end == (D(extended_end) if extended_end else None)


# ---------------------------------------------------------------------------
# Matching a host
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("distribution, version, release", [
    # As ansible_facts.distribution / distribution_version give them.
    ("Debian", "12.8", "Debian 12 (bookworm)"),
    ("Debian", "12", "Debian 12 (bookworm)"),
    ("debian", "bookworm", "Debian 12 (bookworm)"),      # a codename matches
    ("Debian", "10.13", "Debian 10 (buster)"),
    ("Ubuntu", "22.04", "Ubuntu 22.04 LTS (jammy)"),
    ("Ubuntu", "24.04.1", "Ubuntu 24.04 LTS (noble)"),
    ("Ubuntu", "noble", "Ubuntu 24.04 LTS (noble)"),
    ("RedHat", "9.4", "Red Hat Enterprise Linux 9"),
    ("Red Hat Enterprise Linux", "8", "Red Hat Enterprise Linux 8"),
    ("Rocky", "9.5", "Rocky Linux 9"),
    ("AlmaLinux", "8.10", "AlmaLinux 8"),
    ("SLES", "15.4", "SLES 15 SP4"),
    ("SLES_SAP", "15.7", "SLES 15 SP7"),
    ("SLES", "15", "SLES 15"),
    ("SLES", "15 SP6", "SLES 15 SP6"),
    ("SLES", "15-SP3", "SLES 15 SP3"),
    ("Microsoft Windows Server 2022 Datacenter", "10.0.20348.2700", "Windows Server 2022"),
    ("Microsoft Windows Server 2016 Standard", "10.0.14393.0", "Windows Server 2016"),
    ("Windows", "10.0.17763.6532", "Windows Server 2019"),          # by build number
    ("Microsoft Windows Server 2025 Datacenter Evaluation", "10.0.26100.1", "Windows Server 2025"),
    ("MacOSX", "14.7.1", "macOS 14 (Sonoma)"),
    ("macOS", "13", "macOS 13 (Ventura)"),
])
def test_find_release(distribution, version, release):
    assert find_release(distribution, version).name == release


@pytest.mark.parametrize("distribution, version", [
    ("Fedora", "40"),
    ("Debian", "9"),
    ("Debian", "n/a"),             # testing/unstable report no version
    ("Debian", "sid"),
    ("Ubuntu", "23.10"),
    ("RedHat", "7.9"),
    ("SLES", "12.5"),
    ("Microsoft Windows 10 Pro", "10.0.19045"),
    ("Microsoft Windows 10 Enterprise LTSC 2019", "10.0.17763.1"),   # a desktop, not Server 2019
    ("Windows", "10.0.22631"),                                        # a build that is no server
    ("MacOSX", "10.15.7"),
    ("", ""),
    (None, None),
])
def test_unknown_releases(distribution, version):
    assert find_release(distribution, version) is None
    result = eol_status(distribution, version, TODAY)
    assert result["status"] == "unknown"
    assert result["regular_end"] is None and result["extended_end"] is None
    assert "no end-of-life data" in result["message"]


# ---------------------------------------------------------------------------
# Status on a date
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("distribution, version, today, status, message", [
    # Debian 12: regular to 2026-07-11, LTS to 2028-06-30; the end day is still inside.
    ("Debian", "12", "2026-07-11", "supported",
     "Debian 12 (bookworm) is supported: regular support until 2026-07-11, then Debian LTS until 2028-06-30"),
    ("Debian", "12", "2026-07-12", "extended",
     "Debian 12 (bookworm) is past regular support (ended 2026-07-11): Debian LTS only, until 2028-06-30"),
    ("Debian", "12", "2028-06-30", "extended",
     "Debian 12 (bookworm) is past regular support (ended 2026-07-11): Debian LTS only, until 2028-06-30"),
    ("Debian", "12", "2028-07-01", "outdated",
     "Debian 12 (bookworm) is out of support: Debian LTS ended 2028-06-30"),
    # On the table's date: the lab's releases.
    ("Debian", "11", "2026-11-27", "outdated",
     "Debian 11 (bullseye) is out of support: Debian LTS ended 2026-08-31"),
    ("Debian", "13", "2026-11-27", "supported",
     "Debian 13 (trixie) is supported: regular support until 2028-08-09, then Debian LTS until 2030-06-30"),
    ("Ubuntu", "20.04", "2026-11-27", "extended",
     "Ubuntu 20.04 LTS (focal) is past regular support (ended 2025-05-29): Ubuntu Pro ESM only, until 2030-04-23"),
    ("RedHat", "8.10", "2026-11-27", "extended",
     "Red Hat Enterprise Linux 8 is past regular support (ended 2024-05-31): Maintenance Support only, until 2029-05-31"),
    ("SLES", "15.3", "2026-11-27", "outdated", "SLES 15 SP3 is out of support: LTSS ended 2025-12-31"),
    ("Microsoft Windows Server 2016 Standard", "10.0.14393", "2027-01-13", "outdated",
     "Windows Server 2016 is out of support: extended support ended 2027-01-12"),
    # An end not announced never ends a phase.
    ("MacOSX", "15.1", "2040-01-01", "extended",
     "macOS 15 (Sequoia) is past regular support (ended 2025-09-15): security updates only, end not announced"),
    ("MacOSX", "13.7", "2026-11-27", "outdated",
     "macOS 13 (Ventura) is out of support: security updates ended 2025-09-15"),
])
def test_status(distribution, version, today, status, message):
    result = eol_status(distribution, version, D(today))
    assert result["status"] == status
    assert result["message"] == message
    row = find_release(distribution, version)
    assert (result["regular_end"], result["extended_end"]) == (row.regular_end, row.extended_end)
    assert result["source"] == row.source and result["release"] == row.name


def test_result_keys():
    assert set(eol_status("Debian", "12", TODAY)) == {
        "status", "regular_end", "extended_end", "message", "release", "extended_name", "source"}
    assert {eol_status(*args, TODAY)["status"] for args in (
        ("Debian", "13"), ("Debian", "12"), ("Debian", "11"), ("Fedora", "40"))} == set(STATUSES)


@pytest.mark.parametrize("today", ["2026-11-27", datetime(2026, 11, 27, 23, 59), D("2026-11-27")])
def test_today_forms(today):
    assert eol_status("Debian", "12", today)["status"] == "extended"


@pytest.mark.parametrize("today", ["27/11/2026", "", None, 20261127])
def test_bad_today(today):
    with pytest.raises(ValueError, match="today: expected a date or an ISO date"):
        eol_status("Debian", "12", today)
