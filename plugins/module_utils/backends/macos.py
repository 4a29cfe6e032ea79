# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""macOS backend: Apple's ``softwareupdate --list`` and Homebrew, as update records.

Apple's updates (backend ``macos``) come from ``softwareupdate --list``, whose
listing since macOS 10.15 is one pair of lines per update, the second one
indented with a tab::

    * Label: macOS Sonoma 14.7.1-23H222
        Title: macOS Sonoma 14.7.1, Version: 14.7.1, Size: 1528613KiB, Recommended: YES, Action: restart,

* ``name`` is the Label, the name ``softwareupdate --install`` takes;
  ``candidate_version`` the Version (else the Label's part after its last
  ``-``, else the Label).
* ``installed_version`` is the running macOS version (``sw_vers
  -productVersion``) for updates of macOS itself (Title ``macOS ...``), and
  None for the rest: the listing names no installed version.
* ``classification``: ``security`` when Label or Title say ``Security``
  (Security Update 2024-004, macOS Security Response 13.4.1 (c), Background
  Security Improvement); ``enhancement`` for a macOS update to another major
  version than the running one (an upgrade, say Sonoma to Sequoia);
  ``bugfix`` for everything else. The listing does not say which point
  updates carry security content: Apple lists that on its security releases
  page (https://support.apple.com/en-us/100100), not in ``softwareupdate``.
* ``reboot``: True for ``Action: restart`` and ``Action: shut down``, else False.
* ``severity`` None, no advisories; ``source.origin`` ``Apple``.

Homebrew's outdated formulae and casks (backend ``homebrew``) come from
``brew outdated --json=v2`` (``{"formulae": [...], "casks": [...]}``, each
``{name, installed_versions, current_version, pinned, pinned_version}``):
classification ``third_party``; a pinned one is ``kept_back`` (``brew
upgrade`` leaves it alone); ``source.label`` is ``formula`` or ``cask`` and
``source.repository`` the tap of a tap-qualified formula (``user/tap/name``);
``reboot`` False for formulae (files under Homebrew's prefix), None for casks
(a cask may install a package that wants a restart).
"""

from __future__ import annotations

import json
import os
import re
import shutil

from ansible_collections.patchpilot.fleet.plugins.module_utils.records import (
    BackendError,
    RecordError,
    make_update,
)

__all__ = [
    "collect", "collect_homebrew", "collect_softwareupdate", "find_brew", "parse_brew_outdated_json",
    "parse_softwareupdate_list",
]

SOFTWAREUPDATE = "/usr/sbin/softwareupdate"
SW_VERS = "/usr/bin/sw_vers"
BREW_PATHS = ("/opt/homebrew/bin/brew", "/usr/local/bin/brew")
BREW_ENV = {"HOMEBREW_NO_AUTO_UPDATE": "1", "HOMEBREW_NO_ENV_HINTS": "1", "HOMEBREW_NO_COLOR": "1"}
C_LOCALE = {"LANG": "C", "LC_ALL": "C"}

_HEADER_MARKERS = (
    "Software Update Tool",
    "Finding available software",
    "No new software available",
    "Software Update found the following",
)
_ITEM_RE = re.compile(r"^\s*([*-])\s+(.*?)\s*$")
_LABEL_RE = re.compile(r"^Label:\s*(.*)$")
_FIELD_RE = re.compile(r"(?:^|,)\s*(Title|Version|Size|Recommended|Action):")
_MAJOR_RE = re.compile(r"^(\d+)")
_REBOOT_ACTIONS = ("restart", "shut down")


# --- softwareupdate --------------------------------------------------------------------

def _fields(line: str) -> dict:
    """The ``Key: value`` pairs of a Title line; a value may itself hold commas."""
    matches = list(_FIELD_RE.finditer(line))
    fields = {}
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(line)
        fields[match.group(1)] = line[match.end():end].strip().rstrip(",").strip()
    return fields


def _major(version: str | None) -> str | None:
    match = _MAJOR_RE.match(version or "")
    return match.group(1) if match else None


def classify_apple(label: str, title: str, candidate: str | None, os_version: str | None) -> str:
    """security / enhancement / bugfix for one of Apple's updates (see the module docstring)."""
    if "security" in f"{label} {title}".lower():
        return "security"
    if title.lower().startswith("macos ") and os_version and _major(candidate) \
            and _major(candidate) != _major(os_version):
        return "enhancement"
    return "bugfix"


def _apple_record(label: str, fields: dict, os_version: str | None):
    title = fields.get("Title") or label
    candidate = fields.get("Version") or label.rpartition("-")[2].strip() or label
    is_os = title.lower().startswith("macos ")
    try:
        return make_update(
            name=label,
            installed_version=os_version if is_os else None,
            candidate_version=candidate,
            source={"origin": "Apple"},
            classification=classify_apple(label, title, candidate, os_version),
            severity=None,
            reboot=(fields.get("Action") or "").strip().lower() in _REBOOT_ACTIONS,
            effect="upgrade",
            backend="macos",
        )
    except RecordError as exc:
        raise BackendError(f"softwareupdate: {label}: {exc}") from exc


def parse_softwareupdate_list(text: str, os_version: str | None = None) -> list:
    """Update records from ``softwareupdate --list`` output (stdout and stderr together).

    ``os_version`` is the running macOS version (``sw_vers -productVersion``):
    the installed version of macOS updates, and what tells a major upgrade.
    Other lines (the tool's headers, framework log lines) are skipped; text
    with neither an update nor one of the tool's own lines raises
    BackendError, as does the pre-10.15 listing without ``Label:``.
    """
    lines = (text or "").splitlines()
    records = []
    recognised = False
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if any(marker in line for marker in _HEADER_MARKERS):
            recognised = True
            continue
        item = _ITEM_RE.match(line)
        if not item:
            continue
        label_match = _LABEL_RE.match(item.group(2))
        if not label_match:
            raise BackendError(f"softwareupdate: not the 'Label:' listing of macOS 10.15 or later: {line.strip()!r}")
        label = label_match.group(1).strip()
        while index < len(lines) and not lines[index].strip():
            index += 1
        if index >= len(lines) or "Title:" not in lines[index]:
            raise BackendError(f"softwareupdate: no 'Title:' line after 'Label: {label}'")
        fields = _fields(lines[index])
        index += 1
        records.append(_apple_record(label, fields, os_version))
        recognised = True
    if not recognised and (text or "").strip():
        first = (text or "").strip().splitlines()[0]
        raise BackendError(f"softwareupdate: not 'softwareupdate --list' output: {first!r}")
    return records


def macos_version(run) -> str | None:
    """The running macOS version, or None when ``sw_vers`` cannot tell."""
    rc, out, _err = run([SW_VERS, "-productVersion"], environ_update=dict(C_LOCALE))
    version = (out or "").strip()
    return version if rc == 0 and re.match(r"^\d+(\.\d+)*$", version) else None


def collect_softwareupdate(run, options, os_version: str | None = None) -> list:
    """Apple's pending updates. Scans Apple's catalog when ``update_cache`` is set,
    else lists what the last scan found (``--no-scan``)."""
    argv = [_tool(SOFTWAREUPDATE), "--list"]
    if not options.get("update_cache"):
        argv.append("--no-scan")
    rc, out, err = run(argv, environ_update=dict(C_LOCALE))
    if rc != 0:
        raise BackendError(f"softwareupdate --list failed (exit {rc}): {_last_line(err or out)}")
    return parse_softwareupdate_list(_joined(out, err), os_version=os_version)


# --- Homebrew ----------------------------------------------------------------------------

def _installed_version(name: str, installed) -> str:
    # brew lists every outdated keg; casks gave a ", "-joined string before brew 4.
    if isinstance(installed, str):
        installed = installed.split(",")
    versions = [str(v).strip() for v in installed or () if str(v).strip()]
    if not versions:
        raise BackendError(f"brew outdated: {name}: no installed version")
    return versions[-1]


def _brew_record(entry, kind: str):
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or not entry["name"]:
        raise BackendError(f"brew outdated: a {kind} entry without a name: {entry!r}")
    name = entry["name"]
    current = entry.get("current_version")
    tap = name.rsplit("/", 1)[0] if kind == "formula" and name.count("/") == 2 else None
    try:
        return make_update(
            name=name,
            installed_version=_installed_version(name, entry.get("installed_versions")),
            candidate_version=str(current) if current not in (None, "") else None,
            source={"repository": tap, "origin": "Homebrew", "label": kind},
            classification="third_party",
            severity=None,
            reboot=False if kind == "formula" else None,
            effect="kept_back" if entry.get("pinned") else "upgrade",
            backend="homebrew",
        )
    except RecordError as exc:
        raise BackendError(f"brew outdated: {name}: {exc}") from exc


def parse_brew_outdated_json(text: str) -> list:
    """Update records from ``brew outdated --json=v2`` output."""
    try:
        data = json.loads(text or "")
    except ValueError as exc:
        raise BackendError(f"brew outdated --json=v2: not JSON ({exc})") from exc
    if isinstance(data, list):
        raise BackendError("brew outdated: got the old --json=v1 list; expected --json=v2 (formulae and casks)")
    if not isinstance(data, dict) or not isinstance(data.get("formulae"), list) \
            or not isinstance(data.get("casks"), list):
        raise BackendError("brew outdated --json=v2: expected an object with 'formulae' and 'casks' lists")
    return [_brew_record(e, "formula") for e in data["formulae"]] + [_brew_record(e, "cask") for e in data["casks"]]


def find_brew() -> str | None:
    """Path of ``brew``: on PATH, else Homebrew's default prefixes (Apple silicon, Intel).

    A module running as root over ssh rarely has Homebrew's ``bin`` on PATH.
    """
    found = shutil.which("brew")
    if found:
        return found
    for path in BREW_PATHS:
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


def _euid() -> int:
    return os.geteuid()


def _owner(path: str) -> str | None:
    import pwd  # pylint: disable=import-outside-toplevel  # POSIX only; macOS hosts always have it
    try:
        return pwd.getpwuid(os.stat(path).st_uid).pw_name
    except (OSError, KeyError):
        return None


def brew_command(brew: str) -> tuple[list, dict]:
    """argv prefix and environment to run ``brew`` with.

    Homebrew refuses to run as root. A module run with ``become`` runs it as the
    owner of the ``brew`` script (the user who installed Homebrew) through
    ``sudo -n -H -u OWNER``; sudo resets the environment, so Homebrew's
    settings go through ``env``.
    """
    if _euid() != 0:
        return [brew], dict(C_LOCALE, **BREW_ENV)
    owner = _owner(brew)
    if owner in (None, "root"):
        raise BackendError(f"Homebrew refuses to run as root and {brew} belongs to {owner or 'an unknown user'}; "
                           "run the task without become, or set homebrew to false")
    settings = [f"{key}={value}" for key, value in sorted(dict(C_LOCALE, **BREW_ENV).items())]
    return ["sudo", "-n", "-H", "-u", owner, "/usr/bin/env", *settings, brew], dict(C_LOCALE)


def collect_homebrew(run, options, brew: str) -> list:
    """Outdated formulae and casks; ``brew update`` first when ``update_cache`` is set."""
    prefix, environ = brew_command(brew)
    if options.get("update_cache"):
        rc, out, err = run([*prefix, "update", "--quiet"], environ_update=environ)
        if rc != 0:
            raise BackendError(f"brew update failed (exit {rc}): {_last_line(err or out)}")
    rc, out, err = run([*prefix, "outdated", "--json=v2"], environ_update=environ)
    if rc != 0:
        raise BackendError(f"brew outdated failed (exit {rc}): {_last_line(err or out)}")
    return parse_brew_outdated_json(out)


# --- entry point ---------------------------------------------------------------------------

def collect(run, options) -> list:
    """Apple's updates and, where Homebrew is installed, its outdated formulae and casks.

    ``run(argv, environ_update=None) -> (rc, stdout, stderr)``. Options read:
    ``update_cache`` (scan Apple's catalog and ``brew update`` first) and
    ``homebrew`` (default true; false skips Homebrew).
    """
    os_version = macos_version(run)
    records = collect_softwareupdate(run, options, os_version)
    if options.get("homebrew", True):
        brew = find_brew()
        if brew:
            records += collect_homebrew(run, options, brew)
    return records


def _tool(path: str) -> str:
    return path if os.path.exists(path) else os.path.basename(path)


def _joined(out: str | None, err: str | None) -> str:
    return "\n".join(part for part in (out, err) if part)


def _last_line(text: str | None) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1] if lines else "no output"
