"""history_feed.asset_record: a host's facts and CMDB fields as an asset record."""

from datetime import date

from ansible_collections.patchpilot.fleet.plugins.module_utils.history_feed import asset_record

FACTS = {"hostname": "web01", "ip_address": "10.0.0.5", "mac_address": "02:00:00:00:00:05",
         "os_distribution": "Debian", "os_version": "11", "kernel": "5.10.0-30-amd64", "machine_id": "m-1"}
CMDB = {"location": "dc-east", "criticality": "high", "role": "web", "data_sensitivity": "internal",
        "internet_exposed": True, "ip_address": "10.9.9.9"}


def test_facts_and_cmdb_make_the_asset():
    record = asset_record("web01", FACTS, CMDB, run_id="r1", at="2026-12-01T10:00:00+00:00", today=date(2026, 12, 1))
    assert (record["kind"], record["host"], record["machine_id"], record["run_id"]) == ("asset", "web01", "m-1", "r1")
    data = record["data"]
    assert data["ip"] == "10.0.0.5", "the host's own facts win over the CMDB's"
    assert (data["hostname"], data["mac"], data["os"], data["location"]) == \
        ("web01", "02:00:00:00:00:05", "Debian 11", "dc-east")
    assert data["revision"] == "Debian 11, kernel 5.10.0-30-amd64"
    assert (data["criticality"], data["group"], data["internet_exposed"]) == ("high", "web", True)
    assert data["eol"]["status"] in ("supported", "extended", "outdated") and data["eol"]["date"]
    assert data["reachable"] is True


def test_an_outdated_release_carries_its_end():
    record = asset_record("old", {"hostname": "old", "os_distribution": "Debian", "os_version": "10"}, None,
                          today=date(2026, 12, 1))
    assert record["data"]["eol"]["status"] == "outdated"


def test_no_facts_no_asset():
    assert asset_record("db01", None, CMDB) is None
    assert asset_record("db01", {}, None) is None


def test_a_scan_report_row_says_whether_the_host_was_reached():
    row = {"host": "db01", "status": "unreachable", "hostname": "db01", "os_distribution": "Debian",
           "os_version": "12", "ip_address": None}
    assert asset_record("db01", row, None, today=date(2026, 12, 1))["data"]["reachable"] is False
