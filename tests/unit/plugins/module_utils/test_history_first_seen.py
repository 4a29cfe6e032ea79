"""history_first_seen: the scan's first-seen dates in the history store; the old JSON imported once, the JSON
file as the fallback when the store cannot be opened (both engines)."""

import json

import pytest
from support.history_engines import history_engine  # noqa: F401  # pylint: disable=unused-import

from ansible_collections.patchpilot.fleet.plugins.module_utils import scan_report
from ansible_collections.patchpilot.fleet.plugins.module_utils.history_first_seen import FirstSeen, reached_hosts

OLD = {"web01|openssl|amd64|3.0.1": "2026-11-01", "db01|curl||8.1": "2026-11-05"}


def test_an_existing_json_file_is_imported_once_and_nothing_is_lost(history_engine, tmp_path):
    state = tmp_path / "state"
    state.mkdir(mode=0o700, exist_ok=True)
    (state / "first_seen.json").write_text(json.dumps(OLD))
    store = history_engine.open()
    store.merge_first_seen({"web01|openssl|amd64|3.0.1": "2026-11-09", "web01|zlib||1.3": "2026-11-10"})
    store.close()
    source = FirstSeen.open(history_engine.spec, str(state), str(state / "first_seen.json"))
    assert source.in_store and source.warnings == [] and source.imported == {str(state / "first_seen.json"): 2}
    assert source.read() == dict(OLD, **{"web01|zlib||1.3": "2026-11-10"})  # the earlier date of the two wins
    source.close()
    assert not (state / "first_seen.json").exists()
    assert json.loads((state / "first_seen.json.imported").read_text()) == OLD
    again = FirstSeen.open(history_engine.spec, str(state), str(state / "first_seen.json"))
    assert again.imported == {} and len(again.read()) == 3
    again.close()


def test_a_scan_report_folders_old_file_is_imported_too(history_engine, tmp_path):
    scan = tmp_path / "reports" / "scan"
    scan.mkdir(parents=True)
    (scan / "first_seen.json").write_text(json.dumps(OLD))
    source = FirstSeen.open(history_engine.spec, str(tmp_path / "state"), str(tmp_path / "state" / "first_seen.json"),
                            str(scan))
    assert source.read() == OLD and (scan / "first_seen.json.imported").exists()
    source.close()


def test_saving_merges_and_forgets_only_for_the_scanned_hosts(history_engine, tmp_path):
    source = FirstSeen.open(history_engine.spec, str(tmp_path / "state"), str(tmp_path / "state" / "first_seen.json"))
    source.save(OLD, [])
    assert source.save({"web01|zlib||1.3": "2026-12-06"}, ["web01"]) == source.store.where
    assert source.read() == {"db01|curl||8.1": "2026-11-05", "web01|zlib||1.3": "2026-12-06"}
    source.close()
    assert not (tmp_path / "state" / "first_seen.json").exists()


@pytest.mark.parametrize("spec", ["postgresql://pp:hunter2-secret@127.0.0.1:1/pp", "relative/store.sqlite"])
def test_a_store_that_cannot_be_opened_falls_back_to_the_json_file_with_one_warning(tmp_path, spec):
    state = tmp_path / "state"
    state.mkdir()
    (state / "first_seen.json").write_text(json.dumps(OLD))
    source = FirstSeen.open(spec, str(state), str(state / "first_seen.json"))
    assert not source.in_store and source.read() == OLD
    assert source.save(OLD, ["web01"]) == str(state / "first_seen.json")
    assert len(source.warnings) == 1 and "history store unavailable" in source.warnings[0]
    assert "hunter2" not in source.warnings[0]
    assert (state / "first_seen.json").exists()  # not imported: the store never had it


def test_an_unreadable_json_file_is_an_error_and_stays(history_engine, tmp_path):
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    (state / "first_seen.json").write_text("{not json")
    with pytest.raises(scan_report.ReportError, match="unreadable first-seen store"):
        FirstSeen.open(history_engine.spec, str(state), str(state / "first_seen.json"))
    assert (state / "first_seen.json").read_text() == "{not json"


def test_reached_hosts_are_those_with_known_updates():
    assert reached_hosts({"a": {"updates": []}, "b": {"updates": None}, "c": {"updates": [{}]}}) == ["a", "c"]
