"""tracker_source: the tracker export from a file or a URL, cached, with its age; per-release CVE states."""

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from ansible_collections.patchpilot.fleet.plugins.module_utils.security_tracker import TrackerError
from ansible_collections.patchpilot.fleet.plugins.module_utils.tracker_source import obtain, release_states

SAMPLE = Path(__file__).parent / "fixtures" / "security-tracker" / "sample.json"
NOW = datetime(2026, 12, 6, 9, 0, tzinfo=timezone.utc)
URL = "https://tracker.example.org/tracker/data/json"


class Fetcher:
    def __init__(self, *answers):
        self.answers, self.calls = list(answers), 0

    def __call__(self, url):
        self.calls += 1
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def test_a_file_is_read_as_it_is(tmp_path):
    tracker, info = obtain(str(SAMPLE), None, Fetcher(), NOW)
    assert tracker == json.loads(SAMPLE.read_text()) and info["source"] == str(SAMPLE) and not info["stale"]


def test_a_url_is_fetched_once_per_max_age_and_kept(tmp_path):
    data = SAMPLE.read_bytes()
    fetch = Fetcher(data, data)
    tracker, info = obtain(URL, str(tmp_path), fetch, NOW, max_age_hours=24)
    assert fetch.calls == 1 and info == {"source": URL, "fetched": NOW.isoformat(), "age_hours": 0.0, "stale": False,
                                         "problem": None}
    again, info = obtain(URL, str(tmp_path), fetch, NOW + timedelta(hours=23))
    assert fetch.calls == 1 and again == tracker and info["age_hours"] == 23.0
    info = obtain(URL, str(tmp_path), fetch, NOW + timedelta(hours=25))[1]
    assert fetch.calls == 2 and info["age_hours"] == 0.0


def test_a_failed_fetch_uses_the_cached_copy_and_says_it_is_stale(tmp_path):
    fetch = Fetcher(SAMPLE.read_bytes(), OSError("connection refused"), b"<html>not json</html>")
    obtain(URL, str(tmp_path), fetch, NOW)
    tracker, info = obtain(URL, str(tmp_path), fetch, NOW + timedelta(hours=30))
    assert tracker and info["stale"] and info["age_hours"] == 30.0 and "connection refused" in info["problem"]
    info = obtain(URL, str(tmp_path), fetch, NOW + timedelta(hours=31))[1]  # a broken answer keeps the copy
    assert info["stale"] and json.loads((tmp_path / "security-tracker.json").read_text())


def test_no_copy_and_no_answer_is_an_error(tmp_path):
    with pytest.raises(TrackerError, match="cannot fetch the security tracker export: refused"):
        obtain(URL, str(tmp_path), Fetcher(OSError("refused")), NOW)
    with pytest.raises(TrackerError, match="needs a cache folder"):
        obtain(URL, None, Fetcher(), NOW)
    with pytest.raises(TrackerError, match="cannot read"):
        obtain(str(tmp_path / "missing.json"), None, Fetcher(), NOW)


def test_release_states():
    fixed = {"bookworm": {"status": "resolved", "fixed_version": "3.0-2"},
             "trixie": {"status": "resolved", "fixed_version": "0"}}
    tracker = {"openssl": {"CVE-2026-1": {"releases": fixed},
                           "CVE-2026-2": {"releases": {"bookworm": {"status": "open"}}}},
               "libssl-other": {"CVE-2026-1": {"releases": {"bookworm": {"status": "open"}}}},
               "_source": "a note"}
    assert release_states(tracker, "bookworm", ["cve-2026-1", "CVE-2026-2", "CVE-2026-3"]) == {
        "CVE-2026-1": "open", "CVE-2026-2": "open"}
    assert release_states(tracker, "trixie", ["CVE-2026-1"]) == {"CVE-2026-1": "not-affected"}
    assert release_states(tracker, "bullseye", ["CVE-2026-1"]) == {}
