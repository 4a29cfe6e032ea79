"""changelog_cache: one file per source version on the controller; misses retried later."""

import json
import os
import stat
from datetime import datetime, timedelta, timezone

import pytest

from ansible_collections.patchpilot.fleet.plugins.module_utils.changelog_cache import CacheError, ChangelogCache

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=timezone.utc)
ENTRY = {"package": "openssl", "version": "1:3.0-1", "urgency": "high", "date": None, "cves": ["CVE-2026-1"],
         "advisories": [], "distributions": ["x"], "maintainer": "m"}


def test_put_then_get(tmp_path):
    cache = ChangelogCache(str(tmp_path / "changelogs"))
    assert cache.get("openssl", "1:3.0-1") is None
    cache.put("openssl", "1:3.0-1", [ENTRY], "https://example.org/c", now=NOW)
    again = ChangelogCache(str(tmp_path / "changelogs"))
    record = again.get("openssl", "1:3.0-1")
    assert record["entries"] == [ENTRY] and record["origin"] == "https://example.org/c"
    assert (cache.misses, cache.stored, again.hits, again.misses) == (1, 1, 1, 0)
    path = tmp_path / "changelogs" / "openssl_1%3a3.0-1.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "changelogs").stat().st_mode) == 0o700
    assert [p.name for p in (tmp_path / "changelogs").iterdir()] == [path.name]  # no temporary left


def test_a_miss_is_tried_again_after_the_retry_time(tmp_path):
    cache = ChangelogCache(str(tmp_path), retry_hours=24)
    cache.put("pplab-web", "1.1-1", [], "deb", missing="no changelog in the package", now=NOW)
    assert cache.get("pplab-web", "1.1-1", now=NOW + timedelta(hours=23))["missing"] == "no changelog in the package"
    assert cache.get("pplab-web", "1.1-1", now=NOW + timedelta(hours=24)) is None


@pytest.mark.parametrize("content", ["{not json", json.dumps({"format": 99, "entries": []}), json.dumps([1])])
def test_an_unreadable_or_foreign_file_is_a_miss(tmp_path, content):
    cache = ChangelogCache(str(tmp_path))
    open(cache.file("openssl", "3.0-1"), "w").write(content)
    assert cache.get("openssl", "3.0-1") is None and cache.misses == 1


@pytest.mark.parametrize("source, version", [("../x", "1.0"), ("openssl", "1.0/../../x"), ("openssl", ""),
                                             ("Openssl", "1.0"), (None, "1.0")])
def test_keys_that_name_no_cache_file_are_refused(tmp_path, source, version):
    with pytest.raises(CacheError):
        ChangelogCache(str(tmp_path)).file(source, version)


def test_bad_folders_are_refused(tmp_path):
    with pytest.raises(CacheError, match="not an absolute path"):
        ChangelogCache("relative/changelogs")
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)
    with pytest.raises(CacheError, match="writable by others"):
        ChangelogCache(str(shared))
