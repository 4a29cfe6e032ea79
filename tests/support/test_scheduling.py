"""tests/support/scheduling.py (./dev test's xdist units and their order) and
tools/update-test-durations (the durations file it reads)."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from support import scheduling

ROOT = Path(__file__).resolve().parents[2]


def _tool():
    loader = importlib.machinery.SourceFileLoader("update_test_durations", str(ROOT / "tools" / "update-test-durations"))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def test_the_longest_unit_goes_first_and_a_unit_stays_together():
    items = ["u1", "lab/a1", "u2", "lab/b1", "lab/a2", "lab/c1"]
    unit = {"lab/a1": "A", "lab/a2": "A"}
    seconds = {"u1": 0.1, "u2": 0.2, "lab/a1": 100, "lab/a2": 150, "lab/b1": 300, "lab/c1": 200}
    ordered = scheduling.longest_first(items, lambda i: unit.get(i, i), seconds.__getitem__)
    # A weighs 250: after b1 (300), before c1 (200); its tests together, in file order
    assert ordered == ["lab/b1", "lab/a1", "lab/a2", "lab/c1", "u2", "u1"]


def test_equal_units_keep_their_collection_order():
    assert scheduling.longest_first(["x", "y", "z"], str, lambda i: 1.0) == ["x", "y", "z"]


def test_an_unknown_test_counts_as_the_default_of_its_kind():
    known = {"tests/lab/test_a.py::test_x": 12.5}
    assert scheduling.duration_of("tests/lab/test_a.py::test_x", known) == 12.5
    assert scheduling.duration_of("tests/lab/test_a.py::test_new", known) == scheduling.DEFAULT_SLOW
    assert scheduling.duration_of("tests/quality/test_lint.py::test_new", known) == scheduling.DEFAULT_SLOW
    assert scheduling.duration_of("tests/unit/test_b.py::test_y", known) == scheduling.DEFAULT_OTHER


def test_a_broken_durations_file_is_one_clear_error(tmp_path):
    path = tmp_path / "durations.json"
    path.write_text('{"tests/lab/test_a.py::test_x": "slow"}', encoding="utf-8")
    with pytest.raises(pytest.UsageError, match="expected {nodeid: seconds}"):
        scheduling.load_durations(path)
    path.write_text("{", encoding="utf-8")
    with pytest.raises(pytest.UsageError, match="not JSON"):
        scheduling.load_durations(path)
    assert scheduling.load_durations(tmp_path / "missing.json") == {}


def test_the_committed_durations_file_is_valid_and_names_collected_files():
    durations = scheduling.load_durations()
    assert durations, "tests/durations.json is empty"
    for nodeid in durations:
        assert (ROOT / nodeid.split("::", 1)[0]).is_file(), nodeid


JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest">
 <testcase classname="tests.lab.test_a" name="test_slow[web01]@tests/lab/test_a.py" time="301.26"/>
 <testcase classname="tests.lab.test_a" name="test_fast" time="0.2"/>
 <testcase classname="tests.lab.test_a" name="test_shared[db01]@tests/lab/test_a.py]" time="12.0"/>
 <testcase classname="tests.lab.test_a" name="test_shared_too@tests/lab/test_a.py" time="3.0"/>
 <testcase classname="tests.unit.test_b.TestThing" name="test_method" time="2.04"/>
</testsuite></testsuites>
"""


def test_the_tool_turns_junit_cases_into_node_ids(tmp_path):
    tool = _tool()
    for path in ("tests/lab/test_a.py", "tests/unit/test_b.py"):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("", encoding="utf-8")
    xml = tmp_path / "run.xml"
    xml.write_text(JUNIT, encoding="utf-8")
    assert tool.durations([xml], 1.0, root=tmp_path) == {
        "tests/lab/test_a.py::test_slow[web01]": 301.3,  # xdist's @group suffix dropped
        "tests/lab/test_a.py::test_shared[db01]": 12.0,  # ... as pytest 9 prints it, inside the brackets
        "tests/lab/test_a.py::test_shared_too": 3.0,
        "tests/unit/test_b.py::TestThing::test_method": 2.0,
    }
    with pytest.raises(ValueError, match="no test file for junit classname 'tests.gone'"):
        tool.nodeid("tests.gone", "test_x", root=tmp_path)
    # A test file renamed since that run is left out, the rest kept.
    xml.write_text(JUNIT.replace("</testsuite>", '<testcase classname="tests.gone" name="test_x" time="9"/></testsuite>'),
                   encoding="utf-8")
    assert set(tool.durations([xml], 1.0, root=tmp_path)) == {
        "tests/lab/test_a.py::test_slow[web01]", "tests/lab/test_a.py::test_shared[db01]",
        "tests/lab/test_a.py::test_shared_too", "tests/unit/test_b.py::TestThing::test_method"}


def test_the_tool_writes_the_file_the_hook_reads(tmp_path, capsys):
    tool = _tool()
    xml = tmp_path / "run.xml"
    xml.write_text('<testsuite><testcase classname="tests.support.test_scheduling" name="test_x" time="5"/></testsuite>',
                   encoding="utf-8")
    out = tmp_path / "durations.json"
    assert tool.main([str(xml), "--output", str(out)]) == 0
    assert scheduling.load_durations(out) == {"tests/support/test_scheduling.py::test_x": 5.0}
    assert json.loads(out.read_text(encoding="utf-8")) == {"tests/support/test_scheduling.py::test_x": 5.0}
    assert tool.main([str(tmp_path / "missing.xml"), "--output", str(out)]) == 2
    assert "update-test-durations:" in capsys.readouterr().err


SHARED_MODULE = """\
import os
import time

import pytest


@pytest.fixture(scope="module")
def shared():
    time.sleep(1)
    return os.environ["PYTEST_XDIST_WORKER"]


@pytest.mark.parametrize("host", ["web01", "db01", "app01", "rpm01"])
def test_reads_the_shared_run(shared, host):
    time.sleep(0.3)
    assert shared == os.environ["PYTEST_XDIST_WORKER"], f"{host}: the shared run was made on another worker"


def test_alone_one():
    time.sleep(1)


def test_alone_two():
    time.sleep(1)
"""


def test_under_two_workers_a_shared_fixture_runs_once_on_one_worker(tmp_path):
    """A real pytest-xdist session as ./dev test runs it: the tests of a module-scoped fixture
    share one worker (so the fixture runs once), whatever xdist's own group suffix does."""
    (tmp_path / "tests" / "lab").mkdir(parents=True)
    (tmp_path / "tests" / "conftest.py").write_text(
        f"import sys\nsys.path.insert(0, {str(ROOT / 'tests')!r})\n"
        "from support.scheduling import pytest_collection_modifyitems  # noqa: F401\n", encoding="utf-8")
    (tmp_path / "tests" / "lab" / "test_shared.py").write_text(SHARED_MODULE, encoding="utf-8")
    (tmp_path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "PATCHPILOT_"))}
    proc = subprocess.run([sys.executable, "-m", "pytest", "-n", "2", "--dist", "loadgroup", "--no-loadscope-reorder",
                           "-v", "-p", "no:cacheprovider", "tests/lab"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    workers = {line.split()[0] for line in proc.stdout.splitlines() if "PASSED" in line and "test_reads_the_shared_run" in line}
    assert len(workers) == 1, proc.stdout[-3000:]
    assert "6 passed" in proc.stdout
