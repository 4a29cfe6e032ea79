"""Helpers for the lab tests: the suite's own lab, ssh and ansible runs against it.

It never touches the lab the README's main command made (prefix ``pplab``): it
uses prefix ``pptest``, its own subnet, ports and state directory. Hosts are
reset (recreated from their image) between tests that change them, not rebuilt.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LAB = ROOT / "lab" / "lab"
VENV_BIN = Path(sys.executable).parent

# PATCHPILOT_TEST_LAB=N (1-9) gives a second checkout its own lab (prefix pptestN,
# ports 2400+100*N, subnet 10.213.(1+N).0/24), so that two suites can run at once.
# Under pytest-xdist (./dev test runs two workers) worker gwN takes lab N: each worker
# has a lab of its own, and a test file runs on one worker.
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
_SLOT = os.environ.get("PATCHPILOT_TEST_LAB") or (
    _WORKER[2:] if _WORKER.startswith("gw") and _WORKER[2:].isdigit() and _WORKER != "gw0" else "")
if _SLOT and not (len(_SLOT) == 1 and _SLOT.isdigit() and _SLOT != "0"):
    raise SystemExit(f"PATCHPILOT_TEST_LAB={_SLOT!r}: expected one digit 1-9")
TEST_PREFIX = "pptest" + _SLOT
TEST_ENV = {
    "LAB_PREFIX": TEST_PREFIX,
    "LAB_SSH_PORT_BASE": str(2400 + 100 * int(_SLOT or 0)),
    "LAB_SUBNET": f"10.213.{1 + int(_SLOT or 0)}.0/24",
    "LAB_HOSTS": os.environ.get("PATCHPILOT_TEST_HOSTS", "3"),
    "LAB_RPM_HOSTS": "1",
}


def lab_env(**extra: str) -> dict:
    env = dict(os.environ)
    env.update(TEST_ENV)
    env.update(extra)
    return env


def run_lab(*args: str, env: dict | None = None, timeout: int = 1800) -> subprocess.CompletedProcess:
    return subprocess.run([str(LAB), *args], env=env or lab_env(), capture_output=True, text=True,
                          timeout=timeout, check=False)


@dataclass
class Lab:
    state: dict
    hosts: list[dict] = field(default_factory=list)

    @property
    def inventory(self) -> str:
        return self.state["inventory"]

    def host(self, name: str) -> dict:
        return next(h for h in self.hosts if h["name"] == name)

    def ssh_argv(self, host: dict, *command: str) -> list[str]:
        return ["ssh", "-F", "/dev/null", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
                "-o", f"UserKnownHostsFile={self.state['known_hosts']}", "-o", "IdentitiesOnly=yes",
                "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR", "-i", self.state["ssh_key"],
                "-p", str(host["ssh_port"]), "patchpilot@127.0.0.1", *command]

    def ssh(self, host: dict, command: str, check: bool = True, timeout: int = 120) -> subprocess.CompletedProcess:
        proc = subprocess.run(self.ssh_argv(host, command), capture_output=True, text=True,
                              timeout=timeout, check=False)
        if check:
            assert proc.returncode == 0, f"{host['name']}: {command!r} failed: {proc.stderr}{proc.stdout}"
        return proc

    def ansible(self, *args: str, check: bool = True, timeout: int = 900) -> subprocess.CompletedProcess:
        return _ansible("ansible", "-i", self.inventory, *args, check=check, timeout=timeout)

    def ansible_tool(self, tool: str, *args: str, check: bool = True, timeout: int = 900) -> subprocess.CompletedProcess:
        return _ansible(tool, "-i", self.inventory, *args, check=check, timeout=timeout)

    def ansible_json(self, *args: str, timeout: int = 900, check: bool = True) -> dict:
        """Run an ad-hoc module and return {host: result} from the JSON callback."""
        proc = _ansible("ansible", "-i", self.inventory, *args, check=check, timeout=timeout,
                        extra_env={"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
                                   "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1"})
        data = json.loads(proc.stdout)
        return {host: result for play in data["plays"] for task in play["tasks"]
                for host, result in task["hosts"].items()}

    def playbook(self, *args: str, check: bool = True, timeout: int = 1800) -> subprocess.CompletedProcess:
        return _ansible("ansible-playbook", "-i", self.inventory, *args, check=check, timeout=timeout)

    def reset(self, *names: str) -> None:
        proc = run_lab("reset", *names)
        assert proc.returncode == 0, proc.stderr


def ansible_env(extra_env: dict | None = None) -> dict:
    """The environment the suite runs Ansible in: the venv's tools, the checkout's ansible.cfg."""
    env = dict(os.environ)
    env["PATH"] = f"{VENV_BIN}:{env.get('PATH', '')}"
    env["ANSIBLE_CONFIG"] = str(ROOT / "ansible.cfg")
    env["ANSIBLE_FORCE_COLOR"] = "0"
    env["ANSIBLE_NOCOLOR"] = "1"
    env.update(extra_env or {})
    return env


def _ansible(tool: str, *args: str, check: bool, timeout: int,
             extra_env: dict | None = None) -> subprocess.CompletedProcess:
    env = ansible_env(extra_env)
    proc = subprocess.run([str(VENV_BIN / tool), *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout, check=False)
    if check:
        assert proc.returncode == 0, f"{tool} {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout[-6000:]}\n{proc.stderr[-3000:]}"
    return proc


def run_molecule(scenario_root: Path, scenario: str = "default", timeout: int = 1800) -> tuple[int, str]:
    """``molecule test -s SCENARIO`` in ``scenario_root`` with the venv's tools; (exit code, output)."""
    link = ROOT / ".ansible" / "collections" / "ansible_collections" / "patchpilot" / "fleet"
    if not link.exists() and not link.is_symlink():
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(ROOT, link.parent), target_is_directory=True)
    env = dict(os.environ)
    env["PATH"] = f"{VENV_BIN}:{env.get('PATH', '')}"
    env.pop("MOLECULE_PROJECT_DIRECTORY", None)
    env.update({"NO_COLOR": "1", "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0", "PY_COLORS": "0"})
    proc = subprocess.run([str(VENV_BIN / "molecule"), "test", "-s", scenario], cwd=scenario_root, env=env,
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, errors="replace", timeout=timeout, check=False)
    return proc.returncode, proc.stdout
