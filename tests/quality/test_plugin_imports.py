"""No plugin imports another plugin: shared code lives in plugins/module_utils or plugins/plugin_utils.

A plugin that imports another (plugins/action/plan.py importing plugins/action/policy_check.py did)
ties two plugins' loading together and hides shared code where nobody looks for it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
PLUGIN_DIRS = ("action", "modules", "filter", "inventory", "lookup", "callback", "test", "connection", "become",
               "cache", "vars", "strategy", "shell", "terminal", "cliconf", "httpapi", "netconf")
SHARED = ("module_utils", "plugin_utils", "doc_fragments")
PREFIX = "ansible_collections.patchpilot.fleet.plugins."


def plugin_imports(source: str, path: str) -> list:
    """Every import in ``source`` (a plugin file at ``path``) of another plugin, as "line: module"."""
    found = []
    package = path.split("/")[1] if path.startswith("plugins/") else ""
    for node in ast.walk(ast.parse(source, path)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from .other import x / from ..action import x
                base = ["plugins", package][:max(0, 3 - node.level)] if node.level <= 2 else []
                names = [PREFIX[:-len("plugins.")] + ".".join(base + ([node.module] if node.module else []))]
            else:
                names = [node.module or ""]
        else:
            continue
        for name in names:
            if name.startswith(PREFIX) and name[len(PREFIX):].split(".", 1)[0] not in SHARED:
                found.append(f"{node.lineno}: {name}")
            elif name.startswith(PREFIX[:-1]) and name == PREFIX[:-1]:
                found.append(f"{node.lineno}: {name}")
    return found


def _plugin_files() -> list:
    return sorted(path for kind in PLUGIN_DIRS for path in (REPO_ROOT / "plugins" / kind).glob("**/*.py"))


def test_the_check_sees_an_import_of_another_plugin():
    bad = "from ansible_collections.patchpilot.fleet.plugins.action.policy_check import read_checked_policy\n"
    assert plugin_imports(bad, "plugins/action/plan.py") == [
        "1: ansible_collections.patchpilot.fleet.plugins.action.policy_check"]
    assert plugin_imports("import ansible_collections.patchpilot.fleet.plugins.filter.hooks\n",
                          "plugins/action/x.py") == ["1: ansible_collections.patchpilot.fleet.plugins.filter.hooks"]
    assert plugin_imports("from .policy_check import merged\n", "plugins/action/plan.py") == [
        "1: ansible_collections.patchpilot.fleet.plugins.action.policy_check"]
    good = ("from ansible_collections.patchpilot.fleet.plugins.module_utils import policy\n"
            "from ansible_collections.patchpilot.fleet.plugins.plugin_utils.policy_file import merged\n"
            "from ansible.plugins.action import ActionBase\n")
    assert plugin_imports(good, "plugins/action/plan.py") == []


def test_there_are_plugins_to_check():
    assert len(_plugin_files()) > 10


@pytest.mark.parametrize("path", _plugin_files(), ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_no_plugin_imports_another_plugin(path):
    relative = str(path.relative_to(REPO_ROOT))
    assert plugin_imports(path.read_text(encoding="utf-8"), relative) == [], \
        f"{relative} imports another plugin: move the shared code to plugins/module_utils or plugins/plugin_utils"
