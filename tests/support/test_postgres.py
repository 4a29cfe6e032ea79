"""support.postgres: a throw-away PostgreSQL server on 127.0.0.1 only, password authentication, no unix socket;
a missing PostgreSQL skips, or fails under PATCHPILOT_REQUIRE_TOOLS=1."""

from __future__ import annotations

import pytest

from support import postgres, skips


def test_the_server_listens_on_loopback_only_and_wants_a_password(postgres_server):
    url, admin = postgres_server.url(), postgres_server.admin_url()
    assert postgres_server.sql(admin, "SHOW listen_addresses") == [("127.0.0.1",)]
    assert postgres_server.sql(admin, "SHOW unix_socket_directories") == [("",)]
    assert postgres_server.sql(admin, "SELECT DISTINCT auth_method FROM pg_hba_file_rules") == [("scram-sha-256",)]
    assert postgres_server.sql(url, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user") == [(False,)]
    psycopg = pytest.importorskip("psycopg")
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(postgres_server.url(password="wrong")).close()
    assert postgres_server.password not in repr(postgres_server)


def test_each_new_database_is_empty_and_owned_by_the_test_role(postgres_server):
    first, second = postgres_server.new_database(), postgres_server.new_database()
    assert first != second
    postgres_server.sql(first, "CREATE TABLE t (x int)")
    assert postgres_server.sql(second, "SELECT count(*) FROM information_schema.tables"
                                       " WHERE table_schema = 'public'") == [(0,)]


@pytest.mark.parametrize("strict, outcome", [(False, pytest.skip.Exception), (True, pytest.fail.Exception)])
def test_missing_postgresql_skips_or_fails(monkeypatch, strict, outcome):
    monkeypatch.setenv(skips.REQUIRE_ENV, "1" if strict else "0")
    monkeypatch.setattr(postgres, "_bin_dir", lambda: None)
    with pytest.raises(outcome, match="needs PostgreSQL's initdb, pg_ctl and postgres"):
        postgres.start_server()


def test_each_new_schema_is_empty_and_the_urls_search_path(postgres_server):
    first, second = postgres_server.new_schema(), postgres_server.new_schema()
    postgres_server.sql(first, "CREATE TABLE t (x int)")
    assert postgres_server.sql(second, "SELECT count(*) FROM information_schema.tables"
                                       " WHERE table_schema = current_schema()") == [(0,)]
    assert postgres_server.sql(first, "SELECT count(*) FROM t") == [(0,)]
