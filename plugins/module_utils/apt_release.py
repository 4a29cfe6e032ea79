# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""An apt repository's Release file, and where it publishes changelogs.

apt keeps each repository's ``Release`` (or clear-signed ``InRelease``) in
``/var/lib/apt/lists/``. A repository that publishes changelogs says where in
a ``Changelogs:`` field, a URL template with ``@CHANGEPATH@``::

    Changelogs: https://metadata.example.org/changelogs/@CHANGEPATH@_changelog

(Debian's main archive has it; its security archive does not; ``no`` says a
repository publishes none). :func:`parse_release` reads the fields,
:func:`changelog_url` fills the template for one source package version.

Plain Python, no Ansible runtime; runs on the controller and on hosts.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from ansible_collections.patchpilot.fleet.plugins.module_utils.debian_changelog import ChangelogError, change_path

__all__ = ["ReleaseError", "changelog_url", "list_file_prefix", "paragraphs", "parse_release"]

_FIELD = re.compile(r"^([A-Za-z0-9][A-Za-z0-9-]*):[ \t]*(.*)$")


class ReleaseError(ValueError):
    """A Release file or a template that cannot be used."""


def _unsign(text: str) -> str:
    """The signed text of a clear-signed InRelease (RFC 4880 7: dash-escaped lines unescaped)."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != "-----BEGIN PGP SIGNED MESSAGE-----":
        return text
    body, started = [], False
    for line in lines[1:]:
        if not started:
            started = not line.strip()  # the armor headers (Hash: ...) end at the first blank line
            continue
        if line.strip() == "-----BEGIN PGP SIGNATURE-----":
            break
        body.append(line[2:] if line.startswith("- ") else line)
    return "\n".join(body)


def paragraphs(text: str):
    """The paragraphs of a Debian control-style text (Release, ``apt-cache show``), each as
    ``{field (lower case): value}``; a continuation line joins its field's value with a newline."""
    fields, last = {}, None
    for line in (text or "").splitlines():
        if not line.strip():
            if fields:
                yield fields
            fields, last = {}, None
            continue
        if line[:1] in (" ", "\t") and last is not None:
            fields[last] = f"{fields[last]}\n{line.strip()}" if fields[last] else line.strip()
            continue
        match = _FIELD.match(line)
        if match:
            last = match.group(1).lower()
            fields[last] = match.group(2).strip()
    if fields:
        yield fields


def parse_release(text: str) -> dict:
    """The fields of a Release or InRelease file's first paragraph: ``{field (lower case): value}``.

    A multi-line field (the checksum lists) keeps its continuation lines joined with newlines.
    """
    return next(paragraphs(_unsign(text or "")), {})


def changelog_url(template, source: str, version: str, component: str = "main") -> str | None:
    """The changelog URL of one source package version, or None when the repository publishes none.

    ``template`` is the ``Changelogs:`` value (None, empty or ``no``: none published). Only http,
    https and file URLs (apt fetches them, with the methods it fetches packages with) with
    ``@CHANGEPATH@`` in them are used.
    """
    if template is None or not str(template).strip() or str(template).strip().lower() == "no":
        return None
    template = str(template).strip()
    if "@CHANGEPATH@" not in template:
        raise ReleaseError(f"Changelogs: {template!r} has no @CHANGEPATH@")
    parts = urlsplit(template.replace("@CHANGEPATH@", "x"))
    if parts.scheme not in ("http", "https", "file") or (parts.scheme != "file" and not parts.netloc):
        raise ReleaseError(f"Changelogs: {template!r} is not an http, https or file URL")
    try:
        return template.replace("@CHANGEPATH@", change_path(source, version, component))
    except ChangelogError as exc:
        raise ReleaseError(str(exc)) from exc


def list_file_prefix(uri: str, suite: str) -> str:
    """The name apt gives a repository's files in /var/lib/apt/lists (without ``_InRelease``).

    ``http://deb.example.org/debian`` and ``bookworm`` give ``deb.example.org_debian_dists_bookworm``:
    the URI without its scheme and user, ``/`` as ``_``, then ``dists/SUITE`` the same way.
    """
    parts = urlsplit(uri)
    if not parts.scheme or (not parts.netloc and parts.scheme != "file"):
        raise ReleaseError(f"{uri!r} is not a repository URI")
    host = parts.netloc.rsplit("@", 1)[-1]
    path = (host + parts.path).rstrip("/")
    return f"{path}/dists/{suite}".replace("/", "_")
