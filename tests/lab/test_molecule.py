"""molecule's default scenario passes: the collection's playbook and a patch on one fresh host per Debian release.

The scenario (molecule/default) makes its own containers, named pp-molecule-*,
from the lab's host images; the session lab is needed only because bringing it
up builds those images and the lab repository they read.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from labkit import ROOT

pytestmark = pytest.mark.lab

SCENARIO = ROOT / "molecule" / "default"
VENV_BIN = Path(sys.executable).parent
TIMEOUT = 1800
TAIL = 6000


def tail(output: str) -> str:
    return output[-TAIL:]


def step_succeeded(output: str, step: str) -> bool:
    """molecule reports each step of the sequence as `SCENARIO ➜ STEP: Executed: Successful`."""
    return re.search(rf"^\s*default \S+ {step}: Executed: Successful\s*$", output, re.MULTILINE) is not None


def ensure_collection_link() -> None:
    """The scenario finds patchpilot.fleet through the checkout's link, as ansible.cfg does."""
    link = ROOT / ".ansible" / "collections" / "ansible_collections" / "patchpilot" / "fleet"
    if not link.exists() and not link.is_symlink():
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(ROOT, link.parent), target_is_directory=True)
    assert link.resolve() == ROOT, f"{link} points to {link.resolve()}, not to this checkout {ROOT}"


def test_molecule_default_scenario(lab):
    platforms = yaml.safe_load((SCENARIO / "molecule.yml").read_text(encoding="utf-8"))["platforms"]
    missing = [p["image"] for p in platforms
               if subprocess.run(["podman", "image", "exists", p["image"]], check=False).returncode != 0]
    assert not missing, (f"host images missing after lab up: {missing} (the session lab builds only the "
                         "releases its hosts run; PATCHPILOT_TEST_HOSTS must be 3 or more)")
    mounts = {volume.split(":")[0] for p in platforms for volume in p["volumes"]}
    assert mounts == {lab.state["repo_dir"]}, \
        f"the scenario mounts {mounts}, but the lab's repository is {lab.state['repo_dir']}"
    ensure_collection_link()

    env = dict(os.environ)
    env["PATH"] = f"{VENV_BIN}:{env.get('PATH', '')}"
    env.pop("MOLECULE_PROJECT_DIRECTORY", None)
    env.update({"NO_COLOR": "1", "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0", "PY_COLORS": "0"})
    argv = [str(VENV_BIN / "molecule"), "test", "-s", "default"]
    try:
        proc = subprocess.run(argv, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, errors="replace", timeout=TIMEOUT,
                              check=False)
    except subprocess.TimeoutExpired as exc:
        output = exc.output or ""
        if isinstance(output, bytes):
            output = output.decode(errors="replace")
        pytest.fail(f"molecule test did not finish in {TIMEOUT} s; last output:\n{tail(output)}")
    out = proc.stdout

    assert proc.returncode == 0, f"molecule test failed ({proc.returncode}):\n{tail(out)}"
    assert step_succeeded(out, "idempotence"), f"the idempotence step did not pass:\n{tail(out)}"
    assert step_succeeded(out, "verify"), f"the verify step did not run:\n{tail(out)}"
    # The verify playbook's assertion passed on every platform, not just ran: the patch
    # converge made is in place, and what pending.yml reports is what apt lists.
    flat = re.sub(r"\s+", " ", out)  # the callback wraps long messages
    for platform in platforms:
        assert re.search(rf"{re.escape(platform['name'])}: pplab-web 1\.0-2 installed and served; pending\.yml"
                         rf" reports the [1-9]\d* updates apt lists, pplab-seclib pending as a security update", flat), \
            f"no passed assertion for {platform['name']} in the verify output:\n{tail(out)}"
    # converge changed something (the patch) the first time, nothing the second
    assert re.search(r"^pp-molecule-debian\d+\s+: ok=\d+\s+changed=[1-9]", out, re.MULTILINE), \
        f"converge changed nothing:\n{tail(out)}"
