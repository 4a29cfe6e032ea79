# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The run record (a run directory on the controller) and the run lock.

Plain Python, no Ansible runtime. A run directory::

    <base>/<run_id>/            mode 0750
        run.json                {"format": 1, "run_id", "state", "started", "finished",
                                 "change_ticket", "policy_digest", "scope", "scope_key", "hosts",
                                 "events": [{"event", "at", "detail"}] (when any: a lock broken)}
        plan.json               the plan (planner.py, format 2; format 1 still read), as made
        hosts/<host>.json       {"format": 1, "host", "phase", "history": [{"phase", "at", "detail"}]}
        archive/<host>/         what the roles keep of a host; final.json, its state at the end
        summary.json            the run's end, per host
        .lock                   the writers' lock (fcntl)

Every path in it that a host name or a run id names is built by one checked
function, :func:`path_under`: a name is one plain file name (no ``/``, ``..``,
leading dot, white space, NUL or other control character) and the real path
must stay inside the run directory. An existing run directory (or its
``hosts`` folder) that group or others may write to is refused.

Every file is written atomically (a temporary file ``.tmp-*.json`` in the same
folder, fsync, ``os.replace``, fsync of the folder): a reader sees the old or
the new content, never half of it, even after a crash. Every change of the
run directory (a read-modify-write of a host record or of run.json) holds the
run's ``.lock`` (an exclusive ``flock``), so that writers in several processes
never lose each other's history entries; readers need no lock. A writer killed
mid-write leaves its temporary file behind: opening the run directory again
removes every temporary file that no live writer holds (a writer keeps a
``flock`` on its temporary file until it is in place). Times are ISO 8601 in UTC.

A host's phases, in order: :data:`PHASES`. A host in ``done``,
``rolled_back`` or ``abandoned`` (its run was closed before it was done, see
:meth:`RunDir.close`) is finished and its record no longer changes (but for a
rollback after the run ended, :meth:`RunDir.record_later`); a ``failed``
host may only move on to ``rolled_back`` (or be recorded ``failed`` again,
with what a rollback tried); a host in any other phase may be recorded in
any phase, so that a rerun after an interruption can repeat the phases of the hosts it did not finish. :meth:`RunDir.pending_hosts` lists
the hosts a rerun still has to do: all but ``done``, ``failed``,
``rolled_back`` and ``abandoned``, in wave order.

The run lock, one per inventory scope, stops two runs (cron, AWX, a person)
from patching the same hosts at once: ``<base>/locks/<scope key>.lock``
holds its owner ``{"format", "pid", "pid_start", "host", "started", "run_id",
"scope", "token", "user", "job_id"}`` (``user`` and ``job_id``, who started the run
and its AWX job, are missing from the locks of older versions, which are still read). It is made with an exclusive create that either makes
the file, complete, or finds it there: the owner's record is written to a
temporary file first and hard-linked to the lock's name (``link`` fails when
the name exists, as ``open(O_CREAT | O_EXCL)`` does), so that a lock file is
never seen empty or half-written, not even after its owner died while
writing it. A lock whose owner is alive raises :class:`LockHeld`; one whose
owner process is gone from this machine raises :class:`StaleLock`, and is
left in place: only :meth:`RunLock.break_stale`, called on purpose, removes
it, and only while its owner is still dead. A lock taken on another machine
is always held (its process cannot be checked from here): only a person breaks it
(``playbooks/break_lock.yml``, :mod:`lockbreak` decides), with
:meth:`RunLock.remove_if_owner`; :func:`append_private_jsonl` keeps the record of it
and :meth:`RunDir.add_event` notes it in the run's history.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import json
import os
import secrets
import socket
import stat
import tempfile
import time
from datetime import datetime, timezone

from ansible_collections.patchpilot.fleet.plugins.module_utils.formats import newer_format

__all__ = [
    "ABANDONED", "FINISHED_PHASES", "FORMAT", "PHASES", "RUN_STATES", "LockError", "LockHeld", "RunDir", "RunLock",
    "RunRecordError", "StaleLock", "append_private_jsonl", "inventory_scope", "latest_unfinished", "list_locks",
    "path_under", "read_json", "scope_key", "write_json",
]

#: The shape of run.json, the host files and the lock file; a reader refuses any other (a newer
#: one as written by a newer patchpilot: formats.newer_format).
FORMAT = 1
#: The plan formats a run directory may hold (planner.py): a run starts from the newest
#: only; an older run's plan (format 1) is still read, to report or close that run.
PLAN_FORMAT = 2
PLAN_FORMATS = (1, 2)
PHASES = ("pending", "preflight", "staged", "snapshotted", "patched", "verified", "done", "failed", "rolled_back")
#: A host whose run was closed (:meth:`RunDir.close`) before it was done; only closing sets it.
ABANDONED = "abandoned"
FINISHED_PHASES = ("done", "failed", "rolled_back", ABANDONED)
RUN_STATES = ("running", "completed", "failed", "aborted")
LOCKS_DIR = "locks"
LOCK_SUFFIX = ".lock"
DIR_MODE = 0o750
FILE_MODE = 0o640
TEMP_PREFIX, TEMP_SUFFIX = ".tmp-", ".json"
WRITERS_LOCK = ".lock"
#: How long a writer waits for another writer of the same run directory.
LOCK_WAIT = 120.0


class RunRecordError(Exception):
    """A run directory that cannot be made, read or changed as asked."""


class LockError(Exception):
    """The run lock could not be taken; ``owner`` is the lock file's record."""

    def __init__(self, message: str, owner: dict | None = None, path: str | None = None):
        super().__init__(message)
        self.owner = owner or {}
        self.path = path


class LockHeld(LockError):
    """Another run, alive (or on another machine), holds the lock."""


class StaleLock(LockError):
    """The lock's owner process is gone from this machine; the lock is left in place."""


# ---------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------

def _stamp(at: datetime | None = None) -> str:
    moment = at or datetime.now(timezone.utc)
    if moment.tzinfo is None:
        raise RunRecordError(f"time {moment!r} has no time zone")
    return moment.astimezone(timezone.utc).isoformat()


def _fsync_dir(folder: str) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def _temp_json(folder: str, data):
    """``data`` as JSON in a new temporary file of ``folder``, on disk; yields its path.

    The file stays ``flock``-ed while the ``with`` block runs (a sweep leaves it
    alone), and is removed when writing it or the block fails.
    """
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=TEMP_PREFIX, suffix=TEMP_SUFFIX)
    handle = os.fdopen(fd, "w", encoding="utf-8")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        json.dump(data, handle, indent=2, sort_keys=True)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())
        os.fchmod(handle.fileno(), FILE_MODE)
        yield tmp
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    finally:
        handle.close()


def write_json(path: str, data) -> None:
    """Replace ``path`` with ``data`` as JSON, atomically and durably."""
    folder = os.path.dirname(os.path.abspath(path))
    with _temp_json(folder, data) as tmp:
        os.replace(tmp, path)
    _fsync_dir(folder)


def _sweep_temp(folder: str) -> list:
    """Remove the temporary files of ``folder`` that no live writer holds; their names."""
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return []
    removed = []
    for name in sorted(names):
        if not (name.startswith(TEMP_PREFIX) and name.endswith(TEMP_SUFFIX)):
            continue
        path = os.path.join(folder, name)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except FileNotFoundError:
            continue  # put in place meanwhile
        except OSError:
            continue  # a symbolic link or unreadable: not ours to judge
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # a live writer holds it
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
                removed.append(name)
        finally:
            os.close(fd)
    if removed:
        _fsync_dir(folder)
    return removed


def read_json(path: str, kind: str = "file"):
    """The JSON in ``path``; RunRecordError naming the file when it is missing or unreadable."""
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        raise RunRecordError(f"{path}: no {kind}") from None
    except (OSError, ValueError) as exc:
        raise RunRecordError(f"{path}: unreadable {kind}: {exc}") from exc


def append_private_jsonl(path: str, record: dict) -> None:
    """Append ``record`` as one JSON line to ``path`` (made 0600 when missing), durably.

    The file is only ever appended to; a symbolic link, or a file that group or
    others may read or write, is refused.
    """
    line = json.dumps(record, sort_keys=True) + "\n"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise RunRecordError(f"{path}: cannot open for appending: {exc}") from exc
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise RunRecordError(f"{path}: not a regular file")
        if info.st_mode & 0o077:
            raise RunRecordError(f"{path}: group or others may read or write it"
                                 f" (mode {stat.S_IMODE(info.st_mode):04o}); refused: chmod 600 it")
        os.write(fd, line.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    _fsync_dir(os.path.dirname(os.path.abspath(path)))


def _checked(data, path: str, kind: str) -> dict:
    newer = newer_format(data, FORMAT, kind)
    if newer:
        raise RunRecordError(f"{path}: {newer}")
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        found = data.get("format") if isinstance(data, dict) else type(data).__name__
        raise RunRecordError(f"{path}: {kind} format {found!r} is not {FORMAT}")
    return data


# ---------------------------------------------------------------------------
# Scope
# ---------------------------------------------------------------------------

def inventory_scope(inventory: str, limit: str | None = None) -> str:
    """The scope of a run over an inventory (its absolute path) and a limit."""
    return f"inventory:{os.path.abspath(inventory)}|limit:{limit or 'all'}"


def scope_key(scope) -> tuple:
    """(key, text) of a scope: a list of hosts (order and repeats do not matter) or a
    string such as :func:`inventory_scope` gives. The key is the first 16 hex digits
    of the text's sha256, safe as a file name."""
    if isinstance(scope, str):
        text = scope.strip()
    elif isinstance(scope, (list, tuple, set, frozenset)):
        text = "hosts:" + ",".join(sorted({str(h) for h in scope}))
    else:
        raise RunRecordError(f"scope: expected a list of hosts or a string, got {scope!r}")
    if text in ("", "hosts:"):
        raise RunRecordError("scope: empty")
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16], text


# ---------------------------------------------------------------------------
# The run directory
# ---------------------------------------------------------------------------

def _check_name(name, kind: str, what: str) -> str:
    """``name`` when it can name one file or folder: RunRecordError otherwise."""
    if not isinstance(name, str) or not name or name.startswith(".") \
            or any(c in "/\\" or c.isspace() or not c.isprintable() for c in name):
        raise RunRecordError(f"{kind}: {name!r} cannot name {what}")
    return name


def _check_run_id(run_id) -> str:
    if run_id == LOCKS_DIR:
        raise RunRecordError(f"run_id: {run_id!r} cannot name a run directory")
    return _check_name(run_id, "run_id", "a run directory")


def _check_host(host) -> str:
    return _check_name(host, "host", "a host file")


def path_under(root: str, *names: str) -> str:
    """``root/names...``: the one way a path is built from a host name or a run id.

    Each name must be one plain file name (see :func:`_check_name`), and the real
    path (symbolic links resolved) must lie inside the real ``root``: anything
    else raises RunRecordError.
    """
    if not names:
        raise RunRecordError(f"{root}: no name to build a path under it")
    for name in names:
        _check_name(name, "name", f"a file or folder under {root}")
    path = os.path.join(os.path.abspath(root), *names)
    real_root, real = os.path.realpath(root), os.path.realpath(path)
    if real == real_root or os.path.commonpath([real_root, real]) != real_root:
        raise RunRecordError(f"{path}: leads outside {root} (to {real})")
    return path


def _private_dir(folder: str, what: str) -> None:
    """Make ``folder`` (mode 0750) when missing; refuse one that group or others may write to."""
    try:
        info = os.lstat(folder)
    except FileNotFoundError:
        try:
            os.makedirs(folder, mode=DIR_MODE)
            os.chmod(folder, DIR_MODE)  # whatever the umask
        except OSError as exc:
            raise RunRecordError(f"{folder}: cannot make the {what}: {exc}") from exc
        return
    if not stat.S_ISDIR(info.st_mode):
        raise RunRecordError(f"{folder}: the {what} is not a folder")
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise RunRecordError(f"{folder}: the {what} may be written by group or others"
                             f" (mode {stat.S_IMODE(info.st_mode):04o}); refused: check its files, then"
                             f" chmod {DIR_MODE:o} it")


def _writer(method):
    """A RunDir method that changes the run directory: it runs holding the writers' lock."""
    @functools.wraps(method)
    def locked_method(self, *args, **kwargs):
        with self.locked():
            return method(self, *args, **kwargs)
    return locked_method


class RunDir:
    """One run's directory: ``<base_dir>/<run_id>/``, made (mode 0750) when missing."""

    def __init__(self, base_dir: str, run_id: str):
        self.base_dir = os.path.abspath(base_dir)
        self.run_id = _check_run_id(run_id)
        if not os.path.isdir(self.base_dir):
            try:
                os.makedirs(self.base_dir, mode=DIR_MODE)
                os.chmod(self.base_dir, DIR_MODE)  # whatever the umask
            except OSError as exc:
                raise RunRecordError(f"{self.base_dir}: cannot make the run directory: {exc}") from exc
        self.path = path_under(self.base_dir, self.run_id)
        _private_dir(self.path, "run directory")
        self.hosts_dir = path_under(self.path, "hosts")
        _private_dir(self.hosts_dir, "run directory's hosts folder")
        self.plan_path = path_under(self.path, "plan.json")
        self.run_path = path_under(self.path, "run.json")
        self.lock_path = os.path.join(self.path, WRITERS_LOCK)  # a fixed name: no host or run id in it
        self._lock_depth = 0
        with self.locked():
            self.swept = self._sweep()

    # -- the writers' lock --------------------------------------------------

    @contextlib.contextmanager
    def locked(self):
        """Hold the run directory's writers' lock (re-entrant within this object)."""
        if self._lock_depth:
            self._lock_depth += 1
            try:
                yield self
            finally:
                self._lock_depth -= 1
            return
        try:
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, FILE_MODE)
        except OSError as exc:
            raise RunRecordError(f"{self.lock_path}: cannot open the writers' lock: {exc}") from exc
        try:
            deadline = time.monotonic() + LOCK_WAIT
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise RunRecordError(f"{self.lock_path}: another writer of run {self.run_id} has held"
                                             f" the lock for over {LOCK_WAIT:.0f} s") from None
                    time.sleep(0.005)
            self._lock_depth = 1
            try:
                yield self
            finally:
                self._lock_depth = 0
        finally:
            os.close(fd)  # releases the lock

    def _sweep(self) -> list:
        """Remove the temporary files killed writers left; their paths, relative to the run directory."""
        folders = [self.path, self.hosts_dir]
        archive = os.path.join(self.path, "archive")
        if os.path.isdir(archive) and not os.path.islink(archive):
            folders.append(archive)
            folders += [os.path.join(archive, name) for name in sorted(os.listdir(archive))
                        if os.path.isdir(os.path.join(archive, name))
                        and not os.path.islink(os.path.join(archive, name))]
        return [os.path.relpath(os.path.join(folder, name), self.path)
                for folder in folders for name in _sweep_temp(folder)]

    # -- making and loading -------------------------------------------------

    @_writer
    def start(self, plan: dict, scope, at: datetime | None = None) -> dict:
        """Write plan.json, run.json (state running) and a pending record per host in a wave.

        Refuses a run directory that was started already (resume with :meth:`load`).
        """
        if os.path.exists(self.run_path):
            raise RunRecordError(f"{self.path}: run {self.run_id} was started already; load it to resume")
        newer = newer_format(plan, PLAN_FORMAT, "plan")
        if newer:
            raise RunRecordError(f"plan: {newer}")
        if not isinstance(plan, dict) or plan.get("format") != PLAN_FORMAT:
            found = plan.get("format") if isinstance(plan, dict) else type(plan).__name__
            raise RunRecordError(f"plan: format {found!r} is not {PLAN_FORMAT}: make the plan again"
                                 " (playbooks/plan.yml) with this version of patchpilot")
        if plan.get("run_id") not in (None, self.run_id):
            raise RunRecordError(f"plan: made for run {plan.get('run_id')}, not {self.run_id}")
        key, text = scope_key(scope)
        started = _stamp(at)
        write_json(self.plan_path, plan)
        for host in self._plan_hosts(plan):
            write_json(self._host_path(host), {"format": FORMAT, "host": host, "phase": "pending",
                                               "history": [{"phase": "pending", "at": started, "detail": None}]})
        run = {"format": FORMAT, "run_id": self.run_id, "state": "running", "started": started, "finished": None,
               "change_ticket": plan.get("change_ticket"), "policy_digest": plan.get("policy_digest"),
               "scope": text, "scope_key": key, "hosts": len(self._plan_hosts(plan))}
        write_json(self.run_path, run)  # last: a run.json means the run's files are all there
        return run

    @_writer
    def replace_plan(self, plan: dict) -> dict:
        """Replace a running run's plan (its pending hosts replanned, plancheck.replan_pending).

        The new plan must be of the current format and hold the same hosts in its waves
        or fewer: a host it no longer plans keeps its record, and is left out of the run.
        run.json keeps the new policy digest.
        """
        run = self.run
        if run["state"] != "running":
            raise RunRecordError(f"{self.run_path}: run {self.run_id} is {run['state']}: its plan stays as it was")
        newer = newer_format(plan, PLAN_FORMAT, "plan")
        if newer:
            raise RunRecordError(f"plan: {newer}")
        if not isinstance(plan, dict) or plan.get("format") != PLAN_FORMAT:
            raise RunRecordError(f"plan: a replaced plan must be of format {PLAN_FORMAT}")
        if plan.get("run_id") != self.run_id:
            raise RunRecordError(f"plan: made for run {plan.get('run_id')}, not {self.run_id}")
        known = set(self.hosts())
        added = [host for host in self._plan_hosts(plan) if host not in known]
        if added:
            raise RunRecordError(f"plan: hosts {', '.join(added)} are not in run {self.run_id}")
        write_json(self.plan_path, plan)
        run["policy_digest"] = plan.get("policy_digest")
        write_json(self.run_path, run)
        return run

    @classmethod
    def load(cls, base_dir: str, run_id: str) -> "RunDir":
        """An existing, started run directory (to resume it or to read it)."""
        path = path_under(base_dir, _check_run_id(run_id))
        if not os.path.isfile(os.path.join(path, "run.json")):
            raise RunRecordError(f"{path}: no run {run_id} to load")
        run_dir = cls(base_dir, run_id)
        if run_dir.run.get("run_id") != run_id:
            raise RunRecordError(f"{run_dir.run_path}: holds run {run_dir.run.get('run_id')!r}, not {run_id!r}")
        return run_dir

    # -- reading ------------------------------------------------------------

    @property
    def run(self) -> dict:
        return _checked(read_json(self.run_path, "run record"), self.run_path, "run record")

    @property
    def plan(self) -> dict:
        plan = read_json(self.plan_path, "plan")
        newer = newer_format(plan, PLAN_FORMATS, "plan")
        if newer:
            raise RunRecordError(f"{self.plan_path}: {newer}")
        if not isinstance(plan, dict) or plan.get("format") not in PLAN_FORMATS:
            found = plan.get("format") if isinstance(plan, dict) else type(plan).__name__
            raise RunRecordError(f"{self.plan_path}: plan format {found!r} is not one of"
                                 f" {', '.join(map(str, PLAN_FORMATS))}")
        return plan

    @staticmethod
    def _plan_hosts(plan: dict) -> list:
        """The plan's hosts in a wave, in wave order then by name."""
        rows = [(h.get("wave"), h["host"]) for h in plan.get("hosts") or () if h.get("wave") is not None]
        return [_check_host(host) for _wave, host in sorted(rows)]

    def _host_path(self, host: str) -> str:
        return path_under(self.hosts_dir, _check_host(host) + ".json")

    def archive_dir(self, host: str) -> str:
        """``<run dir>/archive/<host>``: where the roles keep what they need of ``host``."""
        return path_under(self.path, "archive", _check_host(host))

    @_writer
    def keep_final(self, host: str, final: dict) -> str:
        """Write ``final`` (the host's state at the end) to its archive's final.json; the path."""
        _private_dir(path_under(self.path, "archive"), "run directory's archive folder")
        folder = self.archive_dir(host)
        _private_dir(folder, f"archive folder of {host}")
        path = path_under(folder, "final.json")
        write_json(path, final)
        return path

    def final(self, host: str) -> dict | None:
        """What :meth:`keep_final` wrote of ``host``, None when nothing."""
        path = path_under(self.archive_dir(host), "final.json")
        return read_json(path, "final state") if os.path.isfile(path) else None

    @_writer
    def write_summary(self, summary: dict) -> str:
        """Write summary.json (the run's end); its path."""
        path = path_under(self.path, "summary.json")
        write_json(path, summary)
        return path

    def host(self, host: str) -> dict:
        """The host's progress record."""
        path = self._host_path(host)
        return _checked(read_json(path, f"progress record of {host}"), path, "host record")

    def hosts(self) -> dict:
        """{host: phase} for every host of the run, in wave order."""
        return {host: self.host(host)["phase"] for host in self._plan_hosts(self.plan)}

    def pending_hosts(self) -> list:
        """The hosts a (re)run still has to do: not done, failed or rolled back; in wave order."""
        return [host for host, phase in self.hosts().items() if phase not in FINISHED_PHASES]

    # -- changing -----------------------------------------------------------

    @_writer
    def record(self, host: str, phase: str, detail=None, at: datetime | None = None) -> dict:
        """Move ``host`` to ``phase`` and add it to the history; returns the new record."""
        if phase not in PHASES:
            raise RunRecordError(f"phase: {phase!r} is not one of {', '.join(PHASES)}")
        current = self.host(host)
        was = current["phase"]
        if was in ("done", "rolled_back", ABANDONED) or (was == "failed" and phase not in ("failed", "rolled_back")):
            raise RunRecordError(f"{host}: {was}, cannot move to {phase}")
        history = list(current.get("history") or ()) + [{"phase": phase, "at": _stamp(at), "detail": detail}]
        updated = {"format": FORMAT, "host": host, "phase": phase, "history": history}
        write_json(self._host_path(host), updated)
        return updated

    @_writer
    def mark_unreachable(self, host: str, detail=None, at: datetime | None = None) -> dict | None:
        """Note that ``host`` became unreachable: a history entry, its phase kept, so that a
        rerun picks it up again. A finished host is left alone (returns None)."""
        current = self.host(host)
        if current["phase"] in FINISHED_PHASES:
            return None
        entry = {"unreachable": True}
        if detail:
            entry["message"] = str(detail)
        history = list(current.get("history") or ()) + [
            {"phase": current["phase"], "at": _stamp(at), "detail": entry}]
        updated = {"format": FORMAT, "host": host, "phase": current["phase"], "history": history}
        write_json(self._host_path(host), updated)
        return updated

    @_writer
    def halt(self, reason: str, at: datetime | None = None) -> dict:
        """Stop the run's remaining waves (budget spent, canary failed): run.json says why."""
        run = self.run
        if not run.get("halted"):
            run["halted"] = {"reason": str(reason), "at": _stamp(at)}
            write_json(self.run_path, run)
        return run

    @_writer
    def record_later(self, host: str, phase: str, detail=None, at: datetime | None = None) -> dict:
        """Record a rollback of ``host`` after its run ended (rollback_later.py decides that it
        may be done and the phase): ``rolled_back`` or ``failed``, on a finished host."""
        if phase not in ("rolled_back", "failed"):
            raise RunRecordError(f"phase: a later rollback ends rolled_back or failed, not {phase!r}")
        if self.run["state"] == "running":
            raise RunRecordError(f"run {self.run_id} is still running: its hosts are not rolled back later")
        current = self.host(host)
        if current["phase"] not in ("done", "failed", ABANDONED):
            raise RunRecordError(f"{host}: {current['phase']}, cannot be rolled back later")
        history = list(current.get("history") or ()) + [{"phase": phase, "at": _stamp(at), "detail": detail}]
        updated = {"format": FORMAT, "host": host, "phase": phase, "history": history}
        write_json(self._host_path(host), updated)
        return updated

    @_writer
    def add_event(self, event: str, detail: dict, at: datetime | None = None) -> dict:
        """Add ``{"event", "at", "detail"}`` to run.json's ``events``: something that
        happened to the run as a whole (its lock broken by hand), whatever its state.
        The hosts' records are left alone (their last entry is their outcome)."""
        if not isinstance(event, str) or not event:
            raise RunRecordError(f"event: {event!r} is not a name")
        run = self.run
        run["events"] = list(run.get("events") or ()) + [{"event": event, "at": _stamp(at), "detail": detail}]
        write_json(self.run_path, run)
        return run

    @_writer
    def finish(self, state: str, at: datetime | None = None) -> dict:
        """Close the run: state completed, failed or aborted, and the time."""
        if state not in RUN_STATES or state == "running":
            raise RunRecordError(f"state: {state!r} is not one of completed, failed, aborted")
        run = self.run
        if run["state"] != "running":
            raise RunRecordError(f"{self.run_path}: run {self.run_id} is {run['state']} already")
        run.update(state=state, finished=_stamp(at))
        write_json(self.run_path, run)
        return run

    @_writer
    def close(self, abandoned: list, closed: dict, at: datetime | None = None) -> dict:
        """End a running run that will not go on: state ``aborted``.

        Each host of ``abandoned`` (none of them finished) moves to ``abandoned``, its
        history saying which phase it was in and ``closed`` (who, why); run.json keeps
        ``closed`` with the time and the abandoned hosts. The hosts are written first,
        run.json last: an interrupted close leaves a running run that can be closed again.
        """
        run = self.run
        if run["state"] != "running":
            raise RunRecordError(f"{self.run_path}: run {self.run_id} is {run['state']} already")
        stamp = _stamp(at)
        records = {host: self.host(host) for host in abandoned}
        finished = [f"{host} ({r['phase']})" for host, r in records.items() if r["phase"] in FINISHED_PHASES]
        if finished:
            raise RunRecordError(f"run {self.run_id}: finished hosts cannot be abandoned: {', '.join(finished)}")
        for host, current in records.items():
            history = list(current.get("history") or ()) + [
                {"phase": ABANDONED, "at": stamp, "detail": dict(closed, was=current["phase"])}]
            write_json(self._host_path(host), {"format": FORMAT, "host": host, "phase": ABANDONED,
                                               "history": history})
        run.update(state="aborted", finished=stamp, closed=dict(closed, at=stamp, abandoned=list(abandoned)))
        write_json(self.run_path, run)
        return run

    @_writer
    def note(self, host: str, detail, at: datetime | None = None) -> dict:
        """Add ``detail`` to ``host``'s history with its phase unchanged, finished or not (what
        retention removed, retention.py); returns the new record."""
        current = self.host(host)
        history = list(current.get("history") or ()) + [{"phase": current["phase"], "at": _stamp(at), "detail": detail}]
        updated = {"format": FORMAT, "host": host, "phase": current["phase"], "history": history}
        write_json(self._host_path(host), updated)
        return updated


def latest_unfinished(base_dir: str, scope) -> RunDir | None:
    """The newest run of ``scope`` still ``running`` (interrupted, or going on), or None."""
    key, _text = scope_key(scope)
    try:
        names = sorted(os.listdir(base_dir))
    except FileNotFoundError:
        return None
    found = []
    for name in names:
        try:
            path = os.path.join(path_under(base_dir, _check_run_id(name)), "run.json")
        except RunRecordError:
            continue  # the locks, a hidden file, a name no run id has
        if not os.path.isfile(path):
            continue
        run = _checked(read_json(path, "run record"), path, "run record")
        if run.get("scope_key") == key and run.get("state") == "running":
            found.append((run.get("started") or "", name))
    return RunDir.load(base_dir, max(found)[1]) if found else None


# ---------------------------------------------------------------------------
# The run lock
# ---------------------------------------------------------------------------

def _proc_stat(pid: int):
    """(state, start time in clock ticks) of a process from /proc, or None where there is none."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as handle:
            text = handle.read()
    except OSError:
        return None
    fields = text[text.rfind(")") + 2:].split()  # the name may hold spaces and brackets
    try:
        return fields[0], int(fields[19])
    except (IndexError, ValueError):
        return None


def _alive(pid: int, pid_start) -> bool:
    """Is process ``pid`` running on this machine, and the same one (not a reused pid)?"""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by somebody else
    stat = _proc_stat(pid)
    if stat is None:
        return True
    state, start = stat
    if state == "Z":
        return False
    return pid_start is None or start == pid_start


def list_locks(base_dir: str) -> list:
    """Every lock file of ``<base_dir>/locks``: [{name, key, path, owner}], by name.

    ``owner`` is the lock file's record as :meth:`RunLock.read` gives it (with
    ``error`` when it is unreadable).
    """
    folder = os.path.join(os.path.abspath(base_dir), LOCKS_DIR)
    try:
        names = sorted(os.listdir(folder))
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise RunRecordError(f"{folder}: cannot list the locks: {exc}") from exc
    found = []
    for name in names:
        if not name.endswith(LOCK_SUFFIX) or name.startswith("."):
            continue
        lock = RunLock.from_key(base_dir, name[:-len(LOCK_SUFFIX)])
        owner = lock.read()
        if owner is not None:
            found.append({"name": name, "key": lock.key, "path": lock.path, "owner": owner})
    return found


class RunLock:
    """The lock of one inventory scope: ``<base_dir>/locks/<scope key>.lock``."""

    def __init__(self, base_dir: str, scope, run_id: str | None = None):
        self.key, self.scope = scope_key(scope)
        self.folder = os.path.join(os.path.abspath(base_dir), LOCKS_DIR)
        self.path = os.path.join(self.folder, self.key + LOCK_SUFFIX)
        self.run_id = run_id
        self.owner = None  # our record while we hold the lock

    @classmethod
    def from_key(cls, base_dir: str, key: str) -> "RunLock":
        """The lock ``<base_dir>/locks/<key>.lock``, its scope unknown until its file is read."""
        lock = cls.__new__(cls)
        lock.key = _check_name(key, "lock", "a lock file")
        lock.scope = f"(the scope of lock {key})"
        lock.folder = os.path.join(os.path.abspath(base_dir), LOCKS_DIR)
        lock.path = path_under(lock.folder, key + LOCK_SUFFIX) if os.path.isdir(lock.folder) \
            else os.path.join(lock.folder, key + LOCK_SUFFIX)
        lock.run_id = None
        lock.owner = None
        return lock

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc):
        self.release()
        return False

    def read(self) -> dict | None:
        """The lock file's owner record, None when there is no lock."""
        try:
            with open(self.path, encoding="utf-8") as handle:
                data = json.load(handle)
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            return {"error": f"unreadable lock file: {exc}"}
        return data if isinstance(data, dict) else {"error": "the lock file holds no owner record"}

    def _verdict(self, owner: dict) -> LockError:
        """LockHeld or StaleLock for the lock file's owner."""
        pid, where = owner.get("pid"), owner.get("host")
        said = (f"run {owner.get('run_id') or '(no run id)'} of pid {pid} on {where}, since {owner.get('started')}"
                f" (lock {self.path})")
        newer = newer_format(owner, FORMAT, "run lock")
        if newer:
            return LockHeld(f"scope {self.scope} is locked by {self.path}, a {newer}", owner, self.path)
        if owner.get("error") or isinstance(pid, bool) or not isinstance(pid, int) or pid <= 0:
            return LockHeld(f"scope {self.scope} is locked by an unreadable lock {self.path}"
                            f" ({owner.get('error') or 'no pid'}); check and remove it by hand", owner, self.path)
        if where != socket.gethostname():
            return LockHeld(f"scope {self.scope} is locked by {said}: another machine,"
                            " its process cannot be checked from here", owner, self.path)
        if _alive(pid, owner.get("pid_start")):
            return LockHeld(f"scope {self.scope} is locked by {said}, which is running", owner, self.path)
        return StaleLock(f"scope {self.scope} has a stale lock: {said}, which is gone;"
                         " break it (break_stale) once you know that run is over", owner, self.path)

    def check(self) -> LockError | None:
        """What taking the lock now would meet, not raised: None (no lock), LockHeld or StaleLock (with the owner)."""
        owner = self.read()
        return None if owner is None else self._verdict(owner)

    def acquire(self, at: datetime | None = None, owner_pid: int | None = None, user: str | None = None,
                job_id: str | None = None) -> dict:
        """Take the lock; LockHeld or StaleLock (with the owner) when somebody has it.

        ``owner_pid`` is the process the lock belongs to (default: this one); an
        Ansible action plugin runs in a worker process and passes the
        ansible-playbook process, which lives as long as the run. ``user`` and
        ``job_id`` name who started the run (lockbreak.owner_user), for the record.
        """
        try:
            os.makedirs(self.folder, mode=DIR_MODE, exist_ok=True)
        except OSError as exc:
            raise LockError(f"{self.folder}: cannot make the lock folder: {exc}", path=self.path) from exc
        pid = owner_pid or os.getpid()
        stat = _proc_stat(pid)
        record = {"format": FORMAT, "pid": pid, "pid_start": stat[1] if stat else None,
                  "host": socket.gethostname(), "started": _stamp(at), "run_id": self.run_id,
                  "scope": self.scope, "token": secrets.token_hex(8), "user": user, "job_id": job_id}
        with _temp_json(self.folder, record) as tmp:
            try:
                for _attempt in range(3):
                    try:
                        os.link(tmp, self.path)
                    except FileExistsError:
                        owner = self.read()
                        if owner is None:
                            continue  # released meanwhile: try again
                        raise self._verdict(owner) from None
                    _fsync_dir(self.folder)
                    self.owner = record
                    return record
            finally:
                os.unlink(tmp)
        raise LockHeld(f"scope {self.scope}: the lock {self.path} keeps changing hands", path=self.path)

    def break_stale(self) -> dict:
        """Remove a stale lock (its owner gone from this machine); returns the owner it had.

        Raises LockHeld when the owner is alive, on another machine or unknown,
        and LockError when there is no lock.
        """
        owner = self.read()
        if owner is None:
            raise LockError(f"scope {self.scope}: no lock to break", path=self.path)
        verdict = self._verdict(owner)
        if not isinstance(verdict, StaleLock):
            raise verdict
        if self.read() != owner:
            raise LockHeld(f"scope {self.scope}: the lock {self.path} changed hands while breaking it", path=self.path)
        os.unlink(self.path)
        _fsync_dir(self.folder)
        return owner

    def remove_if_owner(self, owner: dict) -> None:
        """Remove the lock, whoever holds it, if its file still holds ``owner`` (a person
        decided to break it having seen that owner); LockHeld when it changed hands,
        LockError when it is gone."""
        current = self.read()
        if current is None:
            raise LockError(f"{self.path}: no lock to break (released meanwhile)", path=self.path)
        if current != owner:
            raise LockHeld(f"{self.path}: the lock changed hands while breaking it: left in place", current, self.path)
        os.unlink(self.path)
        _fsync_dir(self.folder)

    def release(self) -> bool:
        """Remove the lock if it is still ours; False when we did not hold it."""
        if self.owner is None:
            return False
        current = self.read()
        ours = isinstance(current, dict) and current.get("token") == self.owner["token"]
        self.owner = None
        if not ours:
            return False
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        _fsync_dir(self.folder)
        return True
