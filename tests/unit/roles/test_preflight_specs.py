"""The preflight role's interface and its lock probe, without a host.

* every documented variable has a default and every default is documented,
  with the same value; public variables carry the role's prefix, internals
  the double-underscore one;
* every task is named and uses a fully qualified module name;
* files/wait_for_locks.py waits for an fcntl lock like apt's and names its holder.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

ROLE = Path(__file__).resolve().parents[3] / "roles" / "preflight"
PROBE = ROLE / "files" / "wait_for_locks.py"


def load(path: str):
    return yaml.safe_load((ROLE / path).read_text(encoding="utf-8"))


def test_every_variable_is_documented_with_its_default():
    options = load("meta/argument_specs.yml")["argument_specs"]["main"]["options"]
    defaults = load("defaults/main.yml")
    assert set(options) == set(defaults)
    for name, spec in options.items():
        assert name.startswith("preflight_"), name
        assert spec.get("description"), f"{name} has no description"
        assert spec["default"] == defaults[name], f"{name}: spec default {spec['default']!r} != {defaults[name]!r}"


def test_internal_variables_are_prefixed():
    assert all(name.startswith("__preflight_") for name in load("vars/main.yml"))


def task_files():
    return sorted((ROLE / "tasks").glob("*.yml"))


@pytest.mark.parametrize("path", task_files(), ids=lambda p: p.name)
def test_tasks_are_named_and_fqcn(path):
    for task in yaml.safe_load(path.read_text(encoding="utf-8")):
        assert task.get("name"), f"{path.name}: unnamed task {task}"
        modules = [k for k in task if "." in k]
        assert len(modules) == 1 and modules[0].startswith(("ansible.builtin.", "patchpilot.fleet.")), f"{path.name}: {task['name']}"


def test_every_check_has_a_task_file():
    checks = load("vars/main.yml")["__preflight_checks"]
    assert {f"{c}.yml" for c in checks} | {"main.yml"} == {p.name for p in task_files()}


def hold(path: Path, seconds: float) -> subprocess.Popen:
    code = ("import fcntl,sys,time;f=open(sys.argv[1],'w');fcntl.lockf(f,fcntl.LOCK_EX);"
            "print('locked',flush=True);time.sleep(float(sys.argv[2]))")
    proc = subprocess.Popen([sys.executable, "-c", code, str(path), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def probe(timeout: float, *paths: Path) -> dict:
    out = subprocess.run([sys.executable, str(PROBE), str(timeout), *map(str, paths)], capture_output=True,
                         text=True, check=True, timeout=60).stdout
    return json.loads(out)


def test_probe_free_and_missing_locks(tmp_path):
    free = tmp_path / "lock"
    free.write_text("")
    assert probe(5, free, tmp_path / "missing") == {"free": True, "waited_seconds": 0.0, "held": []}


def test_probe_waits_for_a_lock_to_be_released(tmp_path):
    lock = tmp_path / "lock"
    holder = hold(lock, 2)
    try:
        start = time.monotonic()
        result = probe(20, lock)
        assert result["free"] is True and 1 <= result["waited_seconds"] <= 10
        assert time.monotonic() - start < 15
    finally:
        holder.wait(timeout=30)


def test_probe_names_the_holder_after_the_timeout(tmp_path):
    lock = tmp_path / "lock"
    holder = hold(lock, 30)
    try:
        result = probe(1, lock)
        assert result["free"] is False and result["waited_seconds"] >= 1
        assert result["held"] == [{"path": str(lock), "pid": holder.pid, "command": result["held"][0]["command"]}]
        assert "fcntl" in result["held"][0]["command"]
    finally:
        holder.kill()
        holder.wait(timeout=30)
    assert os.path.exists(lock)
