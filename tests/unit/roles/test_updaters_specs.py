"""The updaters role's interface and the units lists, without a host.

* every optional documented variable has a default, with the same value, and every default is
  documented; public variables carry the role's prefix, internals the double-underscore one;
* every task is named and uses a fully qualified module name;
* the updaters role and the preflight updaters check read the units module_utils/updaters.py knows.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ansible_collections.patchpilot.fleet.plugins.module_utils.updaters import UNITS

ROLES = Path(__file__).resolve().parents[3] / "roles"
ROLE = ROLES / "updaters"


def load(path: Path):
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def test_every_variable_is_documented_with_its_default():
    specs = load(ROLE / "meta" / "argument_specs.yml")["argument_specs"]
    defaults = load(ROLE / "defaults" / "main.yml")
    assert set(specs) == {"main", "pause", "resume"}
    documented = {}
    for entry in specs.values():
        for name, spec in entry["options"].items():
            assert name.startswith("updaters_"), name
            assert spec.get("description"), f"{name} has no description"
            if not spec.get("required"):
                documented[name] = spec["default"]
    assert documented == defaults


def test_internal_variables_are_prefixed():
    assert all(name.startswith("__updaters_") for name in load(ROLE / "vars" / "main.yml"))


@pytest.mark.parametrize("path", sorted((ROLE / "tasks").glob("*.yml")), ids=lambda p: p.name)
def test_tasks_are_named_and_fqcn(path):
    for task in load(path):
        assert task.get("name"), f"{path.name}: unnamed task {task}"
        modules = [k for k in task if "." in k]
        assert len(modules) == 1 and modules[0].startswith("ansible.builtin."), f"{path.name}: {task['name']}"


@pytest.mark.parametrize("role, variable", [("updaters", "__updaters_known_units"),
                                            ("preflight", "__preflight_updater_units")])
def test_the_roles_read_the_units_module_utils_knows(role, variable):
    assert load(ROLES / role / "vars" / "main.yml")[variable] == UNITS
