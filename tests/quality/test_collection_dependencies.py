"""galaxy.yml declares exactly the collections patchpilot.fleet uses at run time.

A collection counts as used when a plugin, role or playbook names one of its
contents by FQCN (``community.general.mail``, ``group/amazon.aws.aws``, the
``ansible.windows.win_updates`` the action runs). Python import lines are
left out (``from ansible.utils... import`` is ansible-core, not the
ansible.utils collection). collections/requirements.yml (what AWX installs on
project sync) says the same as galaxy.yml; what only the tests use is in
tests/requirements.yml.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import ansible_collections
import yaml

ROOT = Path(__file__).resolve().parents[2]
RUN_TIME_DIRS = ("plugins", "roles", "playbooks", "meta")
TEST_DIRS = ("tests", "molecule")
OWN = "patchpilot.fleet"
FQCN = re.compile(r"(?<![\w.])([a-z][a-z0-9_]*)\.([a-z][a-z0-9_]*)\.[a-z_][a-z0-9_]*")
IMPORT = re.compile(r"^\s*(from|import)\s")


def installed_collections() -> set[str]:
    """namespace.name of every collection the venv carries (the ansible bundle), and this one."""
    found = {OWN}
    for base in ansible_collections.__path__:
        for namespace in Path(base).iterdir():
            if namespace.is_dir() and not namespace.name.startswith(("_", ".")):
                found.update(f"{namespace.name}.{name.name}" for name in namespace.iterdir()
                             if (name / "MANIFEST.json").is_file() or (name / "galaxy.yml").is_file())
    return found


def used_in(folders, known: set[str]) -> dict[str, set[str]]:
    """{collection: files naming it} for the files below ``folders`` (links are not followed)."""
    used: dict[str, set[str]] = {}
    for folder in folders:
        for dirpath, dirnames, filenames in os.walk(ROOT / folder):
            dirnames[:] = [d for d in dirnames if d != "__pycache__" and d != "output"]
            for filename in filenames:
                path = Path(dirpath, filename)
                if path.is_symlink() or path == Path(__file__).resolve():  # this file names collections as examples
                    continue
                try:
                    text = path.read_text(encoding="utf-8")
                except (UnicodeDecodeError, OSError):
                    continue
                for line in text.splitlines():
                    if IMPORT.match(line):
                        continue
                    for match in FQCN.finditer(line):
                        collection = f"{match.group(1)}.{match.group(2)}"
                        if collection in known and collection != OWN:
                            used.setdefault(collection, set()).add(path.relative_to(ROOT).as_posix())
    return used


def requirements(path: Path) -> dict[str, str]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {entry["name"]: entry.get("version", "*") for entry in data.get("collections") or []}


def test_the_scan_sees_what_the_collection_uses():
    # not a test of nothing: the scan finds the uses the roles and plugins are known to have
    used = used_in(RUN_TIME_DIRS, installed_collections())
    assert "roles/notify/tasks/email.yml" in used["community.general"]
    assert "plugins/action/windows_missing_updates.py" in used["ansible.windows"]
    assert "roles/rollback/tasks/aws_ebs.yml" in used["amazon.aws"]
    assert "ansible.utils" not in used  # only `from ansible.utils.unsafe_proxy import ...` (ansible-core)


def test_galaxy_declares_exactly_what_runs_use(galaxy):
    used = used_in(RUN_TIME_DIRS, installed_collections())
    declared = set(galaxy.dependencies)
    unused = sorted(declared - set(used))
    undeclared = {name: sorted(files) for name, files in used.items() if name not in declared}
    assert not unused, f"galaxy.yml declares collections no plugin, role or playbook uses: {unused} (tests only? tests/requirements.yml)"
    assert not undeclared, f"used at run time but not in galaxy.yml dependencies: {undeclared}"


def test_awx_requirements_equal_galaxy_dependencies(galaxy):
    assert requirements(ROOT / "collections" / "requirements.yml") == galaxy.dependencies


def test_tests_declare_the_collections_only_they_use(galaxy):
    used = used_in(TEST_DIRS, installed_collections())
    for_tests = requirements(ROOT / "tests" / "requirements.yml")
    missing = {name: sorted(files)[:3] for name, files in used.items()
               if name not in galaxy.dependencies and name not in for_tests}
    assert not missing, f"collections the tests use, in neither galaxy.yml nor tests/requirements.yml: {missing}"
    assert not set(for_tests) & set(galaxy.dependencies), "tests/requirements.yml repeats a run-time dependency"
