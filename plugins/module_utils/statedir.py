# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where the controller keeps its state and its reports, and the upgrade from 0.1's ``reports/``.

Plain Python, no Ansible runtime; the ``state_dirs`` action (plugins/action/state_dirs.py)
asks it once per playbook. Nothing here depends on the current directory but the
upgrade, which looks for 0.1's ``reports/`` where 0.1 wrote it.

The state directory (run locks, run records, plans), first found of:

1. the variable ``patchpilot_state_dir``;
2. the environment variable ``PATCHPILOT_STATE_DIR``;
3. ``/var/lib/patchpilot`` when the controller runs as root (effective uid 0);
4. ``$XDG_STATE_HOME/patchpilot`` (an XDG_STATE_HOME that is not absolute is ignored,
   as the XDG Base Directory specification says);
5. ``<home>/.local/state/patchpilot``, home from ``HOME`` or, when it is unset (``env -i``,
   systemd), from the password database.

The report directory (what people read): the variable ``patchpilot_report_dir``, the
environment variable ``PATCHPILOT_REPORT_DIR``, or ``<state dir>/reports``.

Layout: run directories in ``<state>/runs`` (their locks in ``<state>/runs/locks``, as
runrecord.py keeps them), plans in ``<state>/plans``, scan reports in ``<report dir>/scan``.
``patchpilot_run_base`` and ``patchpilot_plan_dir`` still move the runs and the plans
elsewhere. A relative path is refused: the same run from a shell, a timer or AWX must find
the same state. The state and report directories are made with mode 0700 (and their
missing parents too); one that group or others may write to, or that another user than
this one or root owns, is refused.

Upgrade from 0.1: 0.1 kept everything in ``$PWD/reports`` (``/reports`` when PWD was unset):
``runs/`` (with ``runs/locks/``), ``plans/`` and ``scan/``. :func:`migrate` moves them once
into the new places and writes the marker :data:`MARKER` into the state directory, so it
never looks again. A name that exists on both sides is never overwritten: the upgrade is
refused, naming the clashes, before anything moves.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import stat
from datetime import datetime, timezone

__all__ = ["DIR_MODE", "LEGACY_ITEMS", "MARKER", "ROOT_STATE_DIR", "StateDirError", "ensure_private",
           "legacy_dir", "migrate", "migration_moves", "resolve"]

DIR_MODE = 0o700
ROOT_STATE_DIR = "/var/lib/patchpilot"
#: The marker of a finished upgrade from 0.1, in the state directory.
MARKER = ".migrated-0.1.json"
#: What 0.1 kept in its reports/ folder, and which new directory each goes to (a key of resolve()).
#: (0.1 kept its run locks in runs/locks/: they move with the runs, into <run_base>/locks.)
LEGACY_ITEMS = (("runs", "run_base"), ("plans", "plan_dir"), ("scan", "scan_dir"))


class StateDirError(Exception):
    """A state or report directory that cannot be used, or an upgrade that is refused."""


def _absolute(value, what: str, home: str) -> str:
    text = str(value)
    if text == "~" or text.startswith("~/"):
        text = home + text[1:]
    if not os.path.isabs(text):
        raise StateDirError(f"{what} is {value!r}, a relative path: give an absolute path (a relative one"
                            " would depend on the folder the command runs in)")
    return os.path.normpath(text)


def _home(env: dict, euid: int) -> str:
    home = env.get("HOME") or ""
    if os.path.isabs(home):
        return home
    try:
        return pwd.getpwuid(euid).pw_dir
    except KeyError:
        raise StateDirError(f"HOME is not set and user id {euid} is not in the password database: set"
                            " patchpilot_state_dir (or PATCHPILOT_STATE_DIR)") from None


def resolve(variables: dict | None = None, env: dict | None = None, euid: int | None = None) -> dict:
    """The directories, as absolute paths, without touching the disk.

    ``variables`` holds the playbook's settings (``state_dir``, ``report_dir``,
    ``run_base``, ``plan_dir``; empty or None when unset), ``env`` the environment.
    Returns ``state_dir, report_dir, run_base, locks_dir, plan_dir, scan_dir`` and
    ``source`` (where the state directory came from).
    """
    variables = {key: value for key, value in (variables or {}).items() if value not in (None, "")}
    env = os.environ if env is None else env
    euid = os.geteuid() if euid is None else euid
    home = None

    def home_dir() -> str:
        nonlocal home
        home = home or _home(env, euid)
        return home

    def absolute(value, what):
        return _absolute(value, what, home_dir() if str(value).startswith("~") else "")

    if "state_dir" in variables:
        state, source = absolute(variables["state_dir"], "patchpilot_state_dir"), "patchpilot_state_dir"
    elif env.get("PATCHPILOT_STATE_DIR"):
        state, source = absolute(env["PATCHPILOT_STATE_DIR"], "PATCHPILOT_STATE_DIR"), "PATCHPILOT_STATE_DIR"
    elif euid == 0:
        state, source = ROOT_STATE_DIR, "root"
    elif os.path.isabs(env.get("XDG_STATE_HOME") or ""):
        state, source = os.path.join(os.path.normpath(env["XDG_STATE_HOME"]), "patchpilot"), "XDG_STATE_HOME"
    else:
        state, source = os.path.join(home_dir(), ".local", "state", "patchpilot"), "home"
    if "report_dir" in variables:
        report = absolute(variables["report_dir"], "patchpilot_report_dir")
    elif env.get("PATCHPILOT_REPORT_DIR"):
        report = absolute(env["PATCHPILOT_REPORT_DIR"], "PATCHPILOT_REPORT_DIR")
    else:
        report = os.path.join(state, "reports")
    run_base = (absolute(variables["run_base"], "patchpilot_run_base") if "run_base" in variables
                else os.path.join(state, "runs"))
    plan_dir = (absolute(variables["plan_dir"], "patchpilot_plan_dir") if "plan_dir" in variables
                else os.path.join(state, "plans"))
    return {"state_dir": state, "report_dir": report, "run_base": run_base,
            "locks_dir": os.path.join(run_base, "locks"), "plan_dir": plan_dir,
            "scan_dir": os.path.join(report, "scan"), "source": source}


def _make_private(folder: str) -> None:
    """Make ``folder`` and its missing parents, each mode 0700 whatever the umask."""
    missing = []
    current = folder
    while not os.path.lexists(current):
        missing.append(current)
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    for path in reversed(missing):
        try:
            os.mkdir(path, DIR_MODE)
        except FileExistsError:
            continue  # made meanwhile by another process: checked below like any folder found
        os.chmod(path, DIR_MODE)


def ensure_private(folder: str, what: str, euid: int | None = None) -> bool:
    """Make ``folder`` (0700) when missing; refuse one others may write to or another user owns.

    True when it was made. The message of a refusal names the folder and the fix.
    """
    euid = os.geteuid() if euid is None else euid
    made = not os.path.lexists(folder)
    if made:
        try:
            _make_private(folder)
        except OSError as exc:
            raise StateDirError(f"{folder}: cannot make the {what}: {exc.strerror or exc}; make it (mode 0700)"
                                f" or choose another {what}") from None
    try:
        info = os.stat(folder)
    except OSError as exc:
        raise StateDirError(f"{folder}: cannot read the {what}: {exc.strerror or exc}") from None
    if not stat.S_ISDIR(info.st_mode):
        raise StateDirError(f"{folder}: the {what} is not a folder: remove it or choose another {what}")
    if info.st_uid not in (euid, 0):
        raise StateDirError(f"{folder}: the {what} belongs to user id {info.st_uid}, not to this user ({euid})"
                            f" or root; refused: chown it to this user, or choose another {what}")
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise StateDirError(f"{folder}: the {what} may be written by group or others (mode"
                            f" {stat.S_IMODE(info.st_mode):04o}); refused: check what is in it, then chmod 700 it")
    return made


def legacy_dir(variables: dict | None = None, env: dict | None = None) -> str:
    """Where 0.1 wrote its reports/: ``patchpilot_legacy_dir`` (``legacy_dir``), else ``$PWD/reports``
    (``/reports`` when PWD is unset, as 0.1 did)."""
    variables = variables or {}
    env = os.environ if env is None else env
    if variables.get("legacy_dir"):
        return _absolute(variables["legacy_dir"], "patchpilot_legacy_dir", env.get("HOME") or "")
    pwd_dir = env.get("PWD") or ""
    return os.path.join(pwd_dir if os.path.isabs(pwd_dir) else "/", "reports")


def _same(one: str, other: str) -> bool:
    return os.path.realpath(one) == os.path.realpath(other)


def migration_moves(dirs: dict, legacy: str) -> list:
    """What the upgrade would move: ``[{"item", "from", "to", "names"}]``.

    ``names`` are the entries to move one by one into an existing ``to`` (None: ``from``
    moves whole). Raises StateDirError naming every clash (a name on both sides) or an
    item that is not a folder; nothing is moved then.
    """
    if os.path.exists(os.path.join(dirs["state_dir"], MARKER)) or not os.path.isdir(legacy):
        return []
    moves, clashes = [], []
    for item, key in LEGACY_ITEMS:
        source, target = os.path.join(legacy, item), dirs[key]
        if not os.path.lexists(source) or _same(source, target):
            continue
        if os.path.islink(source) or not os.path.isdir(source):
            raise StateDirError(f"{source}: found in patchpilot 0.1's {legacy}, but not a folder: move it away"
                                " by hand, then run again")
        if not os.path.lexists(target):
            moves.append({"item": item, "from": source, "to": target, "names": None})
            continue
        names = sorted(os.listdir(source))
        if item == "runs":
            names = [name for name in names if name != "locks"]  # the locks move on their own, below
        clashes += [os.path.join(target, name) for name in names if os.path.lexists(os.path.join(target, name))]
        moves.append({"item": item, "from": source, "to": target, "names": names})
    runs_locks = os.path.join(legacy, "runs", "locks")
    if os.path.isdir(runs_locks) and not os.path.islink(runs_locks) and not _same(runs_locks, dirs["locks_dir"]):
        target = dirs["locks_dir"]
        if any(move["item"] == "runs" and move["names"] is None for move in moves):
            pass  # moves with its runs folder
        elif not os.path.lexists(target):
            moves.append({"item": "runs/locks", "from": runs_locks, "to": target, "names": None})
        else:
            names = sorted(os.listdir(runs_locks))
            clashes += [os.path.join(target, name) for name in names if os.path.lexists(os.path.join(target, name))]
            moves.append({"item": "runs/locks", "from": runs_locks, "to": target, "names": names})
    if clashes:
        raise StateDirError(f"upgrade from patchpilot 0.1 refused: {legacy} and the new directories both hold "
                            f"{', '.join(clashes)}; nothing was moved and nothing is overwritten: move or remove one"
                            f" side by hand (or set patchpilot_legacy_dir to a folder that is not 0.1's), then"
                            " run again")
    return moves


def _move(source: str, target: str) -> None:
    """Rename, or copy then remove across file systems (shutil.move: the copy is whole before the source goes)."""
    parent = os.path.dirname(target)
    if not os.path.isdir(parent):
        _make_private(parent)
    shutil.move(source, target)


def migrate(dirs: dict, legacy: str, check: bool = False, at: datetime | None = None) -> list:
    """Move 0.1's ``runs``, ``locks``, ``plans`` and ``scan`` from ``legacy`` once.

    Returns the moves done (``[{"item", "from", "to"}]``; in ``check`` mode the moves that
    would be done, none done). Writes :data:`MARKER` in the state directory when something
    moved. StateDirError (nothing moved) on a clash; one naming what did move and what not
    when a move fails half-way (nothing is ever deleted: what stays is still in ``legacy``).
    """
    moves = migration_moves(dirs, legacy)
    done = [{"item": move["item"], "from": move["from"], "to": move["to"]} for move in moves]
    if check or not moves:
        return done
    finished = []
    try:
        for move in moves:
            if move["names"] is None:
                _move(move["from"], move["to"])
            else:
                for name in move["names"]:
                    _move(os.path.join(move["from"], name), os.path.join(move["to"], name))
            finished.append(move)
    except OSError as exc:
        moved = ", ".join(f"{move['from']} -> {move['to']}" for move in finished) or "nothing"
        raise StateDirError(f"upgrade from patchpilot 0.1 stopped: {exc}; moved: {moved}; the rest is still in"
                            f" {legacy}: fix the cause and run again") from None
    stamp = (at or datetime.now(timezone.utc)).astimezone(timezone.utc).isoformat()
    marker = os.path.join(dirs["state_dir"], MARKER)
    with open(marker + ".tmp", "w", encoding="utf-8") as handle:
        json.dump({"format": 1, "from": legacy, "at": stamp, "moved": done}, handle, indent=2)
    os.replace(marker + ".tmp", marker)
    return done
