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

Engines: the embedded default, a SQLite file (created 0600 in a 0700
folder), and PostgreSQL by a ``postgresql://`` URL (psycopg 3; what AWX users
have and what several controllers share). The SQL is the same for both; the few
differences (placeholders, the table check, column types, the writers' lock)
are in :class:`_Dialect`. Writers take a lock for the whole append or purge
(SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: a transaction-scoped advisory lock),
so two controllers appending at once keep ONE chain, in insert order.

A URL's password never appears in an error message, nor in a store's ``str``
or ``repr``: the store names itself by the URL with the password masked.

Schema versions are migrated forward on open; a store written by a newer
schema is refused. Version 2 adds the first-seen dates of pending updates
(``first_seen``: host, package, arch, version -> date), a plain table outside
the chain (see :meth:`Store.merge_first_seen`).

Plain Python (sqlite3 from the standard library; psycopg for PostgreSQL, imported
only when a URL asks for it), no Ansible runtime.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from datetime import datetime, timezone
from urllib.parse import unquote, urlsplit

__all__ = ["DEFAULT_NAME", "GENESIS", "SCHEMA_VERSION", "Store", "StoreError", "masked_url", "open_store",
           "record_hash"]

SCHEMA_VERSION = 2
#: The previous hash of the first record of a store never purged.
GENESIS = "0" * 64
#: The embedded store's file name in the state directory.
DEFAULT_NAME = "history.sqlite"
#: The fields of a record, in the order they are hashed.
FIELDS = ("id", "at", "kind", "run_id", "host", "machine_id", "package", "version", "state", "data")

#: URL schemes of the PostgreSQL engine.
POSTGRESQL_SCHEMES = ("postgresql://", "postgres://")
#: The key of the PostgreSQL advisory lock the writers of a store take (any constant bigint).
PG_LOCK_KEY = 0x70617463680

# Each step's statements; ``{id}`` is the engine's integer key type (SQLite's INTEGER keeps the
# rowid alias the first stores were written with; PostgreSQL's BIGINT).
_MIGRATIONS = {
    1: [
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        "CREATE TABLE records (id {id} PRIMARY KEY, at TEXT NOT NULL, kind TEXT NOT NULL, run_id TEXT,"
        " host TEXT, machine_id TEXT, package TEXT, version TEXT, state TEXT, data TEXT NOT NULL,"
        " prev_hash TEXT NOT NULL, hash TEXT NOT NULL)",
        "CREATE INDEX records_run ON records (run_id)",
        "CREATE INDEX records_host ON records (host, package)",
        "CREATE INDEX records_at ON records (at)",
    ],
    2: [
        "CREATE TABLE first_seen (host TEXT NOT NULL, package TEXT NOT NULL, arch TEXT NOT NULL,"
        " version TEXT NOT NULL, day TEXT NOT NULL, PRIMARY KEY (host, package, arch, version))",
    ],
}


class StoreError(Exception):
    """A store that cannot be opened, written or read; the message says which and why."""


def masked_url(url: str) -> str:
    """``url`` with its password (if any) replaced by ``***``: how a PostgreSQL store names itself."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url.split("://", 1)[0] + "://***"
    if parts.password is None:  # no password in it (libpq may take it from ~/.pgpass or PGPASSWORD)
        return url
    userinfo, hostinfo = parts.netloc.rsplit("@", 1)
    user = userinfo.split(":", 1)[0]
    return parts._replace(netloc=f"{user}:***@{hostinfo}").geturl()


class _Dialect:
    """What differs between the engines: placeholder, key type, table list, writers' lock, errors."""

    name = "sqlite"
    placeholder = "?"
    id_type = "INTEGER"
    tables_sql = "SELECT name FROM sqlite_master WHERE type = 'table'"
    begin = ("BEGIN IMMEDIATE",)  # the writers' lock: SQLite's one write transaction at a time
    errors: tuple = (sqlite3.Error,)

    def __init__(self, secrets=()):
        self.secrets = tuple(s for s in secrets if s)

    def scrub(self, text: str) -> str:
        """``text`` without any secret of the connection (a URL's password, plain and quoted)."""
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text


class _PostgreSQL(_Dialect):
    name = "postgresql"
    placeholder = "%s"
    id_type = "BIGINT"
    tables_sql = "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
    # held until COMMIT or ROLLBACK: every writer of the store appends after the one before it
    begin = ("BEGIN", f"SELECT pg_advisory_xact_lock({PG_LOCK_KEY})")

    def __init__(self, secrets, errors):
        super().__init__(secrets)
        self.errors = errors


def _canonical(record: dict) -> bytes:
    return json.dumps([record.get(name) for name in FIELDS], sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


def record_hash(prev_hash: str, record: dict) -> str:
    """The hash of one record: SHA-256 over the previous hash and the record's canonical JSON."""
    return hashlib.sha256(prev_hash.encode("ascii") + b"\n" + _canonical(record)).hexdigest()


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


class Store:
    """One history store. Open it with :func:`open_store`, :meth:`sqlite` or :meth:`postgresql`."""

    def __init__(self, connection, dialect: _Dialect | None = None, where: str = "store"):
        self.db = connection
        self.dialect = dialect or _Dialect()
        self.where = where
        self._migrate()

    def __repr__(self) -> str:
        return f"<history store {self.where} ({self.dialect.name})>"

    __str__ = __repr__

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
        return cls(connection, _Dialect(), path)

    @classmethod
    def postgresql(cls, url: str, connect_timeout: int = 10) -> Store:
        """Open the PostgreSQL store at ``url`` (``postgresql://user:password@host:port/database``),
        creating its tables on first use. Needs the Python module psycopg (3)."""
        if not isinstance(url, str) or not url.startswith(POSTGRESQL_SCHEMES):
            raise StoreError("history store: expected a postgresql:// URL")
        where = masked_url(url)
        try:
            password = urlsplit(url).password or ""
        except ValueError:
            password = url.split("://", 1)[1]  # unparsable: mask all of it
        dialect = _PostgreSQL((password, unquote(password)), ())
        try:
            import psycopg  # pylint: disable=import-outside-toplevel
        except ImportError:
            raise StoreError(f"history store {where}: PostgreSQL needs the Python module psycopg"
                             " (pip install 'psycopg[binary]'; see requirements.txt)") from None
        dialect.errors = (psycopg.Error,)
        try:
            connection = psycopg.connect(url, autocommit=True, connect_timeout=connect_timeout,
                                         application_name="patchpilot")
        except (psycopg.Error, ValueError, TypeError) as exc:
            # from None: the driver's own exception (and its message) stays out of any traceback
            raise StoreError(f"history store {where}: cannot connect: "
                             f"{dialect.scrub(str(exc)).strip() or type(exc).__name__}") from None
        try:
            return cls(connection, dialect, where)
        except BaseException:
            connection.close()
            raise

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- SQL ----------------------------------------------------------------

    def _sql(self, text: str) -> str:
        return text.replace("?", self.dialect.placeholder) if self.dialect.placeholder != "?" else text

    def _fail(self, exc: Exception) -> StoreError:
        return StoreError(f"{self.where}: {self.dialect.scrub(str(exc)).strip() or type(exc).__name__}")

    def _run(self, text: str, args=()):
        cursor = self.db.cursor()
        try:
            if args:
                cursor.execute(self._sql(text), tuple(args))
            else:
                cursor.execute(self._sql(text))
        except (sqlite3.Error,) + tuple(self.dialect.errors) as exc:
            raise self._fail(exc) from None
        return cursor

    def _run_many(self, text: str, rows: list) -> None:
        if not rows:
            return
        try:
            self.db.cursor().executemany(self._sql(text), [tuple(row) for row in rows])
        except (sqlite3.Error,) + tuple(self.dialect.errors) as exc:
            raise self._fail(exc) from None

    def _begin(self) -> None:
        """Start a write transaction holding the writers' lock (one chain, appended in order)."""
        for statement in self.dialect.begin:
            self._run(statement)

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

    def _version(self) -> int:
        tables = {row[0] for row in self._run(self.dialect.tables_sql).fetchall()}
        version = self._meta("schema_version", 0) if "meta" in tables else 0
        if not isinstance(version, int) or version > SCHEMA_VERSION:
            raise StoreError(f"{self.where}: written by a newer patchpilot (schema {version}; this one knows up to"
                             f" {SCHEMA_VERSION}): upgrade patchpilot to read it")
        return version

    def _migrate(self) -> None:
        if self._version() == SCHEMA_VERSION:
            return
        self._begin()
        try:
            version = self._version()  # again under the writers' lock: another writer may have migrated it
            for step in range(version + 1, SCHEMA_VERSION + 1):
                for statement in _MIGRATIONS[step]:
                    self._run(statement.format(id=self.dialect.id_type))
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
        self._begin()
        try:
            stored = self._append_locked(records)
            self._commit()
        except BaseException:
            self._rollback()
            raise
        return stored

    def _append_locked(self, records: list) -> list:
        """Append inside a transaction that holds the writers' lock."""
        stored = []
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
        return stored

    def purge(self, before: str, by: str | None = None, reason: str | None = None, check: bool = False) -> dict | None:
        """Remove the records older than ``before`` (ISO time, compared as text with the records' ``at``:
        give both in UTC) from the start of the chain, and record it in the same transaction: a ``purge``
        record with the range removed, the new anchor, who (``by``) and why (``reason``). None when
        nothing is older. ``check``: the summary of what would be removed, nothing changed.

        A chain that does not verify is never purged (StoreError): the purge could remove the broken
        record and, with it, the evidence."""
        self._begin()
        try:
            chain = self.verify()
            if not chain["ok"]:
                raise StoreError(f"{self.where}: the chain breaks at record {chain['broken_at']} ({chain['reason']});"
                                 " a purge could hide that, so nothing is purged")
            first_newer = self._run("SELECT MIN(id) FROM records WHERE at >= ?", (before,)).fetchone()[0]
            last_old = self._run("SELECT MAX(id) FROM records" + (" WHERE id < ?" if first_newer else ""),
                                 (first_newer,) if first_newer else ()).fetchone()[0]
            if last_old is None:
                self._rollback()
                return None
            first_old, count = self._run("SELECT MIN(id), COUNT(*) FROM records WHERE id <= ?",
                                         (last_old,)).fetchone()
            anchor_hash = self._run("SELECT hash FROM records WHERE id = ?", (last_old,)).fetchone()[0]
            summary = {"removed_ids": [first_old, last_old], "count": count, "before": before,
                       "anchor": {"after_id": last_old, "hash": anchor_hash}, "by": by, "reason": reason}
            if check:
                self._rollback()
                return summary
            self._run("DELETE FROM records WHERE id <= ?", (last_old,))
            self._set_meta("anchor", {"after_id": last_old, "hash": anchor_hash})
            summary["record"] = self._append_locked([{"kind": "purge", "data": summary}])[0]["id"]
            self._commit()
        except BaseException:
            self._rollback()
            raise
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

    # -- first-seen dates ------------------------------------------------------
    # Not chained: they are working data every scan rewrites (an update no longer pending is
    # forgotten), not evidence; the evidence of a missing update is its chained ``update`` record.

    def first_seen(self) -> dict:
        """The first-seen dates as scan_report keeps them: ``{"host|package|arch|version": "YYYY-MM-DD"}``."""
        rows = self._run("SELECT host, package, arch, version, day FROM first_seen").fetchall()
        return {"|".join(row[:4]): row[4] for row in rows}

    def merge_first_seen(self, dates: dict, reached=()) -> dict:
        """Merge first-seen ``dates`` (keys as :meth:`first_seen` gives them) under the writers' lock:
        a new key is added, a known one keeps the earlier date; for each host in ``reached`` (scanned
        now) the keys not in ``dates`` are removed (no longer pending). Returns the counts."""
        wanted = {}
        for key, day in (dates or {}).items():
            parts = key.split("|", 3) if isinstance(key, str) else []
            if len(parts) != 4 or not parts[0] or not parts[1] or not isinstance(day, str):
                raise StoreError(f"{self.where}: first-seen entry {key!r}: {day!r}: expected"
                                 " 'host|package|arch|version': 'YYYY-MM-DD'")
            try:
                datetime.strptime(day[:10], "%Y-%m-%d")
            except ValueError:
                raise StoreError(f"{self.where}: first-seen entry {key!r}: {day!r} is not an ISO date") from None
            wanted[tuple(parts)] = day[:10]
        reached = set(reached or ())
        self._begin()
        try:
            known = {tuple(row[:4]): row[4] for row in
                     self._run("SELECT host, package, arch, version, day FROM first_seen").fetchall()}
            added = [key + (day,) for key, day in wanted.items() if key not in known]
            earlier = [(day,) + key for key, day in wanted.items() if key in known and day < known[key]]
            gone = [key for key in known if key[0] in reached and key not in wanted]
            self._run_many("INSERT INTO first_seen (host, package, arch, version, day) VALUES (?, ?, ?, ?, ?)", added)
            self._run_many("UPDATE first_seen SET day = ? WHERE host = ? AND package = ? AND arch = ?"
                           " AND version = ?", earlier)
            self._run_many("DELETE FROM first_seen WHERE host = ? AND package = ? AND arch = ? AND version = ?",
                           gone)
            self._commit()
        except BaseException:
            self._rollback()
            raise
        return {"added": len(added), "earlier": len(earlier), "removed": len(gone)}


def open_store(spec: str | None, state_dir: str) -> Store:
    """Open the store ``spec`` names (``patchpilot_history_store``): empty for the embedded SQLite
    file ``<state_dir>/history.sqlite``, an absolute path for another SQLite file, or a
    ``postgresql://`` URL."""
    if not spec:
        return Store.sqlite(os.path.join(state_dir, DEFAULT_NAME))
    if not isinstance(spec, str):
        raise StoreError(f"history store: expected a path or a postgresql:// URL, got {type(spec).__name__}")
    if spec.startswith(POSTGRESQL_SCHEMES):
        return Store.postgresql(spec)
    if "://" in spec:
        raise StoreError(f"history store: {spec.split('://', 1)[0]}:// is not a store this version knows"
                         " (a SQLite file's absolute path, or a postgresql:// URL)")
    return Store.sqlite(spec)
