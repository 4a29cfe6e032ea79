# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Processes that still use files an update replaced: pure parsing of /proc text.

A package upgrade writes a new file and renames it over the old one; a process
that had the old file mapped keeps it, and /proc/PID/maps then shows the path
followed by `` (deleted)``. These helpers turn that text (and /proc/PID/cgroup)
into data; reading /proc is the module's job.
"""

from __future__ import annotations

DELETED_SUFFIX = " (deleted)"

# Mappings that are deleted by design, not by an update: anonymous shared
# memory, memfd, SysV segments, device mappings and scratch directories.
DEFAULT_IGNORE_PREFIXES = (
    "/memfd:",
    "/SYSV",
    "/dev/",
    "/[aio]",
    "/proc/",
    "/run/",
    "/tmp/",
    "/var/tmp/",
    "/drm",
)


def parse_maps(text, ignore_prefixes=DEFAULT_IGNORE_PREFIXES):
    """Return the sorted, unique paths of deleted files mapped in a /proc/PID/maps text.

    A maps line is ``address perms offset dev inode [pathname]``; the pathname
    may contain spaces, so only the first five fields are split off.
    """
    found = set()
    for line in text.splitlines():
        fields = line.split(None, 5)
        if len(fields) < 6:
            continue
        path = fields[5]
        if not path.endswith(DELETED_SUFFIX) or not path.startswith("/"):
            continue
        if fields[4] == "0":  # no inode: not a file
            continue
        path = path[: -len(DELETED_SUFFIX)]
        if path.startswith(tuple(ignore_prefixes)):
            continue
        found.add(path)
    return sorted(found)


def deleted_exe(link_target, ignore_prefixes=DEFAULT_IGNORE_PREFIXES):
    """Return the executable's path when the /proc/PID/exe link points at a deleted file, else None."""
    if not link_target or not link_target.endswith(DELETED_SUFFIX):
        return None
    path = link_target[: -len(DELETED_SUFFIX)]
    if not path.startswith("/") or path.startswith(tuple(ignore_prefixes)):
        return None
    return path


def unit_from_cgroup(text):
    """Return the systemd service unit of a /proc/PID/cgroup text, or None.

    The systemd hierarchy is read: the ``name=systemd`` line (cgroup v1 and
    hybrid) first, else the unified ``0::`` line (cgroup v2). The innermost
    ``*.service`` component of the path is the unit, so a process inside a
    container's or a user manager's subtree maps to the deepest service.
    """
    paths = {}
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        hid, controllers, path = parts
        if controllers == "name=systemd":
            paths["systemd"] = path
        elif hid == "0" and controllers == "":
            paths["unified"] = path
    for key in ("systemd", "unified"):
        path = paths.get(key)
        if not path:
            continue
        services = [c for c in path.split("/") if c.endswith(".service")]
        if services:
            return services[-1]
    return None


def summarise(processes):
    """Return the sorted unique units of a list of process dicts (those without a unit left out)."""
    return sorted({p["unit"] for p in processes if p.get("unit")})
