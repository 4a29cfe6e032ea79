"""No role task or vars file, and no task file of the rollout, holds a {% %} block.

Their decisions are module_utils functions reached through filters and modules
(issue #12): a role task file gathers, calls and acts; a template block in it
would be logic no unit test reaches.
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
FILES = sorted([*ROOT.glob("roles/*/tasks/*.yml"), *ROOT.glob("roles/*/vars/*.yml"), *ROOT.glob("roles/*/defaults/*.yml"),
                *ROOT.glob("playbooks/patch*.yml")])


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_jinja_statement_blocks(path):
    lines = [n for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if "{%" in line]
    assert not lines, f"{path.relative_to(ROOT)}: {{% blocks on lines {lines}"


def test_the_package_database_is_read_by_one_module():
    """No role task file of these roles runs dpkg-query or rpm -qa itself."""
    readers = [p for p in FILES if p.parent.name == "tasks" for line in p.read_text(encoding="utf-8").splitlines()
               if "dpkg-query" in line and "argv" in line or "[rpm, -qa" in line]
    assert not readers, readers
