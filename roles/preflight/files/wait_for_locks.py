#!/usr/bin/env python
# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Wait until none of the given package manager locks is held, for up to TIMEOUT seconds.

usage: wait_for_locks.py TIMEOUT LOCK...

apt, dpkg and rpm take fcntl (POSIX) locks, which flock(1) does not see, so each
such file is probed with a non-blocking lockf and released at once. A LOCK
written ``pid:PATH`` is a dnf process lock: PATH holds the pid of the dnf that
owns it (dnf removes it when done, and takes over one whose process is gone),
so it is held while that process lives. Prints one JSON object:
{"free": bool, "waited_seconds": float, "held": [{path, pid, command}]}
(``held`` is what was still held at the end). Reads nothing else, changes nothing.
"""
import fcntl
import json
import os
import sys
import time


def holders(path):
    """The processes holding a POSIX lock on path, from /proc/locks."""
    try:
        st = os.stat(path)
    except OSError:
        return []
    found = []
    try:
        with open("/proc/locks", encoding="ascii", errors="replace") as locks:
            for line in locks:
                fields = line.split()
                if "->" in fields:
                    continue
                if len(fields) < 6:
                    continue
                dev_inode = fields[5].split(":")
                if len(dev_inode) != 3 or not dev_inode[2].isdigit() or int(dev_inode[2]) != st.st_ino:
                    continue
                pid = fields[4]
                try:
                    with open(f"/proc/{pid}/cmdline", "rb") as cmd:
                        command = cmd.read().replace(b"\0", b" ").decode(errors="replace").strip()
                except OSError:
                    command = ""
                found.append({"path": path, "pid": int(pid) if pid.isdigit() else pid, "command": command})
    except OSError:
        pass
    return found or [{"path": path, "pid": None, "command": ""}]


def pid_holder(path):
    """The live process whose pid a dnf lock file holds, or None."""
    try:
        with open(path, "rb") as lock:
            text = lock.read(20).strip()
    except OSError:
        return None
    if not text.isdigit() or int(text) == os.getpid():
        return None
    pid = int(text)
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmd:
            command = cmd.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return None
    return {"path": path, "pid": pid, "command": command}


def is_held(path):
    if path.startswith("pid:"):
        return pid_holder(path[4:]) is not None
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    else:
        fcntl.lockf(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def main():
    timeout = float(sys.argv[1])
    paths = sys.argv[2:]
    start = time.monotonic()
    while True:
        held = [p for p in paths if is_held(p)]
        waited = time.monotonic() - start
        if not held or waited >= timeout:
            break
        time.sleep(min(1.0, max(0.1, timeout - waited)))
    found = []
    for path in held:
        if path.startswith("pid:"):
            found.extend(h for h in [pid_holder(path[4:])] if h is not None)
        else:
            found.extend(holders(path))
    result = {"free": not held, "waited_seconds": round(waited, 1), "held": found}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
