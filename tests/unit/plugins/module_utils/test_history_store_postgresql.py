"""history_store on PostgreSQL: opening by URL, the password never shown, two writers keep one chain."""

import multiprocessing
import traceback

import pytest

from ansible_collections.patchpilot.fleet.plugins.module_utils.history_store import (
    Store,
    StoreError,
    masked_url,
    open_store,
)

APPENDS = 40


def test_open_store_takes_both_url_schemes(postgres_server, tmp_path):
    url = postgres_server.new_database()
    for spec in (url, "postgres://" + url.split("://", 1)[1]):
        store = open_store(spec, str(tmp_path))
        assert store.dialect.name == "postgresql" and store.verify()["ok"]
        store.close()
    assert not (tmp_path / "history.sqlite").exists()


def test_the_store_names_itself_without_the_password(postgres_server):
    url = postgres_server.new_database()
    store = Store.postgresql(url)
    try:
        for text in (str(store), repr(store), store.where):
            assert postgres_server.password not in text and "patchpilot:***@127.0.0.1" in text
    finally:
        store.close()


@pytest.mark.parametrize("url", [
    "postgresql://u:s3cr%40t-pass@h/db", "postgresql://u:s3cr@t-pass@h/db", "postgres://:s3cr@t-pass@h:5/db",
])
def test_masked_url_hides_the_password(url):
    masked = masked_url(url)
    assert "s3cr" not in masked and "***" in masked and masked.endswith("/db")


def _failure(url: str) -> str:
    with pytest.raises(StoreError) as caught:
        open_store(url, "/nonexistent")
    text = str(caught.value)
    text += "".join(traceback.format_exception(caught.value))  # the whole traceback a user could see
    return text


def test_a_wrong_password_fails_without_showing_either_password(postgres_server):
    wrong = "not-the-" + postgres_server.password
    text = _failure(postgres_server.url(password=wrong))
    assert "cannot connect" in text and "password authentication failed" in text
    assert wrong not in text and postgres_server.password not in text


def test_a_server_that_is_down_fails_clearly_without_the_password(postgres_server):
    from support.servers import free_port  # pylint: disable=import-outside-toplevel

    url = f"postgresql://patchpilot:{postgres_server.password}@127.0.0.1:{free_port()}/patchpilot"
    text = _failure(url)
    assert "cannot connect" in text and postgres_server.password not in text


def test_a_bad_url_fails_without_the_password(postgres_server):
    url = f"postgresql://patchpilot:{postgres_server.password}@127.0.0.1:notaport/patchpilot"
    text = _failure(url)
    assert "history store postgresql://patchpilot:***@" in text and postgres_server.password not in text


def test_an_sql_failure_is_a_store_error_without_the_password(postgres_server):
    url = postgres_server.new_database()
    store = Store.postgresql(url)
    postgres_server.sql(url, "DROP TABLE records")
    try:
        with pytest.raises(StoreError) as caught:
            store.append([{"kind": "run"}])
        assert "records" in str(caught.value) and postgres_server.password not in str(caught.value)
        assert caught.value.__cause__ is None
    finally:
        store.close()


def _append_many(url: str, writer: int, start, errors) -> None:
    try:
        store = open_store(url, "/nonexistent")
        start.wait(30)
        for i in range(APPENDS):
            store.append([{"kind": "run", "run_id": f"w{writer}-{i}", "data": {"i": i}}])
        store.close()
    except BaseException as exc:  # pylint: disable=broad-except  # reported to the test
        errors.put(f"writer {writer}: {exc!r}")


@pytest.mark.parametrize("engine", ["postgresql", "sqlite"])
def test_two_processes_appending_at_once_keep_one_chain(postgres_server, tmp_path, engine):
    spec = postgres_server.new_database() if engine == "postgresql" else str(tmp_path / "h.sqlite")
    open_store(spec, str(tmp_path)).close()  # created (and migrated) before the race
    context = multiprocessing.get_context("fork")  # the children open their own connections
    start, errors = context.Event(), context.Queue()
    writers = [context.Process(target=_append_many, args=(spec, n, start, errors)) for n in (1, 2)]
    for process in writers:
        process.start()
    start.set()
    for process in writers:
        process.join(120)
    problems = []
    while not errors.empty():
        problems.append(errors.get())
    assert problems == [] and all(p.exitcode == 0 for p in writers)
    store = open_store(spec, str(tmp_path))
    try:
        records = store.records()
        assert [r["id"] for r in records] == list(range(1, 2 * APPENDS + 1))  # no gaps, no duplicates
        for writer in (1, 2):  # each writer's records in the order it wrote them
            mine = [r["data"]["i"] for r in records if r["run_id"].startswith(f"w{writer}-")]
            assert mine == list(range(APPENDS))
        assert store.verify() == dict(store.verify(), ok=True, checked=2 * APPENDS)
    finally:
        store.close()


def test_a_url_without_a_password_is_shown_as_it_is():
    assert masked_url("postgresql://patchpilot@db.example.org/history") == "postgresql://patchpilot@db.example.org/history"
