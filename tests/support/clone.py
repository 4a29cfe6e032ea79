"""A fresh clone of the committed tree, run as AWX runs a project: no ./dev, no ansible.cfg, another cwd.

``git clone --no-local`` of this checkout, checked out at its HEAD commit (what is
committed is what is tested), and a clean environment for Ansible in it:
``env -i``-like, PATH = the venv's tools and the system's, a HOME of its own, no
ANSIBLE_* variable, and PATCHPILOT_STATE_DIR beside them (the tests run as root, whose
default state directory, /var/lib/patchpilot, is the machine's, not a test's). Nothing but the clone's playbook-adjacent
``playbooks/collections`` makes ``patchpilot.fleet`` resolvable there.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Clone:
    path: Path  # the clone
    home: Path  # HOME of the runs
    cwd: Path  # the directory the runs start in, outside the clone

    @property
    def env(self) -> dict:
        return {"PATH": f"{VENV_BIN}:/usr/bin:/bin", "HOME": str(self.home), "LANG": "C.UTF-8",
                "PATCHPILOT_STATE_DIR": str(self.home.parent / "state")}

    def run(self, *argv: str, env: dict | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
        """A tool of the venv, in the clean environment (plus ``env``), from ``cwd``."""
        return subprocess.run([str(VENV_BIN / argv[0]), *argv[1:]], cwd=self.cwd, env=dict(self.env, **(env or {})),
                              capture_output=True, text=True, timeout=timeout, check=False)

    def playbook(self, name: str, *args: str, env: dict | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
        """``ansible-playbook ARGS <clone>/playbooks/NAME``."""
        return self.run("ansible-playbook", *args, str(self.path / "playbooks" / name), env=env, timeout=timeout)


def make_clone(tmp: Path) -> Clone:
    """Clone the checkout's HEAD commit into ``tmp``/clone; HOME and cwd beside it."""
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True,
                          check=True).stdout.strip()
    path = tmp / "clone"
    for argv in (["git", "clone", "-q", "--no-local", "--no-checkout", str(ROOT), str(path)],
                 ["git", "-C", str(path), "checkout", "-q", "--detach", head]):
        proc = subprocess.run(argv, capture_output=True, text=True, check=False)
        assert proc.returncode == 0, f"{' '.join(argv)}: {proc.stderr}"
    home, cwd = tmp / "home", tmp / "elsewhere"
    home.mkdir()
    cwd.mkdir()
    return Clone(path=path, home=home, cwd=cwd)
