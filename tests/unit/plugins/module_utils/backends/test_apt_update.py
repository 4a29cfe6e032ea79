"""apt backend, the index refresh: recorded ``apt-get update`` outputs in, the index record out.

A source that answers 404 or refuses the connection leaves the index stale (the
host is scanned from the index it has); a held lock still fails the scan.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from ansible_collections.patchpilot.fleet.plugins.module_utils.backends import apt
from ansible_collections.patchpilot.fleet.plugins.module_utils.records import BackendError

UPDATES = Path(__file__).resolve().parent / "fixtures" / "apt-update"
SIMULATION = Path(__file__).resolve().parents[1] / "fixtures" / "bookworm-dist-upgrade.txt"
OPTIONS = {"update_cache": True, "vendor_origins": ["Debian", "Fixture Repo"], "reboot_packages": [],
           "apt_archives": "/nonexistent/archives"}

REFUSED = {"source": "http://mirror.example.org/debian stable",
           "message": "Could not connect to mirror.example.org:80 (192.0.2.10). - connect (111: Connection refused)"}
REFUSED_TRIXIE = dict(REFUSED, message=REFUSED["message"] + " Unable to connect to mirror.example.org:80:")
NOT_FOUND = {"source": "http://repo.example.org/archive no-such-dist",
             "message": "404 File not found [IP: 192.0.2.20 80]; The repository "
                        "'http://repo.example.org/archive no-such-dist Release' does not have a Release file."}


def recorded(name: str) -> tuple:
    """(rc, stdout, stderr) of a recorded apt-get update (fixtures/apt-update/README.md)."""
    text = (UPDATES / name).read_text(encoding="utf-8")
    head, body = text.split("\n", 1)
    out, err = body.split("---stderr\n", 1)
    return int(head.split("=", 1)[1]), out, err


class FakeRun:
    def __init__(self, update):
        self.update, self.calls = update, []

    def __call__(self, argv, environ_update=None, binary=False):
        self.calls.append(argv)
        assert environ_update and environ_update["LANG"] == "C"
        if argv[:2] == ["apt-get", "update"]:
            return self.update
        if argv[:2] == ["apt-get", "-s"]:
            return 0, SIMULATION.read_text(encoding="utf-8"), ""
        if argv[:2] == ["apt-cache", "policy"]:
            return 0, "", ""
        raise AssertionError(f"unexpected command {argv}")


@pytest.mark.parametrize("name, errors", [
    ("bullseye-404-and-refused.txt", [REFUSED, NOT_FOUND]),
    ("bookworm-404-and-refused.txt", [NOT_FOUND, REFUSED]),
    ("trixie-404-and-refused.txt", [NOT_FOUND, REFUSED_TRIXIE]),
    ("bookworm-refused.txt", [REFUSED]),
    ("trixie-refused.txt", [REFUSED_TRIXIE]),
])
def test_each_failing_source_with_apts_words(name, errors):
    rc, out, err = recorded(name)
    parsed = apt.parse_apt_update(out + "\n" + err)
    assert parsed == {"errors": errors, "fatal": []}


def test_a_held_lock_names_no_source():
    rc, out, err = recorded("locked.txt")
    parsed = apt.parse_apt_update(out + "\n" + err)
    assert parsed["errors"] == []
    assert parsed["fatal"] == ["Could not get lock /var/lib/apt/lists/lock. It is held by process 4242 (apt-get)",
                               "Unable to lock directory /var/lib/apt/lists/"]


def test_other_sources_and_warnings_are_no_errors():
    text = ("Hit:1 http://mirror.example.org/debian stable InRelease\n"
            "Get:2 http://mirror.example.org/debian stable/main amd64 Packages [8 kB]\n"
            "Ign:3 http://cdn.example.org/debian stable InRelease\n"
            "  a note apt shows with Acquire::Progress::Ignore::ShowErrorText\n"
            "Reading package lists...\n"
            "W: Target Packages (main/binary-amd64/Packages) is configured multiple times in "
            "/etc/apt/sources.list:1 and /etc/apt/sources.list.d/extra.list:1\n"
            "N: See apt-secure(8) manpage for repository creation and user configuration details.\n")
    assert apt.parse_apt_update(text) == {"errors": [], "fatal": []}


def test_a_bad_signature_and_a_missing_packages_file_name_their_source():
    text = ("Err:2 http://mirror.example.org/debian stable/main amd64 Packages\n"
            "  404  Not Found [IP: 192.0.2.10 80]\n"
            "W: GPG error: http://third.example.org/repo stable InRelease: The following signatures couldn't be "
            "verified because the public key is not available: NO_PUBKEY 0123456789ABCDEF\n"
            "E: The repository 'http://third.example.org/repo stable InRelease' is not signed.\n"
            "E: Failed to fetch http://mirror.example.org/debian/dists/stable/main/binary-amd64/Packages.xz  "
            "404  Not Found [IP: 192.0.2.10 80]\n"
            "E: Some index files failed to download. They have been ignored, or old ones used instead.\n")
    parsed = apt.parse_apt_update(text)
    assert parsed["fatal"] == []
    assert parsed["errors"] == [
        {"source": "http://mirror.example.org/debian stable", "message": "404 Not Found [IP: 192.0.2.10 80]"},
        {"source": "http://third.example.org/repo stable",
         "message": "GPG error: http://third.example.org/repo stable InRelease: The following signatures couldn't "
                    "be verified because the public key is not available: NO_PUBKEY 0123456789ABCDEF; "
                    "The repository 'http://third.example.org/repo stable InRelease' is not signed."},
    ]


def _lists(tmp_path, age: int) -> str:
    lists = tmp_path / "lists"
    (lists / "partial").mkdir(parents=True)
    now = time.time()
    for name, seconds in (("example.org_debian_dists_stable_InRelease", age),
                          ("example.org_debian_dists_stable_main_binary-amd64_Packages", age + 500)):
        (lists / name).write_text("x")
        os.utime(lists / name, (now - seconds, now - seconds))
    (lists / "lock").write_text("")  # touched by every apt run: not index data
    return str(lists)


@pytest.mark.parametrize("name", ["bullseye-404-and-refused.txt", "bookworm-refused.txt"])
def test_failed_refresh_scans_the_index_it_has(tmp_path, name):
    lists = _lists(tmp_path, 7200)
    run = FakeRun(recorded(name))
    records, index = apt.scan(run, OPTIONS, lists_dir=lists)
    assert run.calls[0] == ["apt-get", "update", "-q"]
    assert any(r.name == "pp-ssl" for r in records), "the updates of the index it has are listed"
    assert index["stale"] is True and index["refreshed"] is False
    assert 7200 <= index["age_seconds"] < 7260
    assert REFUSED in index["errors"]


def test_a_held_lock_still_fails_the_scan(tmp_path):
    with pytest.raises(BackendError, match="apt-get update failed \\(exit 100\\): Could not get lock"):
        apt.scan(FakeRun(recorded("locked.txt")), OPTIONS, lists_dir=_lists(tmp_path, 60))


def test_a_failure_apt_does_not_explain_fails_the_scan(tmp_path):
    with pytest.raises(BackendError, match="exit 100"):
        apt.scan(FakeRun((100, "Reading package lists...\n", "")), OPTIONS, lists_dir=_lists(tmp_path, 60))


def test_a_good_refresh_is_fresh(tmp_path):
    run = FakeRun((0, "Hit:1 http://mirror.example.org/debian stable InRelease\nReading package lists...\n", ""))
    _records, index = apt.scan(run, OPTIONS, lists_dir=_lists(tmp_path, 30))
    assert index == {"refreshed": True, "stale": False, "age_seconds": index["age_seconds"], "errors": []}
    assert 30 <= index["age_seconds"] < 90


def test_no_refresh_is_not_stale(tmp_path):
    run = FakeRun(None)
    _records, index = apt.scan(run, dict(OPTIONS, update_cache=False), lists_dir=_lists(tmp_path, 600))
    assert ["apt-get", "update", "-q"] not in run.calls
    assert index["refreshed"] is False and index["stale"] is False and index["errors"] == []
    assert 600 <= index["age_seconds"] < 660


def test_index_age_without_an_index(tmp_path):
    assert apt.index_age(str(tmp_path / "missing")) is None
    (tmp_path / "lock").write_text("")
    assert apt.index_age(str(tmp_path)) is None
    assert apt.index_age(_lists(tmp_path, 100), now=time.time() + 50) >= 150


class FakeCache:
    """Just enough of apt.Cache for an index with nothing to do; it refuses to refresh itself."""
    broken_count = 0

    def update(self, *args, **kwargs):
        raise AssertionError("the index is refreshed with apt-get update, whose words we report")

    def upgrade(self, dist_upgrade=False):
        pass

    def get_changes(self):
        return []

    def __iter__(self):
        return iter(())


class FakeAptModule:
    Cache = FakeCache


def test_python_apt_scans_after_the_same_refresh(tmp_path):
    run = FakeRun(recorded("trixie-refused.txt"))
    records, index = apt.scan(run, OPTIONS, apt_module=FakeAptModule, lists_dir=_lists(tmp_path, 60))
    assert records == []
    assert index["stale"] and index["errors"] == [REFUSED_TRIXIE]
