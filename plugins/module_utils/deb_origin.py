# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where a Debian binary package version comes from: its source package, component and repository.

A changelog belongs to a source package version, and a binary package's
version need not be its source's (binNMUs, ``Source: name (version)``).
apt says both: ``apt-cache show NAME=VERSION`` prints the package's
paragraph (``Source:``, ``Filename: pool/COMPONENT/...``), and
``apt-cache policy`` the repositories that offer the version
(``500 http://deb.example.org/debian bookworm/main amd64 Packages``).

Pure functions over apt's output; the deb_changelogs module runs the commands.
"""

from __future__ import annotations

import re

from ansible_collections.patchpilot.fleet.plugins.module_utils.apt_release import paragraphs

__all__ = ["OriginError", "changelog_member", "parse_apt_show", "parse_repository", "source_of"]

_SOURCE = re.compile(r"^([a-z0-9][a-z0-9+.-]*)(?:\s+\(([^()\s]+)\))?$")


class OriginError(ValueError):
    """apt output this module cannot read."""


def parse_apt_show(text: str) -> dict:
    """``apt-cache show NAME=VERSION...`` as ``{(package, version): {field (lower case): value}}``
    (a version shown twice keeps its first paragraph)."""
    found = {}
    for fields in paragraphs(text):
        if fields.get("package") and fields.get("version"):
            found.setdefault((fields["package"], fields["version"]), fields)
    return found


def source_of(fields: dict) -> dict:
    """``{source, source_version, component}`` of one package paragraph (parse_apt_show's value).

    ``Source:`` absent: the source has the binary's name and version; ``Source: name``: that name,
    the binary's version; ``Source: name (version)``: both given. The component is the pool
    folder of ``Filename:`` (``pool/main/o/...`` main, ``pool/updates/main/...`` updates/main).
    """
    package, version = fields.get("package"), fields.get("version")
    if not package or not version:
        raise OriginError("a package paragraph without Package or Version")
    source, source_version = package, version
    if fields.get("source"):
        match = _SOURCE.match(fields["source"].strip())
        if not match:
            raise OriginError(f"{package} {version}: cannot read Source: {fields['source']!r}")
        source = match.group(1)
        source_version = match.group(2) or version
    component = "main"
    filename = fields.get("filename") or ""
    parts = filename.split("/")
    if len(parts) > 3 and parts[0] == "pool":
        # pool/COMPONENT/prefix/source/file, or pool/updates/main/prefix/source/file
        component = "/".join(parts[1:-3])
    return {"source": source, "source_version": source_version, "component": component or "main"}


def parse_repository(line: str) -> dict | None:
    """One repository line of apt-cache policy (``URI SUITE[/COMPONENT] ARCH Packages``) as
    ``{uri, suite, component}``; None for one that names no repository (dpkg's status file)."""
    words = (line or "").split()
    if len(words) < 2 or not re.match(r"^[a-z][a-z0-9+.-]*:", words[0]):
        return None
    suite, _sep, component = words[1].partition("/")
    return {"uri": words[0], "suite": suite, "component": component or None}


def changelog_member(members: dict, package: str) -> tuple:
    """Where a .deb keeps its Debian changelog: ``("file", path)``, ``("link", other package)`` or ``(None, None)``.

    ``members`` maps a data tar member's path (``./usr/share/doc/...``) to its link target ("" for a
    file). ``/usr/share/doc/PACKAGE`` may be a symlink to another binary package's folder of the same
    source (library packages do this): then that package's .deb has the changelog. A native package
    has ``changelog.gz`` and no ``changelog.Debian.gz``.
    """
    doc = f"./usr/share/doc/{package}"
    target = members.get(doc)
    if target:
        # "libfoo-common" or "/usr/share/doc/libfoo-common": another package's folder, nothing else
        match = re.match(r"^(?:/usr/share/doc/)?([a-z0-9][a-z0-9+.-]*)/?$", target)
        if match and match.group(1) != package:
            return "link", match.group(1)
        return None, None
    for name in ("changelog.Debian.gz", "changelog.gz"):
        path = f"{doc}/{name}"
        if path in members and not members[path]:
            return "file", path
    return None, None
