"""The verify role's interface without a host, and no Jinja control blocks in the health roles' tasks.

* every documented variable of the main entry point has a default and every default is
  documented, with the same value; public variables carry the role's prefix, internals the
  double-underscore one;
* the defaults of the health checks are not in the role (they are module_utils/health.py's);
* the task and vars files of verify, hooks, notify, reboot, restart and preflight's window check
  hold no ``{%`` block: their decisions are Python's.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ansible_collections.patchpilot.fleet.plugins.module_utils.health import DEFAULTS

ROOT = Path(__file__).resolve().parents[3]
ROLE = ROOT / "roles" / "verify"


def load(path: str):
    return yaml.safe_load((ROLE / path).read_text(encoding="utf-8"))


def test_every_variable_is_documented_with_its_default():
    options = load("meta/argument_specs.yml")["argument_specs"]["main"]["options"]
    defaults = load("defaults/main.yml")
    assert set(options) == set(defaults)
    for name, spec in options.items():
        assert name.startswith("verify_"), name
        assert spec.get("description"), f"{name} has no description"
        assert spec.get("default") == defaults[name], f"{name}: spec default {spec.get('default')!r} != {defaults[name]!r}"


def test_the_new_interface_is_there():
    options = load("meta/argument_specs.yml")["argument_specs"]["main"]["options"]
    assert {"verify_health_checks", "verify_after_rollback", "verify_expect_reboot", "verify_archive_dir"} <= set(options)
    assert options["verify_health_checks"]["type"] == "dict"


def test_the_health_check_defaults_are_written_once_in_python():
    defaults = load("defaults/main.yml")
    for key in DEFAULTS:
        name = {"http": "verify_http_checks", "commands": "verify_command_checks"}.get(key, f"verify_{key}")
        assert defaults[name] is None, f"{name}: the default is module_utils/health.py's, not the role's"
    assert defaults["verify_health_checks"] == {}


def test_internal_variables_are_prefixed():
    assert all(name.startswith("__verify_") for name in load("vars/main.yml"))


def task_files():
    files = [path for role in ("verify", "hooks", "notify", "reboot", "restart")
             for folder in ("tasks", "vars") for path in sorted((ROOT / "roles" / role / folder).glob("*.yml"))]
    return files + [ROOT / "roles" / "preflight" / "tasks" / "window.yml"]


@pytest.mark.parametrize("path", task_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_jinja_control_blocks(path):
    lines = [number for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if "{%" in line]
    assert not lines, f"{path.relative_to(ROOT)}: a {{% block on line(s) {lines}: move the logic to module_utils"


@pytest.mark.parametrize("path", sorted((ROLE / "tasks").glob("*.yml")), ids=lambda p: p.name)
def test_tasks_are_named_and_fqcn(path):
    for task in yaml.safe_load(path.read_text(encoding="utf-8")):
        assert task.get("name"), f"{path.name}: unnamed task {task}"
        modules = [k for k in task if "." in k]
        assert len(modules) == 1 and modules[0].startswith(("ansible.builtin.", "patchpilot.fleet.")), task["name"]
