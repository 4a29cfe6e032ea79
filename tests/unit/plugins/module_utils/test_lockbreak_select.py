"""lockbreak.select_lock: the lock a person names, by file name, scope key, run id or scope."""

from __future__ import annotations

import pytest

from ansible_collections.patchpilot.fleet.plugins.module_utils.lockbreak import LockBreakError, select_lock

LOCKS = [
    {"name": "0123456789abcdef.lock", "key": "0123456789abcdef", "path": "/x/locks/0123456789abcdef.lock",
     "owner": {"run_id": "run-a", "scope": "hosts:web1", "host": "h1"}},
    {"name": "fedcba9876543210.lock", "key": "fedcba9876543210", "path": "/x/locks/fedcba9876543210.lock",
     "owner": {"run_id": "run-b", "scope": "hosts:db1", "host": "h2"}},
    {"name": "aaaaaaaaaaaaaaaa.lock", "key": "aaaaaaaaaaaaaaaa", "path": "/x/locks/aaaaaaaaaaaaaaaa.lock",
     "owner": {"error": "unreadable lock file: bad"}},
]


@pytest.mark.parametrize("wanted,name", [
    ("0123456789abcdef.lock", "0123456789abcdef.lock"),
    ("fedcba9876543210", "fedcba9876543210.lock"),
    ("run-a", "0123456789abcdef.lock"),
    ("hosts:db1", "fedcba9876543210.lock"),
    (" aaaaaaaaaaaaaaaa ", "aaaaaaaaaaaaaaaa.lock"),
])
def test_a_lock_is_named_four_ways(wanted, name):
    assert select_lock(LOCKS, wanted)["name"] == name


def test_an_unknown_name_lists_the_locks():
    with pytest.raises(LockBreakError, match=r"no lock named run-z; the locks are: 0123456789abcdef.lock \(run run-a"):
        select_lock(LOCKS, "run-z")
    with pytest.raises(LockBreakError, match="there are no locks"):
        select_lock([], "run-a")
    with pytest.raises(LockBreakError, match="name the lock"):
        select_lock(LOCKS, "")


def test_a_name_of_two_locks_is_refused():
    twice = LOCKS + [dict(LOCKS[0], name="1111111111111111.lock", key="1111111111111111")]
    with pytest.raises(LockBreakError, match="run-a names 2 locks"):
        select_lock(twice, "run-a")
