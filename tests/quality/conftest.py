"""Shared helpers for the quality checks (lint, sanity, changelog, build).

These tests run the project's tools as a developer or CI would, from the
repository root, with the active virtualenv's ``bin`` first on PATH so the
pinned tools from requirements.txt are the ones used.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from support.skips import require_tools

REPO_ROOT = Path(__file__).resolve().parents[2]

# Variables that would make the tools ignore the checkout's ansible.cfg.
_ANSIBLE_OVERRIDES = (
    "ANSIBLE_CONFIG",
    "ANSIBLE_COLLECTIONS_PATH",
    "ANSIBLE_COLLECTIONS_PATHS",
)


@dataclass(frozen=True)
class Galaxy:
    """The fields of galaxy.yml the tests check against."""

    namespace: str
    name: str
    version: str
    dependencies: dict[str, str]

    @property
    def fqcn(self) -> str:
        return f"{self.namespace}.{self.name}"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def galaxy() -> Galaxy:
    data = yaml.safe_load((REPO_ROOT / "galaxy.yml").read_text(encoding="utf-8"))
    return Galaxy(
        namespace=data["namespace"],
        name=data["name"],
        version=str(data["version"]),
        dependencies=dict(data.get("dependencies") or {}),
    )


@pytest.fixture(scope="session")
def tool_env() -> dict[str, str]:
    """Environment for the tools: the venv's bin first, no ansible.cfg overrides."""
    env = {key: value for key, value in os.environ.items() if key not in _ANSIBLE_OVERRIDES}
    venv_bin = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join([venv_bin, env.get("PATH", os.defpath)])
    # Plain output, so that failure messages stay readable.
    env["NO_COLOR"] = "1"
    env["ANSIBLE_NOCOLOR"] = "1"
    env["ANSIBLE_FORCE_COLOR"] = "0"
    env.pop("FORCE_COLOR", None)
    env.pop("PY_COLORS", None)
    return env


@pytest.fixture(scope="session")
def require_tool(tool_env):
    """Return a function that finds a tool on the test PATH.

    A missing tool skips the test, unless PATCHPILOT_REQUIRE_TOOLS=1 (set by
    the project's test command, which installs every tool): then it fails
    (support.skips decides).
    """

    def find(name: str) -> str:
        return require_tools(name, hint="pip install -r requirements.txt", path=tool_env["PATH"])[name]

    return find


@pytest.fixture(scope="session")
def run_tool(tool_env):
    """Return a function that runs a command and returns (exit code, output).

    stdout and stderr are merged in order, so that an assertion message can
    show the tool's complete output.
    """

    def run(argv: list[str], *, cwd: Path = REPO_ROOT, timeout: float = 600) -> tuple[int, str]:
        completed = _run(argv, tool_env, cwd, timeout, merge=True)
        return completed.returncode, completed.stdout

    return run


@pytest.fixture(scope="session")
def run_tool_apart(tool_env):
    """Return a function that runs a command and returns (exit code, stdout, stderr).

    For output a test parses (JSON): a warning a tool or a library prints on
    stderr (a DeprecationWarning of a newer dependency) stays out of it.
    """

    def run(argv: list[str], *, cwd: Path = REPO_ROOT, timeout: float = 600) -> tuple[int, str, str]:
        completed = _run(argv, tool_env, cwd, timeout, merge=False)
        return completed.returncode, completed.stdout, completed.stderr

    return run


def _run(argv: list[str], env: dict[str, str], cwd: Path, timeout: float, merge: bool) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT if merge else subprocess.PIPE,
            text=True,
            errors="replace",
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        output = exc.output or ""
        if isinstance(output, bytes):
            output = output.decode(errors="replace")
        pytest.fail(f"{' '.join(argv)} did not finish in {timeout} s; output so far:\n{output}")


@pytest.fixture(scope="session")
def collection_link(galaxy) -> Path:
    """The checkout as seen through ansible.cfg's collections_path.

    The setup script links the checkout to
    .ansible/collections/ansible_collections/NAMESPACE/NAME; make the link
    here too when it is missing, so the tests work on a fresh clone.
    """
    link = REPO_ROOT / ".ansible" / "collections" / "ansible_collections" / galaxy.namespace / galaxy.name
    if not link.exists() and not link.is_symlink():
        link.parent.mkdir(parents=True, exist_ok=True)
        # Relative, so that the link survives moving the checkout.
        link.symlink_to(os.path.relpath(REPO_ROOT, link.parent), target_is_directory=True)
    if link.resolve() != REPO_ROOT:
        pytest.fail(f"{link} points to {link.resolve()}, not to this checkout {REPO_ROOT}; remove it and rerun")
    return link
