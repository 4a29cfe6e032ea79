# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parsers of the deb_files module: apt's download URIs, dpkg-deb's fields, apt's file names.

Pure functions over captured output, unit-tested in tests/unit/plugins/module_utils/test_deb_files.py.
"""

from __future__ import annotations

import re

__all__ = ["URI_LINE", "deb_name", "flat", "parse_fields", "parse_print_uris"]

# `apt-get download --print-uris` line: 'URI' FILE SIZE ALGO:DIGEST
URI_LINE = re.compile(r"^'(?P<uri>[^']*)' (?P<file>\S+) (?P<size>\d+) (?P<algo>[A-Za-z0-9]+):(?P<digest>[0-9a-fA-F]+)\s*$")


def flat(text, limit=600):
    """Output squeezed to one line, cut at limit characters."""
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def deb_name(name, version, arch):
    """The file name apt gives a package: name_version_arch.deb, the epoch's colon as %3a."""
    return f"{name}_{version.replace(':', '%3a')}_{arch}.deb"


def parse_print_uris(stdout):
    """The last URI line of `apt-get download --print-uris`: file, size, hash algorithm and digest."""
    found = None
    for line in stdout.splitlines():
        match = URI_LINE.match(line.strip())
        if match:
            found = match
    if found is None:
        return None
    algo = found.group("algo").lower()
    algo = algo[:-3] if algo.endswith("sum") else algo
    file = found.group("file")
    arch = re.sub(r"^.*_([^_]+)\.deb$", r"\1", file)
    return {"file": file, "arch": arch, "size": int(found.group("size")), "algo": algo,
            "digest": found.group("digest").lower()}


def parse_fields(stdout):
    """`dpkg-deb --field FILE Package Version Architecture` into a dict."""
    fields = {}
    for line in stdout.splitlines():
        key, sep, value = line.partition(":")
        if sep and not line.startswith(" "):
            fields[key.strip()] = value.strip()
    return fields
