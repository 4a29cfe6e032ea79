"""history_records: the one shape of the store's records; open_store: which store a spec names."""

import pytest

from ansible_collections.patchpilot.fleet.plugins.module_utils.history_records import HOST_RESULTS, LIFECYCLE, key
from ansible_collections.patchpilot.fleet.plugins.module_utils.history_store import StoreError, open_store


def test_the_same_event_has_the_same_key_whatever_its_time_and_data():
    one = {"kind": "update", "run_id": "r1", "host": "web01", "package": "openssl", "version": "3.0.1",
           "state": "installed", "at": "2026-12-01T10:00:00+00:00", "data": {"from_version": "3.0.0"}}
    assert key(one) == key(dict(one, at="2026-12-02T10:00:00+00:00", data={}))
    assert key(one) != key(dict(one, state="verified"))
    assert key(one) != key(dict(one, run_id="r2"))


def test_lifecycle_names_are_the_issues_in_order():
    assert LIFECYCLE[:3] == ("missing", "approved", "downloaded")
    assert LIFECYCLE.index("installed") < LIFECYCLE.index("active") < LIFECYCLE.index("verified")
    assert "unreachable" in HOST_RESULTS and "rolled_back" in HOST_RESULTS


def test_the_default_store_is_the_state_directorys_sqlite_file(tmp_path):
    store = open_store("", str(tmp_path / "state"))
    try:
        assert store.where == str(tmp_path / "state" / "history.sqlite")
    finally:
        store.close()


def test_an_unknown_scheme_is_refused_without_echoing_the_url(tmp_path):
    with pytest.raises(StoreError) as caught:
        open_store("mysql://patch:s3cret-pass@db.example.org/history", str(tmp_path))
    assert "mysql://" in str(caught.value) and "s3cret-pass" not in str(caught.value)


def test_a_relative_path_is_refused(tmp_path):
    with pytest.raises(StoreError, match="not an absolute path"):
        open_store("history.sqlite", str(tmp_path))
