# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read one package's documentation folder out of a .deb, without unpacking it.

A .deb is an ar(5) archive of ``debian-binary``, ``control.tar.*`` and
``data.tar.*``. :func:`doc_members` streams the data tar (gzip, xz, bzip2 or
none: what Python reads; zstd is refused, the caller falls back to dpkg-deb)
and keeps only ``./usr/share/doc/<package>`` and what is in it: each member's
link target, and the bytes of the changelogs, up to a size limit. A kernel
package of hundreds of megabytes is read through once and never held in
memory.
"""

from __future__ import annotations

import gzip
import io
import tarfile

__all__ = ["MAX_CHANGELOG", "ArchiveError", "changelog_text", "doc_members", "doc_members_of_tar"]

#: The most compressed changelog bytes kept (Debian's largest are a few hundred KiB).
MAX_CHANGELOG = 4 * 1024 * 1024
_AR_MAGIC = b"!<arch>\n"
_MODES = {"data.tar": "r|", "data.tar.gz": "r|gz", "data.tar.xz": "r|xz", "data.tar.bz2": "r|bz2"}


class ArchiveError(ValueError):
    """A file that is no .deb this module can read."""


def _data_member(handle):
    """Position ``handle`` at the data tar's bytes; returns (name, size)."""
    if handle.read(8) != _AR_MAGIC:
        raise ArchiveError("not a Debian package (no ar archive)")
    while True:
        header = handle.read(60)
        if len(header) < 60:
            raise ArchiveError("no data.tar member in the package")
        name = header[:16].decode("ascii", "replace").strip().rstrip("/")
        try:
            size = int(header[48:58].decode("ascii").strip())
        except ValueError as exc:
            raise ArchiveError("a damaged ar header") from exc
        if name.startswith("data.tar"):
            return name, size
        handle.seek(size + (size & 1), io.SEEK_CUR)


def doc_members_of_tar(stream, package: str, mode: str = "r|") -> dict:
    """``{path: (link target or "", bytes or None)}`` of ``./usr/share/doc/<package>`` in a tar stream.

    A changelog file's bytes are kept (up to :data:`MAX_CHANGELOG`); other files keep None.
    """
    doc = f"./usr/share/doc/{package}"
    found = {}
    try:
        with tarfile.open(fileobj=stream, mode=mode) as archive:
            for member in archive:
                name = member.name if member.name.startswith("./") else "./" + member.name.lstrip("/")
                if name != doc and not name.startswith(doc + "/"):
                    continue
                if member.issym() or member.islnk():
                    found[name] = (member.linkname or "-", None)
                    continue
                data = None
                if member.isfile() and name.rsplit("/", 1)[-1] in ("changelog.Debian.gz", "changelog.gz") \
                        and member.size <= MAX_CHANGELOG:
                    data = archive.extractfile(member).read()
                found[name] = ("", data)
    except (tarfile.TarError, EOFError, OSError) as exc:  # lzma and gzip errors are OSError/EOFError
        raise ArchiveError(f"cannot read the package's files: {exc}") from exc
    return found


def doc_members(path: str, package: str) -> dict:
    """doc_members_of_tar of the .deb at ``path``; ArchiveError for a zstd data tar (dpkg-deb can read it)."""
    with open(path, "rb") as handle:
        name, size = _data_member(handle)
        if name not in _MODES:
            raise ArchiveError(f"{name}: compression Python cannot read")
        return doc_members_of_tar(_Bounded(handle, size), package, _MODES[name])


def changelog_text(data: bytes) -> str:
    """A changelog's text from its gzip bytes (invalid UTF-8 replaced)."""
    try:
        return gzip.decompress(data).decode("utf-8", "replace")
    except (OSError, EOFError) as exc:
        raise ArchiveError(f"the changelog is no gzip file: {exc}") from exc


class _Bounded(io.RawIOBase):
    """The next ``size`` bytes of a file, as a stream (the ar member)."""

    def __init__(self, handle, size: int):
        super().__init__()
        self._handle, self._left = handle, size

    def readable(self):
        return True

    def readinto(self, buffer):
        count = min(len(buffer), self._left)
        if count <= 0:
            return 0
        data = self._handle.read(count)
        if not data:
            raise OSError("the package file is cut short")
        buffer[:len(data)] = data
        self._left -= len(data)
        return len(data)
