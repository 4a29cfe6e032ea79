"""Run one of the collection's controller-only playbooks (report, purge_history) on localhost, as a user would.

The environment is the test's own minus every ANSIBLE_* setting, plus the checkout's ansible.cfg and the venv
on PATH; the inventory is localhost with this Python. The output's folded lines are joined into one.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ANSIBLE_PLAYBOOK = str(Path(sys.executable).parent / "ansible-playbook")


def controller_playbook(tmp_path: Path, playbook: str, *argv: str,
                        env: dict | None = None) -> subprocess.CompletedProcess:
    """``ansible-playbook -i <localhost> playbook argv...`` from the checkout; its output on one line."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    environ.update(ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0", ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
                   PATH=f"{Path(sys.executable).parent}:{environ.get('PATH', '')}", **(env or {}))
    inventory = tmp_path / "inventory.ini"
    inventory.write_text(f"localhost ansible_connection=local ansible_python_interpreter={sys.executable}\n",
                         encoding="utf-8")
    proc = subprocess.run([ANSIBLE_PLAYBOOK, "-i", str(inventory), playbook, *argv], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, check=False, env=environ)
    proc.stdout = " ".join(proc.stdout.split())  # the YAML output folds long lines
    return proc
