"""Nothing depends on the current directory: no playbook, role or plugin reads PWD.

The controller's state and reports live where plugins/module_utils/statedir.py says
(the state_dirs action); only its upgrade from 0.1 looks where 0.1 wrote, $PWD/reports.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
#: lookup('env', 'PWD'), lookup('ansible.builtin.env', "PWD"), ansible_env.PWD, ansible_env['PWD'],
#: os.environ['PWD'], os.environ.get("PWD"), os.getenv('PWD'), os.getcwd()
PWD_USE = re.compile(r"""lookup\(\s*['"](?:ansible\.builtin\.)?env['"]\s*,\s*['"]PWD['"]"""
                     r"""|ansible_env(?:\.PWD|\[\s*['"]PWD['"]\s*\])"""
                     r"""|environ(?:\.get\(|\[)\s*['"]PWD['"]|getenv\(\s*['"]PWD['"]|os\.getcwd\(""")
#: The one reader: the upgrade from 0.1 (legacy_dir), which gets the environment as an argument.
ALLOWED = {"plugins/module_utils/statedir.py"}


def pwd_uses(text: str) -> list:
    return [match.group(0) for match in PWD_USE.finditer(text)]


@pytest.mark.parametrize("text, found", [
    ("{{ patchpilot_run_base | default(lookup('ansible.builtin.env', 'PWD') ~ '/reports/runs') }}", 1),
    ('{{ lookup("env", "PWD") }}', 1),
    ("{{ ansible_env.PWD }}/x {{ ansible_env['PWD'] }}", 2),
    ("os.environ['PWD'] os.environ.get('PWD') os.getenv(\"PWD\") os.getcwd()", 4),
    ("{{ __state_dirs.run_base }} lookup('ansible.builtin.env', 'HOME')", 0),
])
def test_the_check_finds_every_way_to_read_pwd(text, found):
    assert len(pwd_uses(text)) == found


def test_no_playbook_role_or_plugin_reads_pwd():
    offenders = []
    for folder in ("playbooks", "roles", "plugins"):
        for path in sorted((REPO_ROOT / folder).rglob("*")):
            relative = path.relative_to(REPO_ROOT).as_posix()
            if not path.is_file() or path.suffix not in (".yml", ".yaml", ".py", ".j2") or relative in ALLOWED:
                continue
            offenders += [f"{relative}: {use}" for use in pwd_uses(path.read_text(encoding="utf-8"))]
    assert offenders == [], "read the state_dirs action's results instead:\n" + "\n".join(offenders)
