"""support.skips decides every skip; under PATCHPILOT_REQUIRE_TOOLS=1 a skip is a failure, and a run with skips fails."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from support import skips

TESTS_DIR = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("strict, outcome", [(False, pytest.skip.Exception), (True, pytest.fail.Exception)])
def test_a_missing_tool_skips_or_fails(monkeypatch, strict, outcome):
    monkeypatch.setenv(skips.REQUIRE_ENV, "1" if strict else "0")
    with pytest.raises(outcome, match="needs no-such-tool-here on PATH"):
        skips.require_tools("sh", "no-such-tool-here", path="/usr/bin:/bin")


@pytest.mark.parametrize("strict, outcome", [(False, pytest.skip.Exception), (True, pytest.fail.Exception)])
def test_a_missing_module_or_condition_skips_or_fails(monkeypatch, strict, outcome):
    monkeypatch.setenv(skips.REQUIRE_ENV, "1" if strict else "0")
    with pytest.raises(outcome, match="needs the Python module no_such_module_here"):
        skips.require_module("no_such_module_here")
    with pytest.raises(outcome, match="needs /nowhere"):
        skips.require(False, "needs /nowhere")


def test_present_needs_go_on(monkeypatch):
    monkeypatch.setenv(skips.REQUIRE_ENV, "1")
    assert skips.require_tools("sh", path="/usr/bin:/bin") == {"sh": str(Path(skips.shutil.which("sh", path="/usr/bin:/bin")))}
    assert skips.require_module("json").dumps([1]) == "[1]"
    skips.require(True, "never said")


@pytest.mark.parametrize("name", ["ansible_collections.patchpilot.fleet.plugins.module_utils.cmdb", "patchpilot_lab.rpm"])
def test_the_projects_own_code_is_never_skipped(name):
    with pytest.raises(ValueError, match="the project's own code"):
        skips.require_module(name)


SKIPPING_SUITE = '''
import pytest

def test_runs():
    pass

def test_skips():
    pytest.skip("for the test of the skip count")

@pytest.mark.real
def test_deselected():
    pass
'''


def _run(tmp_path: Path, strict: bool, *args: str) -> subprocess.CompletedProcess:
    (tmp_path / "test_some.py").write_text(SKIPPING_SUITE, encoding="utf-8")
    (tmp_path / "pytest.ini").write_text("[pytest]\nmarkers =\n    real: deselected\n", encoding="utf-8")
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(TESTS_DIR), skips.REQUIRE_ENV: "1" if strict else "0"}
    # tests/conftest.py loaded as a plugin: its hooks, on a suite of its own.
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "conftest", "-p", "no:cacheprovider",
                           "-m", "not real", *args, "test_some.py"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, check=False, timeout=120)


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["one process", "xdist"])
def test_a_skip_fails_the_run_under_require_tools(tmp_path, workers):
    proc = _run(tmp_path, True, *workers)
    assert "skipped: 1 (not allowed under PATCHPILOT_REQUIRE_TOOLS=1" in proc.stdout, proc.stdout + proc.stderr
    assert proc.returncode == pytest.ExitCode.TESTS_FAILED, proc.stdout + proc.stderr


def test_without_require_tools_a_skip_is_only_reported(tmp_path):
    proc = _run(tmp_path, False)
    assert proc.returncode == pytest.ExitCode.OK, proc.stdout + proc.stderr
    assert "1 passed, 1 skipped, 1 deselected" in proc.stdout
    assert "skipped: " not in proc.stdout


def test_no_skip_no_failure_and_deselection_is_allowed(tmp_path):
    proc = _run(tmp_path, True, "-k", "not test_skips")
    assert proc.returncode == pytest.ExitCode.OK, proc.stdout + proc.stderr
    assert "skipped: 0\n" in proc.stdout
