#!/usr/bin/env python
# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a command under a time limit that also reaches what it started in other sessions.

    run_with_timeout.py SECONDS GRACE -- COMMAND [ARG...]

coreutils ``timeout`` signals only its own process group, but apt starts dpkg
in a session of its own, so a maintainer script that hangs would outlive it.
Here the runner is a child subreaper: every descendant stays in its process
tree, whatever session it made, and all of them get TERM after SECONDS, then
KILL after GRACE more seconds. Exit status: the command's, or 124 when the time
limit was hit (137 when KILL was needed), as ``timeout`` does.
"""

import ctypes
import os
import signal
import subprocess
import sys
import time

PR_SET_CHILD_SUBREAPER = 36


def descendants(root: int) -> list[int]:
    """Live (not zombie) processes below ``root``."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8", errors="replace") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z":
            children.setdefault(int(fields[1]), []).append(int(entry))
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def reap() -> None:
    while True:
        try:
            pid = os.waitpid(-1, os.WNOHANG)[0]
        except ChildProcessError:
            return
        if pid == 0:
            return


def signal_all(sig: int) -> list[int]:
    pids = descendants(os.getpid())
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass
    return pids


def main(argv: list[str]) -> int:
    if len(argv) < 5 or argv[3] != "--":
        print("usage: run_with_timeout.py SECONDS GRACE -- COMMAND [ARG...]", file=sys.stderr)
        return 2
    seconds, grace, command = float(argv[1]), float(argv[2]), argv[4:]
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    proc = subprocess.Popen(command)
    try:
        rc = proc.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        pids = signal_all(signal.SIGTERM)
        print(f"run_with_timeout: {command[0]} still running after {seconds:g} s: "
              f"TERM to {len(pids)} process(es)", file=sys.stderr, flush=True)
        deadline = time.monotonic() + grace
        while descendants(os.getpid()) and time.monotonic() < deadline:
            reap()
            time.sleep(0.2)
        status = 124
        if descendants(os.getpid()):
            pids = signal_all(signal.SIGKILL)
            print(f"run_with_timeout: KILL to {len(pids)} process(es) still running after {grace:g} s more",
                  file=sys.stderr, flush=True)
            status = 137
        while descendants(os.getpid()):
            reap()
            time.sleep(0.1)
        reap()
        return status
    reap()
    return rc if rc >= 0 else 128 - rc


if __name__ == "__main__":
    sys.exit(main(sys.argv))
