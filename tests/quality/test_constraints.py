"""constraints.txt pins the whole dependency closure of requirements.txt, at the versions tested.

./dev installs ``-r requirements.txt -c constraints.txt``; ``./dev lock`` rewrites
constraints.txt. A package reached from requirements.txt but left unpinned would
let a fresh clone install a newer release than the suite ran with.
"""

from __future__ import annotations

import importlib.metadata
import re
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO_ROOT = Path(__file__).resolve().parents[2]


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==(\S+)", line)
        assert match, f"{path.name}:{number}: not an exact pin: {line!r}"
        pins[canonicalize_name(match.group(1))] = match.group(3)
    return pins


def _closure(roots: list[Requirement]) -> dict[str, str]:
    """Every installed distribution reached from ``roots`` (extras and markers followed): name -> version."""
    found: dict[str, str] = {}
    seen: set[tuple[str, tuple[str, ...]]] = set()
    todo = [(root, tuple(sorted(root.extras))) for root in roots]
    while todo:
        req, extras = todo.pop()
        name = canonicalize_name(req.name)
        if (name, extras) in seen:
            continue
        seen.add((name, extras))
        dist = importlib.metadata.distribution(name)
        found[name] = dist.version
        for text in dist.requires or []:
            dep = Requirement(text)
            if dep.marker is None or any(dep.marker.evaluate({"extra": extra}) for extra in (extras or ("",))):
                todo.append((dep, tuple(sorted(dep.extras))))
    return found


def test_constraints_pin_the_whole_closure_at_the_tested_versions():
    constraints = _pins(REPO_ROOT / "constraints.txt")
    requirements = _pins(REPO_ROOT / "requirements.txt")
    for name, version in requirements.items():
        assert constraints.get(name) == version, f"requirements.txt pins {name}=={version}, constraints.txt " \
                                                 f"{constraints.get(name)}: run ./dev lock"
    roots = [Requirement(line.split("#", 1)[0].strip())
             for line in (REPO_ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
             if line.split("#", 1)[0].strip()]
    installed = _closure(roots)
    unpinned = sorted(set(installed) - set(constraints))
    assert not unpinned, f"installed through requirements.txt but not in constraints.txt: {unpinned}; run ./dev lock"
    differ = {name: (version, constraints[name]) for name, version in installed.items() if constraints[name] != version}
    assert not differ, f"installed (tested) version vs constraints.txt: {differ}; run ./dev setup or ./dev lock"


def test_dev_installs_with_the_constraints():
    dev = (REPO_ROOT / "dev").read_text(encoding="utf-8")
    install = [line for line in dev.replace("\\\n", " ").splitlines() if "pip install" in line and "requirements.txt" in line]
    assert install and all('-c "$ROOT/constraints.txt"' in line for line in install if "$VENV" in line), install
    assert 'cat "$ROOT/requirements.txt" "$ROOT/constraints.txt" | sha256sum' in dev
