"""The retention role's interface, without a host.

* every optional documented variable has a default, with the same value, and every default is
  documented; public variables carry the role's prefix, internals the double-underscore one;
* every task is named and uses one fully qualified module; removals run argv lists, never a shell;
* the role's host folder is the one module_utils/retention.py decides about.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ansible_collections.patchpilot.fleet.plugins.module_utils.retention import DEFAULT_KEEP, HOST_DIR_ROOT

ROLE = Path(__file__).resolve().parents[3] / "roles" / "retention"


def load(path: Path):
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def test_every_variable_is_documented_with_its_default():
    specs = load(ROLE / "meta" / "argument_specs.yml")["argument_specs"]
    defaults = load(ROLE / "defaults" / "main.yml")
    documented = {}
    for name, spec in specs["main"]["options"].items():
        assert name.startswith("retention_"), name
        assert spec.get("description"), f"{name} has no description"
        if not spec.get("required"):
            documented[name] = spec["default"]
    assert documented == defaults
    assert defaults["retention_keep"] == DEFAULT_KEEP
    assert {n for n, s in specs["main"]["options"].items() if s.get("no_log")} == {
        "retention_aws_access_key", "retention_aws_secret_key"}


def test_internals_are_prefixed_and_the_host_folder_is_the_deciders():
    internals = load(ROLE / "vars" / "main.yml")
    assert all(name.startswith("__retention_") for name in internals)
    assert internals["__retention_host_root"] == HOST_DIR_ROOT


@pytest.mark.parametrize("path", sorted((ROLE / "tasks").glob("*.yml")), ids=lambda p: p.name)
def test_tasks_are_named_fqcn_and_run_argv(path):
    for task in load(path):
        assert task.get("name"), f"{path.name}: unnamed task {task}"
        modules = [k for k in task if "." in k]
        assert len(modules) == 1, f"{path.name}: {task['name']}"
        assert modules[0].split(".")[0] in ("ansible", "patchpilot", "amazon"), modules
        if modules[0] == "ansible.builtin.command":
            assert set(task[modules[0]]) <= {"argv", "removes"}, task["name"]
