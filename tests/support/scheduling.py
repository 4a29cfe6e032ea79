"""Which tests share a worker under ``./dev test``, and in which order the workers get them.

./dev test runs pytest-xdist with ``--dist loadgroup --no-loadscope-reorder``. xdist then
schedules *units*: all the tests marked with one ``xdist_group`` form one unit, every other
test is a unit of its own. It hands the units out in collection order, a worker taking its
next unit when it has two tests or fewer left (xdist 3.8, scheduler/loadscope.py); nothing
is taken back from a worker once given.

Here, at collection (each worker collects the same way, so the order is the same everywhere):

- a test that uses a module-, class- or package-scoped fixture (one rollout read by several
  tests, one scan of a module) is put in the group of its file: such tests must run on one
  worker, or the shared run would happen on both;
- under loadgroup the units are ordered longest first (longest-processing-time first), the
  tests of a unit kept together in their file order. The long lab units start at once on
  both workers and the last minutes are filled with short unit tests, instead of one worker
  running a long file while the other idles.

A unit's length is the sum of its tests' recorded durations in tests/durations.json
(``{nodeid: seconds}``, setup and teardown included), written by
``tools/update-test-durations`` from the junit xml of a full run. A test missing from it
(new, or faster than the file's threshold) counts as ``DEFAULT_SLOW`` seconds under the
directories of ``SLOW_DIRS`` (lab hosts, tools run as a developer would) and
``DEFAULT_OTHER`` elsewhere.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TypeVar

import pytest

DURATIONS = Path(__file__).resolve().parents[1] / "durations.json"
SLOW_DIRS = ("tests/lab/", "tests/quality/", "tests/integration/")
DEFAULT_SLOW = 60.0
DEFAULT_OTHER = 0.1
SHARED_SCOPES = ("module", "class", "package")

T = TypeVar("T")


def load_durations(path: Path = DURATIONS) -> dict[str, float]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except ValueError as exc:
        raise pytest.UsageError(f"{path}: not JSON ({exc}); regenerate it with tools/update-test-durations") from exc
    if not isinstance(data, dict) or not all(isinstance(v, (int, float)) for v in data.values()):
        raise pytest.UsageError(f"{path}: expected {{nodeid: seconds}}; regenerate it with tools/update-test-durations")
    return {str(k): float(v) for k, v in data.items()}


def duration_of(nodeid: str, durations: dict[str, float]) -> float:
    if nodeid in durations:
        return durations[nodeid]
    return DEFAULT_SLOW if nodeid.startswith(SLOW_DIRS) else DEFAULT_OTHER


def longest_first(items: Sequence[T], unit_of: Callable[[T], str], seconds_of: Callable[[T], float]) -> list[T]:
    """The items unit by unit, the units by their summed seconds (largest first, ties in order of
    first appearance), each unit's items in their original order."""
    units: dict[str, list[T]] = {}
    for item in items:
        units.setdefault(unit_of(item), []).append(item)
    weight = {unit: sum(seconds_of(item) for item in members) for unit, members in units.items()}
    return [item for unit in sorted(units, key=lambda u: -weight[u]) for item in units[unit]]


def shares_fixtures(item: pytest.Item) -> bool:
    """Whether the test uses a fixture wider than a function and narrower than the session."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return False
    return any(defs and defs[-1].scope in SHARED_SCOPES for defs in info.name2fixturedefs.values())


def group_of(item: pytest.Item) -> str | None:
    if not shares_fixtures(item):
        return None
    return item.nodeid.split("::", 1)[0]


def _existing_group(item: pytest.Item) -> Iterable[str]:
    for mark in item.iter_markers("xdist_group"):
        yield str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))


def _suffix_group(item: pytest.Item, group: str) -> None:
    """Give the item's node id the ``@group`` suffix by which xdist's controller keeps a group on one worker.

    xdist 3.8 does this in its own hook by assigning ``item._nodeid``, which pytest 9 no longer
    reads (a node's id lives in ``item._id``, a parsed NodeId): the suffix never reached the
    controller and every group was spread over both workers, each running the shared fixture.
    """
    suffixed = f"{item.nodeid}@{group}"
    if "@" in item.nodeid:
        return
    ident = getattr(item, "_id", None)
    if ident is not None and hasattr(type(ident), "parse"):
        item._id = type(ident).parse(suffixed)  # pylint: disable=protected-access
    else:  # pytest before 9
        item._nodeid = suffixed  # pylint: disable=protected-access
    if item.nodeid != suffixed:
        raise pytest.UsageError(f"cannot give {item.nodeid} its xdist group {group!r}: pytest changed how node ids are kept")


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook, which turns the marks into nodeid suffixes
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.pluginmanager.hasplugin("xdist"):
        return
    units: dict[int, tuple[str, str]] = {}  # id(item): (its unit, its node id before any suffix)
    loadgroup = getattr(config.option, "loadgroup", False)
    for item in items:
        groups = sorted(set(_existing_group(item)))
        group = group_of(item)
        if group is not None and not groups:
            item.add_marker(pytest.mark.xdist_group(group))
            groups = [group]
        units[id(item)] = ("_".join(groups) or item.nodeid, item.nodeid)
        if loadgroup and groups:
            _suffix_group(item, units[id(item)][0])
    if not loadgroup:
        return
    durations = load_durations()
    items[:] = longest_first(items, lambda item: units[id(item)][0],
                             lambda item: duration_of(units[id(item)][1], durations))
