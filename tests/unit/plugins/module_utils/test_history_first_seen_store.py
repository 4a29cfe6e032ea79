"""Store.first_seen / merge_first_seen: the first-seen dates of pending updates, kept in the store (both engines)."""

import pytest
from support.history_engines import history_engine  # noqa: F401  # pylint: disable=unused-import

from ansible_collections.patchpilot.fleet.plugins.module_utils.history_store import StoreError

SEEN = {"web01|openssl|amd64|3.0.1": "2026-11-01", "web01|curl||8.1": "2026-11-05", "db01|openssl|amd64|3.0.1": "2026-11-03"}


@pytest.fixture
def store(history_engine):
    return history_engine.open()


def test_merging_into_an_empty_store_keeps_every_date(store):
    assert store.merge_first_seen(SEEN) == {"added": 3, "earlier": 0, "removed": 0}
    assert store.first_seen() == SEEN


def test_a_known_date_is_kept_unless_the_new_one_is_earlier(store):
    store.merge_first_seen(SEEN)
    counts = store.merge_first_seen({"web01|openssl|amd64|3.0.1": "2026-12-01", "web01|curl||8.1": "2026-10-30"})
    assert counts == {"added": 0, "earlier": 1, "removed": 0}
    assert store.first_seen() == dict(SEEN, **{"web01|curl||8.1": "2026-10-30"})


def test_a_scanned_host_forgets_what_is_no_longer_pending_and_others_keep_theirs(store):
    store.merge_first_seen(SEEN)
    counts = store.merge_first_seen({"web01|curl||8.1": "2026-11-05", "web01|zlib||1.3": "2026-12-06"}, ["web01"])
    assert counts == {"added": 1, "earlier": 0, "removed": 1}
    assert store.first_seen() == {"web01|curl||8.1": "2026-11-05", "web01|zlib||1.3": "2026-12-06",
                                  "db01|openssl|amd64|3.0.1": "2026-11-03"}


def test_the_dates_are_not_in_the_chain(store):
    store.merge_first_seen(SEEN)
    assert store.records() == [] and store.verify()["checked"] == 0


@pytest.mark.parametrize("entry", [{"web01": "2026-11-01"}, {"web01|a||1": "last week"}, {"web01|a||1": None},
                                   {"|a||1": "2026-11-01"}])
def test_bad_entries_are_refused_and_nothing_is_written(store, entry):
    with pytest.raises(StoreError, match="first-seen entry"):
        store.merge_first_seen(dict(SEEN, **entry))
    assert store.first_seen() == {}
