# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where the scan and the plan keep first-seen dates: the history store, the JSON file as a fallback.

The dates live in the history store (``Store.first_seen``, schema 2). A
``first_seen.json`` left by an earlier version (in the state directory, or in
an older scan's report folder) is imported once, merged with what the store
has (the earlier date wins), then renamed ``first_seen.json.imported``: nothing
is lost, and an import cut short is simply done again. When the store cannot
be opened or written, the scan still works: the dates come from (and go to) the
JSON file as before, with one warning, and the next scan that reaches the store
imports that file.

Plain Python, no Ansible runtime.
"""

from __future__ import annotations

import os

from ansible_collections.patchpilot.fleet.plugins.module_utils import scan_report
from ansible_collections.patchpilot.fleet.plugins.module_utils.history_store import StoreError, open_store

__all__ = ["IMPORTED_SUFFIX", "FirstSeen", "reached_hosts"]

IMPORTED_SUFFIX = ".imported"


def reached_hosts(results: dict) -> list:
    """The hosts a scan reached (their pending updates are known): the store forgets what they no longer have."""
    return sorted(host for host, result in results.items() if result.get("updates") is not None)


class FirstSeen:
    """The first-seen dates of one scan or plan: :meth:`open`, :meth:`read`, :meth:`save`, :meth:`close`.

    ``json_path`` is the file of the JSON era (``<state>/first_seen.json``); ``output_dir`` the scan's
    report folder, where a scan before the state directory kept it. ``warnings`` holds what the user
    must be told (the store unavailable: one line, without the URL's password).
    """

    def __init__(self, store, json_path: str, output_dir: str | None = None):
        self.store = store
        self.json_path = json_path
        self.output_dir = output_dir
        self.warnings: list = []
        self.imported: dict = {}

    @classmethod
    def open(cls, spec: str | None, state_dir: str, json_path: str, output_dir: str | None = None) -> FirstSeen:
        """Open the store ``spec`` names (history_store.open_store) and import the JSON files once.
        An unreadable JSON file raises scan_report.ReportError (as before); a store that cannot be
        opened is a warning, and the JSON file is used."""
        try:
            store = open_store(spec, state_dir)
        except StoreError as exc:
            found = cls(None, json_path, output_dir)
            found.warnings.append(f"history store unavailable, first-seen dates kept in {json_path}: {exc}")
            return found
        found = cls(store, json_path, output_dir)
        try:
            found._import()
        except BaseException:
            store.close()
            raise
        return found

    def _legacy_files(self) -> list:
        paths = [self.json_path]
        if self.output_dir:
            paths.append(os.path.join(self.output_dir, scan_report.FIRST_SEEN_FILE))
        return [path for path in dict.fromkeys(paths) if os.path.isfile(path)]

    def _import(self) -> None:
        for path in self._legacy_files():
            dates = scan_report.load_seen(None, path)
            try:
                self.store.merge_first_seen(dates)
            except StoreError as exc:
                self._fall_back(exc)
                return
            os.replace(path, path + IMPORTED_SUFFIX)
            self.imported[path] = len(dates)

    def _fall_back(self, exc: StoreError) -> None:
        self.warnings.append(f"history store unavailable, first-seen dates kept in {self.json_path}: {exc}")
        self.close()

    def read(self) -> dict:
        """The dates known: ``{"host|package|arch|version": "YYYY-MM-DD"}``."""
        if self.store is not None:
            try:
                return self.store.first_seen()
            except StoreError as exc:
                self._fall_back(exc)
        dates = scan_report.load_seen(self.output_dir, self.json_path)
        if not dates and os.path.isfile(self.json_path + IMPORTED_SUFFIX):  # the store has them; the
            dates = scan_report.load_seen(None, self.json_path + IMPORTED_SUFFIX)  # copy imported is next best
        return dates

    @property
    def in_store(self) -> bool:
        """True while the store holds the dates (the report then writes no first_seen.json)."""
        return self.store is not None

    def save(self, dates: dict, reached) -> str:
        """Keep the dates of a scan (``reached``: the hosts it scanned); where they went. With the store
        unavailable, the caller writes them to the JSON file (scan_report.write), as before."""
        if self.store is not None:
            try:
                self.store.merge_first_seen(dates, reached)
                return self.store.where
            except StoreError as exc:
                self._fall_back(exc)
        return self.json_path

    def close(self) -> None:
        if self.store is not None:
            store, self.store = self.store, None
            try:
                store.close()
            except Exception:  # pylint: disable=broad-except  # a connection already gone
                pass
