"""debian_changelog: CVEs, urgency, advisories and release date from a Debian changelog."""

import pytest

from ansible_collections.patchpilot.fleet.plugins.module_utils import debian_changelog as dc

CHANGELOG = """\
pplab-seclib (1.2-1+deb12u2) bookworm-security; urgency=high

  * Non-maintainer upload by the Security Team.
  * Fix a heap overflow in the parser (CVE-2026-10001, cve-2026-10002).
  * Announced as DSA-6001-1.

 -- Lab Security Team <security@example.org>  Tue, 01 Dec 2026 22:30:00 +0100

pplab-seclib (1.2-1+deb12u1) bookworm; urgency=medium, binary-only=yes

  * Fix CVE-2026-10001 partially; see DLA 4100-1 for bullseye.

 -- Jane Doe <jane@example.org>  Fri, 20 Nov 2026 08:00:00 +0000

pplab-seclib (1.2-1) unstable; urgency=low

  * New upstream release (Closes: #100000).

 -- Jane Doe <jane@example.org>  Sun, 01 Mar 2026 08:00:00 +0000

pplab-seclib (1.0-1) unstable; urgency=low

  * Initial release.

 -- Jane Doe <jane@example.org>  not a date

Old Changelog:
  free-form history that is no entry, mentioning CVE-1999-0001.

Local variables:
mode: debian-changelog
End:
"""


def test_parse_reads_every_entry_newest_first():
    entries = dc.parse(CHANGELOG)
    assert [e["version"] for e in entries] == ["1.2-1+deb12u2", "1.2-1+deb12u1", "1.2-1", "1.0-1"]
    first = entries[0]
    assert first == {
        "package": "pplab-seclib", "version": "1.2-1+deb12u2", "distributions": ["bookworm-security"],
        "urgency": "high", "date": "2026-12-01T21:30:00+00:00", "maintainer": "Lab Security Team <security@example.org>",
        "cves": ["CVE-2026-10001", "CVE-2026-10002"], "advisories": ["DSA-6001-1"],
    }
    assert entries[1]["urgency"] == "medium" and entries[1]["advisories"] == ["DLA-4100-1"]
    assert entries[2]["cves"] == [] and entries[2]["advisories"] == []
    assert entries[3]["date"] is None  # an unreadable trailer date: no date, the entry kept
    assert all("CVE-1999-0001" not in e["cves"] for e in entries)  # text after the last entry is no entry


@pytest.mark.parametrize("text", ["", "no changelog here\n", None, "pkg (1.0) unstable\n"])
def test_parse_of_no_entries(text):
    assert dc.parse(text) == []


def test_between_picks_what_an_update_brings():
    entries = dc.parse(CHANGELOG)
    brought = dc.between(entries, "1.2-1", "1.2-1+deb12u2")
    assert [e["version"] for e in brought] == ["1.2-1+deb12u2", "1.2-1+deb12u1"]
    # a changelog read from a newer .deb: entries above the candidate are not brought
    assert [e["version"] for e in dc.between(entries, "1.2-1", "1.2-1+deb12u1")] == ["1.2-1+deb12u1"]
    assert [e["version"] for e in dc.between(entries, None, "1.2-1")] == ["1.2-1", "1.0-1"]
    assert dc.between(entries, "1.2-1+deb12u2", "1.2-1+deb12u2") == []
    with pytest.raises(dc.ChangelogError, match="installed version"):
        dc.between(entries, "not a version!", "1.2-1")


def test_tilde_and_epoch_order_as_dpkg_does():
    text = ("p (1:1.0~rc1-1) unstable; urgency=high\n\n  * CVE-2026-1\n\n -- A <a@example.org>  Mon, 02 Nov 2026 10:00:00 +0000\n\n"
            "p (2.0-1) unstable; urgency=low\n\n  * x\n\n -- A <a@example.org>  Sun, 01 Nov 2026 10:00:00 +0000\n")
    entries = dc.parse(text)
    assert [e["version"] for e in dc.between(entries, "2.0-1", "1:1.0~rc1-1")] == ["1:1.0~rc1-1"]


def test_summary_of_an_update():
    entries = dc.between(dc.parse(CHANGELOG), "1.2-1", "1.2-1+deb12u2")
    assert dc.summary(entries, "1.2-1+deb12u2") == {
        "cves": ["CVE-2026-10001", "CVE-2026-10002"], "advisories": ["DLA-4100-1", "DSA-6001-1"],
        "urgency": "high", "severity": "high", "released": "2026-12-01", "entries": 2}
    mapped = dc.summary(entries, "1.2-1+deb12u2", severities={"high": "critical"})
    assert mapped["severity"] == "critical"


def test_summary_says_unknown_not_none():
    assert dc.summary([], "1.0") == {"cves": "unknown", "advisories": "unknown", "urgency": "unknown",
                                     "severity": "unknown", "released": "unknown", "entries": 0}
    # the candidate's own entry missing (a changelog older than the candidate): no release date
    old = dc.between(dc.parse(CHANGELOG), "1.0-1", "1.2-1+deb12u3")
    assert dc.summary(old, "1.2-1+deb12u3")["released"] == "unknown"
    # entries without urgency: the urgency is unknown, the CVEs are still known (an empty list means none)
    plain = [dict(e, urgency=None) for e in dc.between(dc.parse(CHANGELOG), "1.2-1+deb12u1", "1.2-1+deb12u2")]
    result = dc.summary(plain, "1.2-1+deb12u2")
    assert result["urgency"] == "unknown" and result["severity"] == "unknown" and result["cves"]
    none_fixed = dc.summary(dc.between(dc.parse(CHANGELOG), "1.0-1", "1.2-1"), "1.2-1")
    assert none_fixed["cves"] == [] and none_fixed["released"] == "2026-03-01"


@pytest.mark.parametrize("source, version, component, expected", [
    ("openssl", "3.0.15-1~deb12u1", "main", "main/o/openssl/openssl_3.0.15-1~deb12u1"),
    ("libxml2", "2.9.14+dfsg-1.3~deb12u1", "main", "main/libx/libxml2/libxml2_2.9.14+dfsg-1.3~deb12u1"),
    ("systemd", "1:252.33-1~deb12u1", "updates/main", "main/s/systemd/systemd_252.33-1~deb12u1"),
    ("lib", "1.0", "contrib", "contrib/l/lib/lib_1.0"),
])
def test_change_path(source, version, component, expected):
    assert dc.change_path(source, version, component) == expected


@pytest.mark.parametrize("source, version, component, message", [
    ("../etc", "1.0", "main", "source package"),
    ("openssl", "1.0 2", "main", "version"),
    ("openssl", "1.0", "main/../../x", "component"),
])
def test_change_path_refuses_what_would_leave_the_archive(source, version, component, message):
    with pytest.raises(dc.ChangelogError, match=message):
        dc.change_path(source, version, component)
