# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The history store: every run's evidence as records chained by hash.

One table of records, appended in order; each record's ``hash`` is the
SHA-256 of the previous record's hash and the record's own canonical JSON, so
an edited or deleted record breaks the chain at that record
(:meth:`Store.verify` says where). A purge removes the oldest records up to a
time and writes a ``purge`` record naming the range it removed and the hash
the chain now starts from (the *anchor*, kept in the store's ``meta``): the
chain still verifies after a purge, and fails after an edit.

Embedded default: a SQLite file (created 0600 in a 0700 folder). The SQL is
plain enough for PostgreSQL too (a later engine by URL): the connection is a
DB-API connection and the few differences (placeholders, the writers' lock)
are in :class:`_Dialect`.

Schema versions are migrated forward on open; a store written by a newer
schema is refused.

Plain Python (sqlite3 from the standard library), no Ansible runtime.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from datetime import datetime, timezone

__all__ = ["DEFAULT_NAME", "GENESIS", "SCHEMA_VERSION", "Store", "StoreError", "open_store", "record_hash"]

SCHEMA_VERSION = 1
#: The previous hash of the first record of a store never purged.
GENESIS = "0" * 64
#: The embedded store's file name in the state directory.
DEFAULT_NAME = "history.sqlite"
#: The fields of a record, in the order they are hashed.
FIELDS = ("id", "at", "kind", "run_id", "host", "machine_id", "package", "version", "state", "data")

_MIGRATIONS = {
    1: [
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        "CREATE TABLE records (id INTEGER PRIMARY KEY, at TEXT NOT NULL, kind TEXT NOT NULL, run_id TEXT,"
        " host TEXT, machine_id TEXT, package TEXT, version TEXT, state TEXT, data TEXT NOT NULL,"
        " prev_hash TEXT NOT NULL, hash TEXT NOT NULL)",
        "CREATE INDEX records_run ON records (run_id)",
        "CREATE INDEX records_host ON records (host, package)",
        "CREATE INDEX records_at ON records (at)",
    ],
}


class StoreError(Exception):
    """A store that cannot be opened, written or read; the message says which and why."""


def _canonical(record: dict) -> bytes:
    return json.dumps([record.get(name) for name in FIELDS], sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


def record_hash(prev_hash: str, record: dict) -> str:
    """The hash of one record: SHA-256 over the previous hash and the record's canonical JSON."""
    return hashlib.sha256(prev_hash.encode("ascii") + b"\n" + _canonical(record)).hexdigest()


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


class Store:
    """One history store. Use :meth:`sqlite` to open the embedded one."""

    def __init__(self, connection, placeholder: str = "?", where: str = "store"):
        self.db = connection
        self.mark = placeholder
        self.where = where
        self._migrate()

    # -- opening ----------------------------------------------------------

    @classmethod
    def sqlite(cls, path: str) -> Store:
        """Open (or create, 0600 in a 0700 folder) the SQLite store at ``path``."""
        if not path or not os.path.isabs(path):
            raise StoreError(f"history store: {path!r} is not an absolute path")
        folder = os.path.dirname(path)
        try:
            os.makedirs(folder, mode=0o700, exist_ok=True)
            if not os.path.exists(path):
                os.close(os.open(path, os.O_CREAT | os.O_WRONLY | os.O_EXCL | os.O_NOFOLLOW, 0o600))
            if os.path.islink(path) or not os.path.isfile(path):
                raise StoreError(f"history store {path}: not a regular file")
            if os.stat(path).st_mode & 0o077:
                raise StoreError(f"history store {path}: readable or writable by others (chmod 600 {path})")
            connection = sqlite3.connect(path, timeout=30, isolation_level=None)
        except OSError as exc:
            raise StoreError(f"history store {path}: {exc.strerror or exc}") from exc
        except sqlite3.Error as exc:
            raise StoreError(f"history store {path}: {exc}") from exc
        return cls(connection, "?", path)

    def close(self) -> None:
        self.db.close()

    # -- SQL ----------------------------------------------------------------

    def _sql(self, text: str) -> str:
        return text.replace("?", self.mark) if self.mark != "?" else text

    def _run(self, text: str, args=()):
        cursor = self.db.cursor()
        try:
            cursor.execute(self._sql(text), tuple(args))
        except (sqlite3.Error, getattr(self.db, "Error", sqlite3.Error)) as exc:
            raise StoreError(f"{self.where}: {exc}") from exc
        return cursor

    def _begin(self) -> None:
        """Start a write transaction holding the writers' lock (one chain, appended in order)."""
        self._run("BEGIN IMMEDIATE")

    def _commit(self) -> None:
        self._run("COMMIT")

    def _rollback(self) -> None:
        try:
            self._run("ROLLBACK")
        except StoreError:
            pass

    def _meta(self, key: str, default=None):
        row = self._run("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    def _set_meta(self, key: str, value) -> None:
        self._run("DELETE FROM meta WHERE key = ?", (key,))
        self._run("INSERT INTO meta (key, value) VALUES (?, ?)", (key, json.dumps(value)))

    def _migrate(self) -> None:
        tables = {row[0] for row in self._run("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()}
        version = self._meta("schema_version", 0) if "meta" in tables else 0
        if version > SCHEMA_VERSION:
            raise StoreError(f"{self.where}: written by a newer patchpilot (schema {version}; this one knows up to"
                             f" {SCHEMA_VERSION}): upgrade patchpilot to read it")
        if version == SCHEMA_VERSION:
            return
        self._begin()
        try:
            for step in range(version + 1, SCHEMA_VERSION + 1):
                for statement in _MIGRATIONS[step]:
                    self._run(statement)
            self._set_meta("schema_version", SCHEMA_VERSION)
            if self._meta("anchor") is None:
                self._set_meta("anchor", {"after_id": 0, "hash": GENESIS})
            self._commit()
        except BaseException:
            self._rollback()
            raise

    # -- writing ------------------------------------------------------------

    def append(self, records: list) -> list:
        """Append records (dicts with ``kind`` and any of FIELDS; ``data`` any JSON value) in one
        transaction; returns them as stored, with ``id``, ``at``, ``prev_hash`` and ``hash``."""
        stored = []
        self._begin()
        try:
            last = self._run("SELECT id, hash FROM records ORDER BY id DESC LIMIT 1").fetchone()
            anchor = self._meta("anchor")
            next_id, prev = (last[0] + 1, last[1]) if last else (anchor["after_id"] + 1, anchor["hash"])
            for item in records:
                if not isinstance(item, dict) or not item.get("kind"):
                    raise StoreError(f"{self.where}: a record needs a kind, got {item!r}")
                record = {name: item.get(name) for name in FIELDS}
                record.update(id=next_id, at=item.get("at") or _now(),
                              data=json.dumps(item.get("data"), sort_keys=True, separators=(",", ":")))
                record["prev_hash"], record["hash"] = prev, record_hash(prev, record)
                self._run("INSERT INTO records (" + ", ".join(FIELDS) + ", prev_hash, hash) VALUES ("
                          + ", ".join("?" * (len(FIELDS) + 2)) + ")",
                          [record[name] for name in FIELDS] + [record["prev_hash"], record["hash"]])
                stored.append(record)
                prev, next_id = record["hash"], next_id + 1
            self._commit()
        except BaseException:
            self._rollback()
            raise
        return stored

    def purge(self, before: str, by: str | None = None) -> dict | None:
        """Remove the records older than ``before`` (ISO time) from the start of the chain, and record
        it: a ``purge`` record with the range removed and the new anchor. None when nothing is older."""
        self._begin()
        try:
            first_newer = self._run("SELECT MIN(id) FROM records WHERE at >= ?", (before,)).fetchone()[0]
            last_old = self._run("SELECT MAX(id) FROM records" + (" WHERE id < ?" if first_newer else ""),
                                 (first_newer,) if first_newer else ()).fetchone()[0]
            if last_old is None:
                self._rollback()
                return None
            first_old, count = self._run("SELECT MIN(id), COUNT(*) FROM records WHERE id <= ?",
                                         (last_old,)).fetchone()
            anchor_hash = self._run("SELECT hash FROM records WHERE id = ?", (last_old,)).fetchone()[0]
            self._run("DELETE FROM records WHERE id <= ?", (last_old,))
            self._set_meta("anchor", {"after_id": last_old, "hash": anchor_hash})
            self._commit()
        except BaseException:
            self._rollback()
            raise
        summary = {"removed_ids": [first_old, last_old], "count": count, "before": before,
                   "anchor": {"after_id": last_old, "hash": anchor_hash}, "by": by}
        self.append([{"kind": "purge", "data": summary}])
        return summary

    # -- reading ------------------------------------------------------------

    def records(self, where: str = "", args=()) -> list:
        """The records (dicts, ``data`` decoded) in chain order; ``where`` an SQL condition on FIELDS."""
        rows = self._run("SELECT " + ", ".join(FIELDS) + ", prev_hash, hash FROM records"
                         + (f" WHERE {where}" if where else "") + " ORDER BY id", args).fetchall()
        found = []
        for row in rows:
            record = dict(zip(FIELDS + ("prev_hash", "hash"), row))
            try:
                record["data"] = json.loads(record["data"])
            except (TypeError, ValueError):
                pass  # verify() reports the broken record
            found.append(record)
        return found

    def verify(self) -> dict:
        """Check the chain from its anchor: ``{"ok", "checked", "broken_at", "reason", "anchor"}``."""
        anchor = self._meta("anchor") or {"after_id": 0, "hash": GENESIS}
        prev, expected_id, checked = anchor["hash"], anchor["after_id"] + 1, 0
        rows = self._run("SELECT " + ", ".join(FIELDS) + ", prev_hash, hash FROM records ORDER BY id").fetchall()
        for row in rows:
            record = dict(zip(FIELDS + ("prev_hash", "hash"), row))
            if record["id"] != expected_id:
                return {"ok": False, "checked": checked, "broken_at": expected_id, "anchor": anchor,
                        "reason": f"record {expected_id} is missing (the next is {record['id']})"}
            if record["prev_hash"] != prev:
                return {"ok": False, "checked": checked, "broken_at": record["id"], "anchor": anchor,
                        "reason": f"record {record['id']} does not follow the one before it"}
            if record_hash(prev, record) != record["hash"]:
                return {"ok": False, "checked": checked, "broken_at": record["id"], "anchor": anchor,
                        "reason": f"record {record['id']} was changed after it was written"}
            prev, expected_id, checked = record["hash"], expected_id + 1, checked + 1
        return {"ok": True, "checked": checked, "broken_at": None, "reason": None, "anchor": anchor}


def open_store(spec: str | None, state_dir: str) -> Store:
    """Open the store ``spec`` names (``patchpilot_history_store``): empty for the embedded SQLite
    file ``<state_dir>/history.sqlite``, an absolute path for another SQLite file, or a
    ``postgresql://`` URL."""
    if not spec:
        return Store.sqlite(os.path.join(state_dir, DEFAULT_NAME))
    if not isinstance(spec, str):
        raise StoreError(f"history store: expected a path or a postgresql:// URL, got {type(spec).__name__}")
    if spec.startswith(("postgresql://", "postgres://")):
        raise StoreError("history store: PostgreSQL is not supported yet")
    if "://" in spec:
        raise StoreError(f"history store: {spec.split('://', 1)[0]}:// is not a store this version knows"
                         " (a SQLite file's absolute path, or a postgresql:// URL)")
    return Store.sqlite(spec)
