# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The controller's cache of Debian changelogs, keyed by source package and version.

A fleet of 1,000 hosts with the same 18 updates needs 18 changelogs (fewer
when binaries share a source), not 18,000: what one host's scan learned is
kept here for every later host and scan. One JSON file per source version in
the cache folder (``<state dir>/changelogs``, 0700; files 0600)::

    {"format": 1, "source": "openssl", "version": "3.0.15-1~deb12u1",
     "origin": "https://...", "at": "2026-12-06T09:00:00+00:00",
     "entries": [...]}            # debian_changelog.parse's entries

A changelog is the same forever once published, so a found one never goes
stale. One that could not be found (``entries`` empty, ``missing`` saying
why) is tried again after ``retry_hours``.

Plain Python; writes are atomic (a temporary file renamed into place), so a
killed scan leaves no half file and two scans writing the same key both
leave a whole one.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from datetime import datetime, timedelta, timezone

__all__ = ["FORMAT", "CacheError", "ChangelogCache", "write_private"]

FORMAT = 1
_SOURCE = re.compile(r"^[a-z0-9][a-z0-9+.-]*$")
_VERSION = re.compile(r"^[A-Za-z0-9.+~:-]+$")


def write_private(path: str, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically (a 0600 temporary file beside it, renamed into place)."""
    handle, temporary = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


class CacheError(ValueError):
    """A key that names no cache file, or a cache folder that cannot be used."""


def _now(now=None) -> datetime:
    return now if now is not None else datetime.now(timezone.utc)


class ChangelogCache:
    """The cache folder; counts ``hits`` and ``misses`` of :meth:`get` and ``stored`` of :meth:`put`."""

    def __init__(self, path: str, retry_hours: float = 24):
        if not path or not os.path.isabs(path):
            raise CacheError(f"changelog cache: {path!r} is not an absolute path")
        self.path = path
        self.retry = timedelta(hours=retry_hours)
        self.hits = self.misses = self.stored = 0
        try:
            os.makedirs(path, mode=0o700, exist_ok=True)
        except OSError as exc:
            raise CacheError(f"changelog cache {path}: {exc.strerror}") from exc
        info = os.lstat(path)
        if not os.path.isdir(path) or os.path.islink(path):
            raise CacheError(f"changelog cache {path}: not a folder")
        if info.st_mode & 0o022:
            raise CacheError(f"changelog cache {path}: writable by others (chmod go-w {path})")

    def file(self, source: str, version: str) -> str:
        """The cache file of one source version."""
        if not isinstance(source, str) or not _SOURCE.match(source):
            raise CacheError(f"changelog cache: {source!r} is not a source package name")
        if not isinstance(version, str) or not _VERSION.match(version):
            raise CacheError(f"changelog cache: {version!r} is not a Debian version")
        return os.path.join(self.path, f"{source}_{version.replace(':', '%3a')}.json")

    def get(self, source: str, version: str, now=None) -> dict | None:
        """The cached record, or None (not cached, unreadable, or a miss whose retry time has come)."""
        path = self.file(source, version)
        try:
            with open(path, encoding="utf-8") as handle:
                record = json.load(handle)
        except (OSError, ValueError):
            self.misses += 1
            return None
        if not isinstance(record, dict) or record.get("format") != FORMAT or not isinstance(record.get("entries"), list):
            self.misses += 1
            return None
        if not record["entries"] and record.get("missing"):
            try:
                tried = datetime.fromisoformat(record["at"])
            except (KeyError, TypeError, ValueError):
                tried = None
            if tried is None or _now(now) - tried >= self.retry:
                self.misses += 1
                return None
        self.hits += 1
        return record

    def put(self, source: str, version: str, entries: list, origin: str, missing: str | None = None,
            now=None) -> dict:
        """Keep what was learned of one source version (``missing``: why nothing was)."""
        record = {"format": FORMAT, "source": source, "version": version, "origin": origin,
                  "at": _now(now).isoformat(), "entries": list(entries or ())}
        if missing and not record["entries"]:
            record["missing"] = missing
        write_private(self.file(source, version), json.dumps(record, sort_keys=True).encode("utf-8"))
        self.stored += 1
        return record
