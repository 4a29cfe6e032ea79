"""history_feed.feed: a store that fails buffers the records; the next feed that reaches it flushes them."""

import json
import stat

from ansible_collections.patchpilot.fleet.plugins.module_utils.history_feed import BUFFER_NAME, feed, redacted
from ansible_collections.patchpilot.fleet.plugins.module_utils.history_store import StoreError, open_store

RECORDS = [{"kind": "run", "run_id": "r1", "state": "completed", "at": "2026-12-01T10:00:00+00:00", "data": {}}]
URL = "postgresql://patchpilot:s3cr%40t-pw@db.example.org/history"


def failing(spec, _state_dir):
    raise StoreError(f"history store {spec}: connection refused (password s3cr@t-pw rejected)")


def test_a_failing_store_buffers_privately_and_says_why_without_the_password(tmp_path):
    result = feed(URL, str(tmp_path), RECORDS, opener=failing)
    assert result["ok"] is False and result["buffered"] == 1 and result["appended"] == 0
    assert "connection refused" in result["error"]
    assert "s3cr" not in result["error"] and "db.example.org" not in result["error"], result["error"]
    buffer = tmp_path / BUFFER_NAME
    assert stat.S_IMODE(buffer.stat().st_mode) == 0o600
    assert [json.loads(line) for line in buffer.read_text().splitlines()] == RECORDS


def test_the_next_feed_that_reaches_the_store_flushes_the_buffer_first(tmp_path):
    feed(URL, str(tmp_path), RECORDS, opener=failing)
    later = [dict(RECORDS[0], run_id="r2")]
    result = feed(None, str(tmp_path), later)
    assert result == {"ok": True, "appended": 1, "flushed": 1, "buffered": 0, "error": None,
                      "buffer": str(tmp_path / BUFFER_NAME)}
    assert not (tmp_path / BUFFER_NAME).exists()
    store = open_store(None, str(tmp_path))
    assert [r["run_id"] for r in store.records()] == ["r1", "r2"]
    store.close()


def test_records_buffered_twice_are_stored_once(tmp_path):
    feed(URL, str(tmp_path), RECORDS, opener=failing)
    feed(URL, str(tmp_path), RECORDS, opener=failing)
    assert feed(None, str(tmp_path), RECORDS)["flushed"] == 1


def test_redacted_hides_the_password_in_both_spellings_and_the_url():
    text = redacted(f"could not reach {URL}: password s3cr@t-pw and s3cr%40t-pw", URL)
    assert "s3cr" not in text and "<store URL>" in text
    assert redacted("plain message", "/var/lib/patchpilot/history.sqlite") == "plain message"


def test_a_buffer_that_cannot_be_written_is_said_and_never_raised(tmp_path):
    buffer = tmp_path / BUFFER_NAME
    buffer.write_text("")
    buffer.chmod(0o644)  # others may read it: append_private_jsonl refuses it
    result = feed(URL, str(tmp_path), RECORDS, opener=failing)
    assert result["ok"] is False and result["buffered"] == 0
    assert "buffer cannot be written" in result["error"] and "NOT KEPT" in result["error"], result["error"]
