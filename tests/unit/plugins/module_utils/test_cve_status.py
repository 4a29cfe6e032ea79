"""cve_status: what an emergency CVE means for one host."""

from ansible_collections.patchpilot.fleet.plugins.module_utils.cve_status import cve_status

RECORDS = [{"name": "libssl3", "candidate_version": "3.0-3", "cves": ["CVE-2026-2"]},
           {"name": "held", "candidate_version": "2.0", "cves": ["cve-2026-5"]},
           {"name": "curl", "candidate_version": "8.0-2", "cves": []}]
PACKAGES = [{"name": "libssl3", "version": "3.0-3", "cves": ["CVE-2026-2"]}, {"name": "curl", "version": "8.0-2"}]


def test_every_state():
    found = cve_status(["cve-2026-2", "CVE-2026-5", "CVE-2026-7", "CVE-2026-8", "CVE-2026-9"], RECORDS, PACKAGES,
                       {"CVE-2026-7": "resolved", "CVE-2026-8": "open"})
    assert found["CVE-2026-2"] == {"state": "fixed", "packages": ["libssl3 3.0-3"], "text": "fixed by libssl3 3.0-3"}
    assert found["CVE-2026-5"]["state"] == "not_planned" and found["CVE-2026-5"]["packages"] == ["held 2.0"]
    assert found["CVE-2026-7"]["state"] == "not_affected" and "security tracker" in found["CVE-2026-7"]["text"]
    assert found["CVE-2026-8"] == {"state": "not_fixed", "packages": [],
                                   "text": "not fixed by any available update (the security tracker says open)"}
    assert found["CVE-2026-9"]["text"] == "not fixed by any available update"


def test_no_cves_and_no_records():
    assert cve_status([], RECORDS, PACKAGES) == {}
    assert cve_status(["CVE-2026-1"], None, None)["CVE-2026-1"]["state"] == "not_fixed"
