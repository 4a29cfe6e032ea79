"""history_store: records chained by hash; an edit breaks the chain where it is, a purge does not.

Every test that takes ``store`` runs on both engines (SQLite and PostgreSQL, support.history_engines).
"""

import stat

import pytest
from support.history_engines import history_engine  # noqa: F401  # pylint: disable=unused-import

from ansible_collections.patchpilot.fleet.plugins.module_utils.history_store import (
    GENESIS,
    SCHEMA_VERSION,
    Store,
    StoreError,
    record_hash,
)


def fill(store, count=6, start_day=1):
    return store.append([{"kind": "update_state", "at": f"2026-11-{start_day + i:02d}T10:00:00+00:00",
                          "run_id": f"run{i // 2}", "host": "web01", "package": "openssl", "version": f"3.0-{i}",
                          "state": "installed", "data": {"n": i, "note": "<script>x</script>"}} for i in range(count)])


@pytest.fixture
def store(history_engine):
    return history_engine.open()


@pytest.fixture
def raw(history_engine):
    """Edit the store's database behind its back: ``raw(sql, args)`` with ? placeholders."""
    return history_engine.sql


def test_a_new_sqlite_store_is_private(tmp_path):
    path = tmp_path / "state" / "history.sqlite"
    Store.sqlite(str(path)).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_a_new_store_is_versioned(store):
    assert store.verify() == {"ok": True, "checked": 0, "broken_at": None, "reason": None,
                              "anchor": {"after_id": 0, "hash": GENESIS}}
    assert store._meta("schema_version") == SCHEMA_VERSION


def test_records_chain_and_read_back(store):
    written = fill(store)
    assert written[0]["prev_hash"] == GENESIS and written[1]["prev_hash"] == written[0]["hash"]
    assert written[0]["hash"] == record_hash(GENESIS, written[0])
    read = store.records("host = ?", ("web01",))
    assert [r["version"] for r in read] == [f"3.0-{i}" for i in range(6)]
    assert read[0]["data"] == {"n": 0, "note": "<script>x</script>"}
    assert store.verify()["ok"] and store.verify()["checked"] == 6


@pytest.mark.parametrize("column, value", [("version", "3.0-99"), ("state", "verified"), ("data", '{"n":9}'),
                                           ("at", "2026-11-30T00:00:00+00:00")])
def test_editing_one_record_in_the_file_breaks_the_chain_at_that_record(store, raw, column, value):
    fill(store)
    raw(f"UPDATE records SET {column} = ? WHERE id = 4", (value,))
    result = store.verify()
    assert not result["ok"] and result["broken_at"] == 4 and result["checked"] == 3
    assert result["reason"] == "record 4 was changed after it was written"


def test_deleting_one_record_is_found(store, raw):
    fill(store)
    raw("DELETE FROM records WHERE id = 3")
    assert store.verify()["reason"] == "record 3 is missing (the next is 4)"


def test_a_record_rewritten_with_a_fresh_hash_breaks_the_link_to_the_next(store, raw):
    fill(store)
    fake = dict(store.records("id = 5")[0], version="3.0-77")
    fake["data"] = raw("SELECT data FROM records WHERE id = 5")[0][0]
    raw("UPDATE records SET version = ?, hash = ? WHERE id = 5", ("3.0-77", record_hash(fake["prev_hash"], fake)))
    result = store.verify()
    assert result["broken_at"] == 6 and result["reason"] == "record 6 does not follow the one before it"


def test_a_purge_keeps_the_chain_valid_and_records_itself(store):
    fill(store, 6)
    summary = store.purge("2026-11-04T00:00:00+00:00", by="retention")
    assert summary["removed_ids"] == [1, 3] and summary["count"] == 3
    assert [r["id"] for r in store.records()] == [4, 5, 6, 7]
    purge = store.records("kind = ?", ("purge",))[0]
    assert purge["data"]["anchor"]["after_id"] == 3 and purge["data"]["by"] == "retention"
    result = store.verify()
    assert result["ok"] and result["checked"] == 4 and result["anchor"]["after_id"] == 3
    fill(store, 2, start_day=20)  # appending after a purge continues the chain
    assert store.verify()["ok"]
    assert store.purge("2026-01-01T00:00:00+00:00") is None  # nothing that old


def test_an_edit_after_a_purge_is_still_found(store, raw):
    fill(store, 6)
    store.purge("2026-11-03T00:00:00+00:00")
    raw("UPDATE records SET state = 'rolled_back' WHERE id = 5")
    assert store.verify()["broken_at"] == 5


def test_a_record_without_a_kind_is_refused_and_nothing_is_written(store):
    with pytest.raises(StoreError, match="a record needs a kind"):
        store.append([{"kind": "x"}, {"host": "web01"}])
    assert store.records() == []


def test_a_store_written_by_a_newer_schema_is_refused(history_engine, raw):
    history_engine.open().close()
    raw("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(StoreError, match="written by a newer patchpilot"):
        history_engine.open()


def test_bad_sqlite_stores_are_refused(tmp_path):
    with pytest.raises(StoreError, match="not an absolute path"):
        Store.sqlite("history.sqlite")
    shared = tmp_path / "shared.sqlite"
    shared.write_bytes(b"")
    shared.chmod(0o644)
    with pytest.raises(StoreError, match="readable or writable by others"):
        Store.sqlite(str(shared))
    newer = Store.sqlite(str(tmp_path / "newer.sqlite"))
    newer._run("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    newer.close()
    with pytest.raises(StoreError, match="written by a newer patchpilot"):
        Store.sqlite(str(tmp_path / "newer.sqlite"))
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"not a database at all" * 100)
    garbage.chmod(0o600)
    with pytest.raises(StoreError):
        Store.sqlite(str(garbage))


def test_a_purge_says_who_and_why_in_its_own_record(store):
    fill(store, 6)
    summary = store.purge("2026-11-04T00:00:00+00:00", by="alice", reason="retention: 1 year")
    purge = store.records("kind = ?", ("purge",))[0]
    assert purge["id"] == summary["record"] == 7
    assert purge["data"]["by"] == "alice" and purge["data"]["reason"] == "retention: 1 year"
    assert purge["data"]["removed_ids"] == [1, 3] and store.verify()["ok"]


def test_a_purge_in_check_mode_changes_nothing(store):
    written = fill(store, 6)
    summary = store.purge("2026-11-04T00:00:00+00:00", by="alice", check=True)
    assert summary["removed_ids"] == [1, 3] and summary["count"] == 3 and "record" not in summary
    assert [r["hash"] for r in store.records()] == [r["hash"] for r in written]
    assert store.verify()["anchor"]["after_id"] == 0


def test_a_broken_chain_is_not_purged(store, raw):
    fill(store, 6)
    raw("UPDATE records SET version = '0.0' WHERE id = 2")
    with pytest.raises(StoreError, match=r"the chain breaks at record 2 .* nothing is purged"):
        store.purge("2026-11-04T00:00:00+00:00", by="mallory")
    assert len(store.records()) == 6 and store.verify()["broken_at"] == 2


def test_purging_everything_keeps_the_chain_going(store):
    fill(store, 3)
    store.purge("2026-12-31T00:00:00+00:00", by="alice")
    assert [r["kind"] for r in store.records()] == ["purge"]
    fill(store, 2, start_day=20)
    result = store.verify()
    assert result["ok"] and result["checked"] == 3 and result["anchor"]["after_id"] == 3
