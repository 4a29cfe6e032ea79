"""Shared test set-up: the lab package (lab/) is importable by every test."""

import os
import sys
import tempfile
from pathlib import Path

import pytest

LAB_DIR = Path(__file__).resolve().parents[1] / "lab"
if str(LAB_DIR) not in sys.path:
    sys.path.insert(0, str(LAB_DIR))

# ./dev test's xdist groups and their order, heaviest first (tests/support/scheduling.py)
from support.scheduling import pytest_collection_modifyitems  # noqa: E402,F401  # pylint: disable=unused-import

from support.skips import REQUIRE_ENV  # noqa: E402  (tests/ is on sys.path: rootdir conftest)

# A throw-away PostgreSQL server (session-scoped, started only by a test that asks for it).
from support.postgres import postgres_server  # noqa: E402,F401  # pylint: disable=unused-import

# The playbooks the tests run keep their state in PATCHPILOT_STATE_DIR (and reports in
# PATCHPILOT_REPORT_DIR) unless a test names its own: never /var/lib/patchpilot or the
# tester's ~/.local/state (the suite runs as root in the lab). One folder per test process,
# left in place afterwards (an upgrade from 0.1 run by a test moves a checkout's old
# reports/ there: nothing is lost).
if "PATCHPILOT_STATE_DIR" not in os.environ:
    _STATE = tempfile.mkdtemp(prefix="patchpilot-test-state-")
    os.environ["PATCHPILOT_STATE_DIR"] = _STATE
    os.environ.setdefault("PATCHPILOT_REPORT_DIR", os.path.join(_STATE, "reports"))

#: root's default state directory; a test that creates it wrote the machine's state (a run
#: whose environment lost PATCHPILOT_STATE_DIR): the session fails.
MACHINE_STATE = "/var/lib/patchpilot"
_MACHINE_STATE_BEFORE = os.path.exists(MACHINE_STATE)


def _machine_state_written() -> bool:
    return not _MACHINE_STATE_BEFORE and os.path.exists(MACHINE_STATE)


def _skipped(config) -> int:
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    return len(reporter.stats.get("skipped", [])) if reporter is not None else 0


def pytest_sessionfinish(session, exitstatus):
    """Under PATCHPILOT_REQUIRE_TOOLS=1 (./dev test, CI) a skipped test fails the run.

    support.skips turns a missing tool or module into a failure there; this catches
    any other skip. Deselection (``-m 'not real'``) is not a skip. Under pytest-xdist
    the controller counts every worker's reports, so only it decides.
    """
    if hasattr(session.config, "workerinput"):
        return
    if _machine_state_written() and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    if os.environ.get(REQUIRE_ENV) != "1":
        return
    if _skipped(session.config) and exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not hasattr(config, "workerinput") and _machine_state_written():
        terminalreporter.write_line(f"{MACHINE_STATE} was created during the run: a playbook run lost its state"
                                    " directory (PATCHPILOT_STATE_DIR); this run fails", red=True, bold=True)
    if os.environ.get(REQUIRE_ENV) != "1" or hasattr(config, "workerinput"):
        return
    count = _skipped(config)
    terminalreporter.write_line(f"skipped: {count}" + (
        f" (not allowed under {REQUIRE_ENV}=1: this run fails)" if count else ""), red=bool(count), bold=bool(count))
