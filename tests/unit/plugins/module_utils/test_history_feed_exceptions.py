"""history_feed.exception_records: held and rejected updates, with reason and expiry."""

from datetime import date

from ansible_collections.patchpilot.fleet.plugins.module_utils.history_feed import exception_records

ENTRY = {"host": "app01", "excluded": [
    {"name": "pplab-legacy", "version": "2.0-1", "reason": "rejected (package pplab-legacy): sign-off, until 2099-12-31",
     "until": "2099-12-31"},
    {"name": "kept", "version": "1.1", "reason": "kept back by the package manager"},
    {"name": "old", "version": "1.2", "reason": "rejected (CVE-2026-1): waiting, until 2026-11-01", "until": "2026-11-01"},
], "refused": [{"name": "libgone", "version": None, "reason": "removal not allowed"}]}


def test_each_left_out_update_is_an_exception():
    found = exception_records("r1", ENTRY, "2026-12-01T10:00:00+00:00", today=date(2026, 12, 1))
    assert [(r["package"], r["state"], r["data"]["expires"], r["data"]["expired"]) for r in found] == [
        ("pplab-legacy", "rejected", "2099-12-31", False),
        ("kept", "held", None, False),
        ("old", "rejected", "2026-11-01", True),
        ("libgone", "rejected", None, False)]
    assert all(r["kind"] == "exception" and r["run_id"] == "r1" and r["host"] == "app01" for r in found)
    assert found[1]["data"]["reason"] == "kept back by the package manager"


def test_an_unreadable_expiry_is_not_expired():
    entry = {"host": "x", "excluded": [{"name": "a", "version": "1", "reason": "rejected", "until": "soon"}]}
    assert exception_records(None, entry, None, today=date(2026, 12, 1))[0]["data"]["expired"] is False


def test_nothing_left_out_no_exception():
    assert exception_records("r1", {"host": "x"}, None) == []
