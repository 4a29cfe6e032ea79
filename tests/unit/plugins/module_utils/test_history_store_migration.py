"""history_store migrations: a store written by schema 1 opens as schema 2 with its chain intact (both engines)."""

from support.history_engines import history_engine  # noqa: F401  # pylint: disable=unused-import

from ansible_collections.patchpilot.fleet.plugins.module_utils import history_store


def test_a_version_1_store_opens_as_version_2_with_its_chain_intact(history_engine, monkeypatch):
    with monkeypatch.context() as old:  # the patchpilot that wrote schema 1
        old.setattr(history_store, "SCHEMA_VERSION", 1)
        store = history_engine.open()
        written = store.append([{"kind": "run", "run_id": f"r{i}", "at": f"2026-11-0{i + 1}T00:00:00+00:00",
                                 "data": {"i": i}} for i in range(4)])
        store.purge("2026-11-02T00:00:00+00:00", by="retention")
        before = store.records()
        store.close()
    assert history_engine.sql("SELECT value FROM meta WHERE key = 'schema_version'") == [("1",)]

    store = history_engine.open()
    assert store._meta("schema_version") == 2 == history_store.SCHEMA_VERSION
    assert store.records() == before and before[0]["hash"] == written[1]["hash"]
    result = store.verify()
    assert result["ok"] and result["checked"] == 4 and result["anchor"]["after_id"] == 1
    assert store.first_seen() == {}  # the new table is there, empty
    store.merge_first_seen({"web01|openssl|amd64|3.0.1": "2026-11-20"})
    store.append([{"kind": "run", "run_id": "after"}])
    assert store.verify()["ok"]
    store.close()
    reopened = history_engine.open()  # opening again migrates nothing
    assert reopened.first_seen() == {"web01|openssl|amd64|3.0.1": "2026-11-20"} and reopened.verify()["ok"]


def test_two_stores_opening_a_new_database_at_once_migrate_it_once(history_engine):
    first, second = history_engine.open(), history_engine.open()
    first.append([{"kind": "run"}])
    second.append([{"kind": "run"}])
    assert [r["id"] for r in first.records()] == [1, 2] and second.verify()["ok"]
