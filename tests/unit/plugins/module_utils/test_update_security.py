"""update_security: which host reads which changelog, and what a changelog adds to an update record."""

from ansible_collections.patchpilot.fleet.plugins.module_utils import update_security as us


def item(name, version, source=None, source_version=None, url=None):
    return {"name": name, "version": version, "source": source or name, "source_version": source_version or version,
            "component": "main", "changelog_url": url, "repository": "file:/srv/repo lab"}


def entry(version, urgency="medium", date="2026-11-30T10:00:00+00:00", cves=(), advisories=()):
    return {"package": "x", "version": version, "distributions": ["lab"], "urgency": urgency, "date": date,
            "maintainer": "m", "cves": list(cves), "advisories": list(advisories)}


def record(name, installed, candidate, **extra):
    return {"name": name, "installed_version": installed, "candidate_version": candidate, "effect": "upgrade",
            "backend": "apt", "cves": [], "advisories": [], "severity": None, "released": None, **extra}


def test_each_source_version_is_read_once_and_the_reads_spread_over_the_hosts():
    resolved = {
        "web02": [item("libssl3", "3.0-2", "openssl"), item("openssl", "3.0-2")],
        "web01": [item("openssl", "3.0-2"), item("libssl3", "3.0-2", "openssl"), item("curl", "8.0-1")],
        "db01": [item("curl", "8.0-1"), item("zlib1g", "1.3-1", "zlib")],
    }
    plan, stats = us.fetch_plan(resolved, lambda source, version: source == "zlib")
    assert plan == {
        "db01": [{"name": "curl", "version": "8.0-1", "source": "curl", "source_version": "8.0-1", "changelog_url": None}],
        "web01": [{"name": "libssl3", "version": "3.0-2", "source": "openssl", "source_version": "3.0-2",
                   "changelog_url": None}],
    }
    assert stats == {"keys": 3, "cached": 1, "to_read": 2}
    # a warm cache: nothing to read
    assert us.fetch_plan(resolved, lambda source, version: True) == ({}, {"keys": 3, "cached": 3, "to_read": 0})


def test_host_security_reads_the_entries_the_update_brings():
    cache = {("openssl", "3.0-3"): {"origin": "deb:libssl3_3.0-3_amd64.deb", "entries": [
        entry("3.0-3", "high", "2026-12-01T22:00:00+00:00", ["CVE-2026-2"], ["DSA-6001-1"]),
        entry("3.0-2", "low", cves=["CVE-2026-1"]),
        entry("3.0-1", "low", cves=["CVE-2025-9"])]}}
    updates = [record("libssl3", "3.0-1", "3.0-3"), record("curl", "8.0-1", "8.0-2"),
               dict(record("new", None, "1.0"), effect="new_dependency"), dict(record("rpm", "1", "2"), backend="dnf")]
    resolved = [item("libssl3", "3.0-3", "openssl"), item("curl", "8.0-2")]
    found = us.host_security(updates, resolved, lambda s, v: cache.get((s, v)))
    assert found["libssl3"] == {"cves": ["CVE-2026-1", "CVE-2026-2"], "advisories": ["DSA-6001-1"], "urgency": "high",
                                "severity": "high", "released": "2026-12-01", "entries": 2, "source": "openssl",
                                "source_version": "3.0-3", "origin": "deb:libssl3_3.0-3_amd64.deb"}
    assert found["curl"]["origin"] == "unknown" and found["curl"]["cves"] == "unknown"
    assert set(found) == {"libssl3", "curl"}


def test_a_changelog_that_could_not_be_read_says_why():
    cache = {("curl", "8.0-2"): {"origin": "deb", "entries": [], "missing": "no Debian changelog in the package"}}
    found = us.host_security([record("curl", "8.0-1", "8.0-2")], [item("curl", "8.0-2")], lambda s, v: cache.get((s, v)))
    assert found["curl"]["missing"] == "no Debian changelog in the package" and found["curl"]["released"] == "unknown"


def test_merge_adds_what_the_changelog_says():
    info = {"cves": ["CVE-2026-2"], "advisories": ["DSA-6001-1"], "urgency": "high", "severity": "high",
            "released": "2026-12-01", "entries": 2, "source": "openssl", "origin": "deb:x"}
    merged = us.merge(record("libssl3", "3.0-1", "3.0-3", cves=["CVE-2026-1"], severity="medium"), info)
    assert merged["cves"] == ["CVE-2026-1", "CVE-2026-2"] and merged["advisories"] == ["DSA-6001-1"]
    assert merged["severity"] == "high" and merged["released"] == "2026-12-01"
    assert merged["changelog"] == {"origin": "deb:x", "urgency": "high", "entries": 2, "source": "openssl"}
    # a higher severity and a known release date of the record's own are kept
    kept = us.merge(record("a", "1", "2", severity="critical", released="2026-11-01"), info)
    assert kept["severity"] == "critical" and kept["released"] == "2026-11-01"


def test_merge_of_nothing_learned_says_unknown():
    info = {"cves": "unknown", "advisories": "unknown", "urgency": "unknown", "severity": "unknown",
            "released": "unknown", "entries": 0, "source": "curl", "origin": "unknown", "missing": "gone"}
    merged = us.merge(record("curl", "1", "2"), info)
    assert merged["cves"] == [] and merged["severity"] is None and merged["released"] is None
    assert merged["changelog"] == {"origin": "unknown", "urgency": "unknown", "entries": 0, "source": "curl",
                                   "missing": "gone"}
    assert us.merge(record("curl", "1", "2"), None) == record("curl", "1", "2")
