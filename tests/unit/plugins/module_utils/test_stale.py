"""Parsing /proc/PID/maps and /proc/PID/cgroup for processes that use replaced files."""

from pathlib import Path

import pytest

from ansible_collections.patchpilot.fleet.plugins.module_utils.stale import (
    deleted_exe,
    parse_maps,
    summarise,
    unit_from_cgroup,
)

FIXTURES = Path(__file__).parent / "fixtures" / "stale"


def fixture(name):
    return (FIXTURES / name).read_text(encoding="utf-8")


def test_recorded_maps_show_the_replaced_library_file():
    assert parse_maps(fixture("maps-seclib-deleted.txt")) == ["/usr/share/pplab-seclib/VERSION"]


def test_recorded_cgroup_maps_to_the_service():
    assert unit_from_cgroup(fixture("cgroup-hybrid-service.txt")) == "pp-seclib-user.service"


@pytest.mark.parametrize("line, expected", [
    # a real library replaced by an upgrade
    ("7f1c2a000000-7f1c2a028000 r--p 00000000 fd:01 1311 /usr/lib/x86_64-linux-gnu/libssl.so.3 (deleted)",
     ["/usr/lib/x86_64-linux-gnu/libssl.so.3"]),
    # spaces in the path survive
    ("7f1c2a000000-7f1c2a028000 r--p 00000000 fd:01 1311 /opt/my app/lib.so (deleted)", ["/opt/my app/lib.so"]),
    # present files, anonymous and pseudo mappings
    ("00400000-0041f000 r--p 00000000 00:a8 2027831 /usr/bin/python3.11", []),
    ("7ffd1a000000-7ffd1a021000 rw-p 00000000 00:00 0 [stack]", []),
    ("7f1c2a000000-7f1c2a001000 rw-p 00000000 00:00 0", []),
    # deleted by design: memfd, SysV shm, /dev/zero, scratch files
    ("7f1c2a000000-7f1c2a001000 rw-s 00000000 00:01 1025 /memfd:pulseaudio (deleted)", []),
    ("7f1c2a000000-7f1c2a001000 rw-s 00000000 00:01 32768 /SYSV00000000 (deleted)", []),
    ("7f1c2a000000-7f1c2a001000 rw-s 00000000 00:05 6 /dev/zero (deleted)", []),
    ("7f1c2a000000-7f1c2a001000 rw-s 00000000 00:1a 77 /tmp/.glXXXX (deleted)", []),
    # a deleted mapping without an inode is not a file
    ("7f1c2a000000-7f1c2a001000 rw-s 00000000 00:00 0 /anon (deleted)", []),
    ("", []),
])
def test_parse_maps_lines(line, expected):
    assert parse_maps(line) == expected


def test_parse_maps_unique_and_sorted_with_custom_prefixes():
    text = "\n".join([
        "a-b r--p 0 fd:01 2 /usr/lib/b.so (deleted)",
        "a-b r-xp 0 fd:01 2 /usr/lib/b.so (deleted)",
        "a-b r--p 0 fd:01 3 /usr/lib/a.so (deleted)",
        "a-b r--p 0 fd:01 4 /tmp/keep.so (deleted)",
    ])
    assert parse_maps(text) == ["/usr/lib/a.so", "/usr/lib/b.so"]
    assert parse_maps(text, ignore_prefixes=("/usr/lib/a",)) == ["/tmp/keep.so", "/usr/lib/b.so"]


@pytest.mark.parametrize("text, unit", [
    # cgroup v2 (unified)
    ("0::/system.slice/nginx.service\n", "nginx.service"),
    # nested: a service's own sub-cgroup, a user manager's app unit
    ("0::/system.slice/docker.service/inner\n", "docker.service"),
    ("0::/user.slice/user-1000.slice/user@1000.service/app.slice/app-foo.service\n", "app-foo.service"),
    # a login session and PID 1 have no service
    ("0::/user.slice/user-1000.slice/session-3.scope\n", None),
    ("0::/init.scope\n", None),
    # v1: the name=systemd hierarchy wins over the others
    ("12:memory:/system.slice/wrong.service\n1:name=systemd:/system.slice/cron.service\n0::/\n", "cron.service"),
    ("", None),
])
def test_unit_from_cgroup(text, unit):
    assert unit_from_cgroup(text) == unit


@pytest.mark.parametrize("target, expected", [
    ("/usr/sbin/nginx (deleted)", "/usr/sbin/nginx"),
    ("/usr/sbin/nginx", None),
    ("/memfd:runc (deleted)", None),
    ("", None),
    (None, None),
])
def test_deleted_exe(target, expected):
    assert deleted_exe(target) == expected


def test_summarise_units():
    procs = [{"unit": "b.service"}, {"unit": None}, {"unit": "a.service"}, {"unit": "b.service"}]
    assert summarise(procs) == ["a.service", "b.service"]
