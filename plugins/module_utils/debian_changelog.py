# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a Debian changelog says about an update: CVEs, urgency, advisories, release date.

A Debian changelog (``debian/changelog``, shipped as
``/usr/share/doc/<package>/changelog.Debian.gz`` and published by archives
whose Release file has a ``Changelogs:`` field) is a list of uploads, newest
first. Each entry starts with a heading and ends with a trailer::

    openssl (3.0.15-1~deb12u1) bookworm-security; urgency=medium

      * Fix CVE-2024-5535 and CVE-2024-9143 (DSA-5800-1).

     -- Jane Doe <jane@example.org>  Mon, 28 Oct 2024 19:04:41 +0100

Between an installed version and a candidate, the entries newer than the
installed version are the uploads the update brings: their CVE ids are the
CVEs it fixes, the highest of their urgencies its urgency, and the trailer of
the candidate's own entry its release date.

Pure functions: :func:`parse` reads a changelog, :func:`between` picks the
entries an update brings, :func:`summary` says what they mean,
:func:`change_path` builds the ``@CHANGEPATH@`` of a ``Changelogs:`` URL.
What cannot be learned is :data:`UNKNOWN`, never an empty value that reads as
"none".
"""

from __future__ import annotations

import re
from datetime import timezone
from email.utils import parsedate_to_datetime

from ansible_collections.patchpilot.fleet.plugins.module_utils.security_tracker import VersionError, compare_versions

__all__ = ["UNKNOWN", "URGENCIES", "DEFAULT_SEVERITIES", "ChangelogError", "between", "change_path", "parse",
           "summary"]

#: What a record says when the changelog (or its absence) tells nothing.
UNKNOWN = "unknown"
#: Debian policy 5.6.17, lowest first ("critical" is the old word for "emergency").
URGENCIES = ("low", "medium", "high", "emergency", "critical")
#: The urgency's severity when the policy names no other (``scan.changelog_severities``).
DEFAULT_SEVERITIES = {"low": "low", "medium": "medium", "high": "high", "emergency": "critical", "critical": "critical"}

# "source (version) dist1 dist2; urgency=medium, binary-only=yes"
_HEADING = re.compile(r"^(?P<package>[a-z0-9][a-z0-9+.-]*) \((?P<version>[^()\s]+)\)(?P<dists>(?: +[A-Za-z0-9.+/-]+)*)"
                      r" *;(?P<fields>.*)$")
# " -- Name <mail>  Mon, 28 Oct 2024 19:04:41 +0100" (two spaces before the date)
_TRAILER = re.compile(r"^ -- (?P<maintainer>.*?) {2}(?P<date>\S.*?)\s*$")
_CVE = re.compile(r"\bCVE-(\d{4})-(\d{4,})\b", re.IGNORECASE)
# DSA-5800-1, DLA 3920-1, DSA-5800 (the tracker's ids have the revision)
_ADVISORY = re.compile(r"\b(DSA|DLA)[- ](\d{3,5})(?:-(\d+))?\b")


class ChangelogError(ValueError):
    """A version that is no Debian version."""


def _fields(text: str) -> dict:
    found = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        if sep:
            found[key.strip().lower()] = value.strip()
    return found


def _date(text: str) -> str | None:
    """An RFC 5322 trailer date as an ISO 8601 UTC time, or None when it is not one."""
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None or when.tzinfo is None:
        return None
    return when.astimezone(timezone.utc).isoformat()


def parse(text: str) -> list:
    """The entries of a changelog, newest first, as dicts.

    Each has ``package``, ``version``, ``distributions`` (list), ``urgency``
    (lower case, or None), ``date`` (ISO 8601 UTC of the trailer, or None),
    ``maintainer``, ``cves`` (sorted, upper case, once each) and
    ``advisories`` (``DSA-5800-1``...). Lines that belong to no entry (old
    free-form history at the end of long changelogs, Emacs variables) are
    skipped; an entry without a readable trailer keeps ``date`` None.
    """
    entries, current, body = [], None, []

    def close():
        if current is not None:
            words = "\n".join(body)
            current["cves"] = sorted({f"CVE-{a}-{b}" for a, b in _CVE.findall(words)})
            current["advisories"] = sorted({f"{kind}-{number}" + (f"-{rev}" if rev else "")
                                            for kind, number, rev in _ADVISORY.findall(words)})
            entries.append(current)

    for line in (text or "").splitlines():
        heading = _HEADING.match(line)
        if heading:
            close()
            urgency = _fields(heading.group("fields")).get("urgency")
            current = {"package": heading.group("package"), "version": heading.group("version"),
                       "distributions": heading.group("dists").split(),
                       "urgency": urgency.lower() if urgency else None, "date": None, "maintainer": None}
            body = []
            continue
        if current is None:
            continue
        trailer = _TRAILER.match(line)
        if trailer and current["maintainer"] is None:
            current["maintainer"] = trailer.group("maintainer").strip()
            current["date"] = _date(trailer.group("date"))
            continue
        if current["maintainer"] is None:
            body.append(line)
    close()
    return entries


def between(entries: list, installed: str | None, candidate: str) -> list:
    """The entries an update from ``installed`` to ``candidate`` brings: newer than the installed
    version and not newer than the candidate (a changelog read from a newer .deb has more).

    ``installed`` None (a new package) brings every entry up to the candidate. A version that is
    no Debian version raises ChangelogError; an entry with such a version is left out.
    """
    for name, value in (("installed", installed), ("candidate", candidate)):
        if value is None and name == "installed":
            continue
        try:
            compare_versions(value, value)
        except (VersionError, TypeError) as exc:
            raise ChangelogError(f"{name} version: {exc}") from exc
    brought = []
    for entry in entries:
        try:
            newer = installed is None or compare_versions(entry["version"], installed) > 0
            reached = compare_versions(entry["version"], candidate) <= 0
        except VersionError:
            continue
        if newer and reached:
            brought.append(entry)
    return brought


def summary(entries: list, candidate: str, severities: dict | None = None) -> dict:
    """What the entries an update brings say about it.

    ``cves`` and ``advisories`` (sorted, once each), ``urgency`` (the highest
    of the entries'), ``severity`` (the urgency through ``severities``,
    default :data:`DEFAULT_SEVERITIES`), ``released`` (the candidate entry's
    date, YYYY-MM-DD UTC) and ``entries`` (how many). With no entries every
    value is :data:`UNKNOWN`: nothing was learned, which is not "no CVE".
    An entry list without the candidate's own entry leaves ``released``
    :data:`UNKNOWN`.
    """
    severities = DEFAULT_SEVERITIES if severities is None else severities
    if not entries:
        return {"cves": UNKNOWN, "advisories": UNKNOWN, "urgency": UNKNOWN, "severity": UNKNOWN,
                "released": UNKNOWN, "entries": 0}
    urgencies = [entry["urgency"] for entry in entries if entry.get("urgency") in URGENCIES]
    urgency = max(urgencies, key=URGENCIES.index) if urgencies else UNKNOWN
    own = next((entry for entry in entries if _same(entry["version"], candidate)), None)
    released = own["date"][:10] if own and own.get("date") else UNKNOWN
    return {
        "cves": sorted({cve for entry in entries for cve in entry["cves"]}),
        "advisories": sorted({advisory for entry in entries for advisory in entry["advisories"]}),
        "urgency": urgency,
        "severity": severities.get(urgency, UNKNOWN) if urgency != UNKNOWN else UNKNOWN,
        "released": released,
        "entries": len(entries),
    }


def _same(left: str, right: str) -> bool:
    try:
        return compare_versions(left, right) == 0
    except VersionError:
        return False


def change_path(source: str, version: str, component: str = "main") -> str:
    """``@CHANGEPATH@`` as apt fills it: ``main/o/openssl/openssl_3.0.15-1~deb12u1``.

    The pool prefix is the source's first letter, or its first four for a
    ``lib`` source; the version loses its epoch; a component with a slash
    (``updates/main``) keeps its last part.
    """
    if not re.match(r"^[a-z0-9][a-z0-9+.-]+$", source or ""):
        raise ChangelogError(f"source package: {source!r} is not a Debian source package name")
    try:
        compare_versions(version, version)
    except (VersionError, TypeError) as exc:
        raise ChangelogError(f"version: {exc}") from exc
    component = component or "main"
    if not re.match(r"^[a-z0-9-]+(?:/[a-z0-9-]+)*$", component):
        raise ChangelogError(f"component: {component!r} is not an archive component")
    component = component.rsplit("/", 1)[-1]
    prefix = source[:4] if source.startswith("lib") and len(source) > 3 else source[0]
    bare = version.split(":", 1)[1] if ":" in version else version
    return f"{component}/{prefix}/{source}/{source}_{bare}"
