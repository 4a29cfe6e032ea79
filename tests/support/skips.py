"""The one place that decides whether a test may skip.

A test that needs something the machine may lack (a tool, a Python module, root,
/proc) asks here. Normally a missing need skips the test with its reason. Under
``PATCHPILOT_REQUIRE_TOOLS=1`` (set by ``./dev test``, which installs everything
the suite needs) it fails instead: a skipped test there is a test that did not run.

    from support.skips import require, require_module, require_tools

    dpkg = require_tools("dpkg")["dpkg"]
    jsonschema = require_module("jsonschema", "pip install -r requirements.txt")
    require(os.geteuid() == 0, "starting sshd needs root")

Never ask here for the project's own code (``ansible_collections.patchpilot...``
or ``patchpilot_lab``): that is imported plainly, and a broken import fails.
"""

from __future__ import annotations

import importlib
import os
import shutil
from types import ModuleType
from typing import NoReturn

import pytest

REQUIRE_ENV = "PATCHPILOT_REQUIRE_TOOLS"
_OWN_CODE = ("ansible_collections.patchpilot", "patchpilot_lab", "labkit", "support")


def strict() -> bool:
    """True when a missing need is a failure (``PATCHPILOT_REQUIRE_TOOLS=1``)."""
    return os.environ.get(REQUIRE_ENV) == "1"


def missing(reason: str) -> NoReturn:
    """Skip the running test for ``reason``; fail it instead under ``PATCHPILOT_REQUIRE_TOOLS=1``."""
    if strict():
        pytest.fail(f"{reason}, and {REQUIRE_ENV}=1 requires it", pytrace=False)
    pytest.skip(reason)


def require(condition: bool, reason: str) -> None:
    """Go on when ``condition`` holds; otherwise see :func:`missing`."""
    if not condition:
        missing(reason)


def require_tools(*names: str, hint: str = "", path: str | None = None) -> dict[str, str]:
    """Each named command's path on ``path`` (default: PATH); any missing one: see :func:`missing`."""
    found = {name: shutil.which(name, path=path) for name in names}
    absent = [name for name, where in found.items() if where is None]
    if absent:
        reason = f"needs {', '.join(absent)} on PATH"
        missing(f"{reason} ({hint})" if hint else reason)
    return {name: str(where) for name, where in found.items()}


def require_module(name: str, hint: str = "pip install -r requirements.txt") -> ModuleType:
    """Import a third-party module; when it is not installed: see :func:`missing`."""
    if any(name == own or name.startswith(own + ".") for own in _OWN_CODE):
        raise ValueError(f"{name} is the project's own code: import it, a broken import must fail")
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name is None or not name.startswith(exc.name.split(".")[0]):
            raise  # the module is there but something it imports is not: a real error
        missing(f"needs the Python module {name} ({hint})")
