# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parse the output of ``apt-get -s dist-upgrade`` into update records.

Pure functions over captured text: no Ansible runtime, no host access. The
text must come from apt running with ``LANG=C`` (apt translates its messages).

Both layouts apt prints are understood: the classic one of apt 1.x/2.x (and of
apt-get 3.x by default) and the apt 3.x one (``Upgrading:``, ``REMOVING:``,
``Summary:``) that apt(8) and ``-o APT::Output-Version=30`` produce. The
``Inst``/``Remv`` lines, which carry the versions, are the same in both.

The result of :func:`parse_apt_simulation`::

    {
        "upgrades": [update, ...],   # Inst lines of installed packages
        "new": [update, ...],        # Inst lines of packages not installed yet
        "removals": [removal, ...],  # Remv/Purg lines
        "kept_back": ["name", ...],  # packages apt will not upgrade now
        "summary": {"upgraded": n, "newly_installed": n,
                    "removed": n, "not_upgraded": n},
    }

    update = {
        "name": "libssl3",                 # without the ":arch" apt adds for foreign packages
        "arch": "amd64",
        "installed_version": "3.0.19-1~deb12u2",   # None in "new"
        "candidate_version": "3.0.22-1~deb12u2",
        "sources": [source, ...],          # every archive offering the candidate
        "security": True,                  # one of the sources is a security archive
    }
    source = {
        "origin": "Debian-Security",  # what apt prints before the colon: the
                                      # Release file's Label (None if it has none)
        "release": "12",              # the Release file's Version (None if it has none)
        "suite": "oldstable-security",  # the Release file's Suite (archive)
        "arch": "amd64",
    }
    removal = {"name": "pp-legacy", "arch": None, "installed_version": "0.9-1"}
"""

from __future__ import annotations

import re

from ansible_collections.patchpilot.fleet.plugins.module_utils.records import classify_release

__all__ = [
    "AptSimulationError",
    "is_security_source",
    "parse_apt_simulation",
    "parse_inst_line",
    "parse_remove_line",
    "parse_sources",
]

# "Inst NAME [INSTALLED] (CANDIDATE SOURCE, SOURCE [ARCH])" and, with some apt
# versions, trailing "[pkg:arch ...]" groups listing packages broken meanwhile.
_INST_RE = re.compile(
    r"^Inst (?P<name>\S+)"
    r"(?: \[(?P<installed>[^\]]*)\])?"
    r" \((?P<candidate>\S+)(?: (?P<sources>.*?))? \[(?P<arch>[^\]]+)\]\)"
    r"(?:\s.*)?$"
)
_REMOVE_RE = re.compile(r"^(?:Remv|Purg) (?P<name>\S+)(?: \[(?P<installed>[^\]]*)\])?(?:\s.*)?$")

# apt 1.x/2.x: "9 upgraded, 1 newly installed, 1 to remove and 2 not upgraded."
# (", N reinstalled" and ", N downgraded" may appear before "to remove").
_CLASSIC_SUMMARY_RE = re.compile(r"^\d+ upgraded, \d+ newly installed, .* not upgraded\.?$")
_CLASSIC_COUNT_RE = re.compile(r"(\d+) (upgraded|newly installed|to remove|not upgraded)")
_CLASSIC_KEYS = {
    "upgraded": "upgraded",
    "newly installed": "newly_installed",
    "to remove": "removed",
    "not upgraded": "not_upgraded",
}

# apt 3.x: "Summary:" then "  Upgrading: 6, Installing: 1, Removing: 1, Not Upgrading: 2".
_V30_SUMMARY_RE = re.compile(r"^(?:Summary:)?\s*Upgrading: \d+.*Not Upgrading: \d+")
_V30_COUNT_RE = re.compile(r"(Not Upgrading|Upgrading|Installing|Removing): (\d+)")
_V30_KEYS = {
    "Upgrading": "upgraded",
    "Installing": "newly_installed",
    "Removing": "removed",
    "Not Upgrading": "not_upgraded",
}

# Headers of the package lists whose names end up in "kept_back".
_KEPT_BACK_HEADERS = (
    "The following packages have been kept back:",
    "The following upgrades have been deferred due to phasing:",
    "Not upgrading:",
    "Not upgrading yet due to phasing:",
)
# Headers of the lists that unmet dependencies come in (quoted in errors).
_UNMET_HEADERS = (
    "The following packages have unmet dependencies:",
    "Unsatisfied dependencies:",
)
# Lines that only apt prints; seeing one means the text is apt's.
_APT_MARKERS = (
    "Reading package lists",
    "Building dependency tree",
    "Reading state information",
    "Calculating upgrade",
    "NOTE: This is only a simulation!",
    "The following ",
    "Summary:",
)
_ERROR_PREFIXES = ("E: ", "Error: ")
_MESSAGE_PREFIXES = ("W: ", "N: ", "Warning: ", "Notice: ")


class AptSimulationError(Exception):
    """The text is an apt failure, or not apt's simulation output at all."""


def is_security_source(source: dict) -> bool:
    """Tell whether an archive is a security one, by the project's one rule
    (:func:`records.classify_release`) over what apt-get prints: the Release
    file's Label (kept here as ``origin``) and its suite."""
    return classify_release(None, source.get("origin"), source.get("suite")) == "security"


def parse_sources(text: str, arch: str | None) -> list[dict]:
    """Split apt's ``Label:Version/Suite, Label:Suite`` list into source records.

    apt prints, for every archive offering a version, ``LABEL:`` when the
    Release file has a Label, then ``VERSION/SUITE`` (or only ``SUITE`` when it
    has no Version); for an archive without a Release file, its host name or
    ``localhost`` stands in place of the suite.
    """
    sources = []
    for part in text.split(", "):
        part = part.strip()
        if not part:
            continue
        origin = None
        rest = part
        if ":" in part:
            origin, rest = part.rsplit(":", 1)
        release = None
        suite = rest
        if "/" in rest:
            release, suite = rest.split("/", 1)
        sources.append({"origin": origin, "release": release, "suite": suite, "arch": arch})
    return sources


def _split_name(name: str, arch: str | None) -> tuple[str, str | None]:
    """Drop the ``:arch`` that apt appends to names of foreign-architecture packages."""
    if ":" in name:
        bare, qualifier = name.rsplit(":", 1)
        if arch is None or qualifier == arch:
            return bare, qualifier
    return name, arch


def parse_inst_line(line: str) -> dict:
    """Turn one ``Inst`` line into an update record.

    Raises AptSimulationError when the line does not have the shape apt gives it.
    """
    match = _INST_RE.match(line.rstrip())
    if match is None:
        raise AptSimulationError(f"cannot parse apt line: {line.strip()!r}")
    arch = match.group("arch")
    name, arch = _split_name(match.group("name"), arch)
    sources = parse_sources(match.group("sources") or "", arch)
    return {
        "name": name,
        "arch": arch,
        "installed_version": match.group("installed") or None,
        "candidate_version": match.group("candidate"),
        "sources": sources,
        "security": any(is_security_source(source) for source in sources),
    }


def parse_remove_line(line: str) -> dict:
    """Turn one ``Remv`` (or ``Purg``) line into a removal record."""
    match = _REMOVE_RE.match(line.rstrip())
    if match is None:
        raise AptSimulationError(f"cannot parse apt line: {line.strip()!r}")
    name, arch = _split_name(match.group("name"), None)
    return {"name": name, "arch": arch, "installed_version": match.group("installed") or None}


def _list_items(line: str) -> list[str]:
    """Package names of one line of an indented list, without ``(version)`` notes."""
    return re.sub(r"\([^)]*\)", " ", line).split()


def _summary_counts(line: str) -> dict | None:
    if _CLASSIC_SUMMARY_RE.match(line):
        return {_CLASSIC_KEYS[key]: int(num) for num, key in _CLASSIC_COUNT_RE.findall(line)}
    if _V30_SUMMARY_RE.match(line):
        return {_V30_KEYS[key]: int(num) for key, num in _V30_COUNT_RE.findall(line)}
    return None


def parse_apt_simulation(text: str) -> dict:
    """Parse the output of ``LANG=C apt-get -s dist-upgrade`` (see the module docstring).

    Empty text (as ``apt-get -qq -s`` prints when nothing is pending) gives
    empty lists. The summary holds apt's own counts; when apt printed none
    (``-qq``), they are counted from the lists.

    Raises AptSimulationError when apt reported an error (an ``E:`` or
    ``Error:`` line; the message quotes it and any unmet dependencies) or when
    the text is not apt output at all.
    """
    if text is None:
        text = ""
    upgrades, new, removals, kept_back = [], [], [], []
    errors, unmet = [], []
    summary = None
    recognised = False
    block = None  # the list being read: "kept_back", "unmet" or None

    for raw in text.splitlines():
        line = raw.rstrip("\r").rstrip()
        if block and line[:1].isspace() and line.strip():
            if block == "kept_back":
                kept_back.extend(_list_items(line))
            else:
                unmet.append(line.strip())
            continue
        block = None
        if not line.strip():
            continue
        if line.startswith("Inst "):
            record = parse_inst_line(line)
            (upgrades if record["installed_version"] else new).append(record)
        elif line.startswith(("Remv ", "Purg ")):
            removals.append(parse_remove_line(line))
        elif line.startswith("Conf "):
            pass  # repeats its Inst line
        elif line.startswith(_ERROR_PREFIXES):
            errors.append(line.split(": ", 1)[1].strip())
        elif line.startswith(_KEPT_BACK_HEADERS):
            block = "kept_back"
        elif line.startswith(_UNMET_HEADERS):
            block = "unmet"
        else:
            counts = _summary_counts(line)
            if counts is not None:
                summary = counts
            elif not line.startswith(_APT_MARKERS + _MESSAGE_PREFIXES):
                continue  # free text: apt's hints, or a list the Inst lines repeat
        recognised = True

    if errors:
        message = "apt-get failed: " + " ".join(errors)
        if unmet:
            message += " (" + "; ".join(unmet) + ")"
        raise AptSimulationError(message)
    if text.strip() and not recognised:
        first = text.strip().splitlines()[0].strip()
        raise AptSimulationError(
            f"this is not the output of apt-get -s dist-upgrade (first line: {first[:120]!r})"
        )

    counted = {
        "upgraded": len(upgrades),
        "newly_installed": len(new),
        "removed": len(removals),
        "not_upgraded": len(kept_back),
    }
    if summary is not None:
        counted.update(summary)
    return {
        "upgrades": upgrades,
        "new": new,
        "removals": removals,
        "kept_back": kept_back,
        "summary": counted,
    }
