"""Both engines of the history store for one test: ``history_engine`` runs the test on SQLite and on PostgreSQL.

    from support.history_engines import history_engine  # noqa: F401 (fixture)

    def test_x(history_engine):
        store = history_engine.open()          # a fresh, empty store (Store)
        history_engine.sql("UPDATE records SET state = ? WHERE id = ?", ("x", 4))   # behind its back
        history_engine.spec                    # what open_store takes: a file path or a postgresql:// URL

The PostgreSQL side uses the session's throw-away server (support.postgres) and a fresh schema per test.
"""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import pytest

_COLLECTIONS = str(Path(__file__).resolve().parents[2] / ".ansible" / "collections")
if _COLLECTIONS not in sys.path:  # the checkout's link, as ansible.cfg finds it (unit tests' conftest makes it)
    sys.path.insert(0, _COLLECTIONS)
from ansible_collections.patchpilot.fleet.plugins.module_utils.history_store import open_store  # noqa: E402

ENGINES = ("sqlite", "postgresql")


class HistoryEngine:
    """One engine's store for a test, and a raw connection to edit it behind the store's back."""

    def __init__(self, name: str, spec: str, state_dir: str, server=None):
        self.name, self.spec, self.state_dir, self.server = name, spec, state_dir, server
        self.opened: list = []

    def open(self):
        store = open_store(self.spec, self.state_dir)
        self.opened.append(store)
        return store

    def sql(self, statement: str, args=()) -> list:
        """Run one statement with ``?`` placeholders directly on the store's database; its rows."""
        if self.name == "postgresql":
            return self.server.sql(self.spec, statement.replace("?", "%s"), args)
        raw = sqlite3.connect(self.spec)
        try:
            rows = raw.execute(statement, args).fetchall()
            raw.commit()
            return rows
        finally:
            raw.close()

    def close(self) -> None:
        for store in self.opened:
            try:
                store.close()
            except Exception:  # pylint: disable=broad-except  # already closed by the test
                pass


@pytest.fixture(params=ENGINES)
def history_engine(request, tmp_path):
    """The test once per engine (see the module's doc)."""
    state = tmp_path / "state"
    if request.param == "postgresql":
        server = request.getfixturevalue("postgres_server")
        engine = HistoryEngine("postgresql", server.new_schema(), str(state), server)
    else:
        engine = HistoryEngine("sqlite", str(state / "history.sqlite"), str(state))
    yield engine
    engine.close()
