"""No file names a package registry's host: fixtures, docs and examples use example.org names.

The lab takes its Debian mirror from the machine's own apt sources (or LAB_MIRROR),
and the tests never reach a registry, so no file needs one. Only Debian's recorded
Release files keep their content verbatim (their origin is described in words in
tests/unit/plugins/module_utils/fixtures/README.md).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

#: Hosts of package registries and distribution archives (a subdomain of one counts too).
REGISTRY_HOSTS = (
    r"deb\.debian\.org", r"security\.debian\.org", r"ftp\.debian\.org", r"ftp\.[a-z]{2}\.debian\.org",
    r"httpredir\.debian\.org", r"archive\.debian\.org", r"snapshot\.debian\.org", r"ftp-master\.debian\.org",
    r"archive\.ubuntu\.com", r"security\.ubuntu\.com", r"ports\.ubuntu\.com", r"ppa\.launchpad\.net",
    r"ppa\.launchpadcontent\.net",
    r"pypi\.org", r"pypi\.python\.org", r"files\.pythonhosted\.org",
    r"registry\.npmjs\.org", r"registry\.yarnpkg\.com",
    r"galaxy\.ansible\.com",
    r"download\.fedoraproject\.org", r"dl\.fedoraproject\.org", r"mirrors\.fedoraproject\.org",
    r"mirror\.centos\.org", r"mirrorlist\.centos\.org", r"vault\.centos\.org",
    r"dl\.rockylinux\.org", r"repo\.almalinux\.org", r"download\.opensuse\.org", r"cdn\.redhat\.com",
    r"crates\.io", r"rubygems\.org", r"proxy\.golang\.org", r"repo1?\.maven\.(?:apache\.)?org",
    r"docker\.io", r"quay\.io", r"ghcr\.io",
)
HOST_RE = re.compile(r"(?<![\w-])(?:[\w-]+\.)*(?:" + "|".join(REGISTRY_HOSTS) + r")(?![\w-])", re.IGNORECASE)

#: Recorded verbatim from Debian's archive; their origin is described in words beside them.
ALLOWED = re.compile(r"^tests/unit/plugins/module_utils/fixtures/release/[^/]+\.Release$")


def _files() -> list[str]:
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=REPO_ROOT, capture_output=True, check=True).stdout
    return sorted({name for name in listed.decode().split("\0") if name})


def registry_mentions(root: Path, names: list[str]) -> list[str]:
    found = []
    for name in names:
        path = root / name
        if ALLOWED.match(name) or not path.is_file() or path.is_symlink():
            continue
        data = path.read_bytes()
        if b"\0" in data:
            continue  # binary
        for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
            for match in HOST_RE.finditer(line):
                found.append(f"{name}:{number}: {match.group(0)}")
    return found


def test_no_file_names_a_package_registry_host():
    found = registry_mentions(REPO_ROOT, _files())
    assert not found, "package registry hosts named (use example.org names, or words):\n" + "\n".join(found)


def _host(*labels: str) -> str:
    """A host name from its labels, so that this file names no registry host itself."""
    return ".".join(labels)


@pytest.mark.parametrize("text, hit", [
    (f"deb http://{_host('deb', 'debian', 'org')}/debian bookworm main", _host("deb", "debian", "org")),
    (f"URIs: http://{_host('cdn-fastly', 'deb', 'debian', 'org')}/debian", _host("cdn-fastly", "deb", "debian", "org")),
    (f"pip download from https://{_host('files', 'pythonhosted', 'org')}/x", _host("files", "pythonhosted", "org")),
    (f"see https://{_host('PyPI', 'org')}/project/ansible", _host("PyPI", "org")),
    ("http://deb.example.org/debian and http://security.example.org/debian-security", None),
    (f"https://{_host('security-tracker', 'debian', 'org')}/tracker/data/json", None),
    (f"not{_host('pypi', 'org', 'example')}", None),
])
def test_the_check_finds_registry_hosts(tmp_path, text, hit):
    (tmp_path / "doc.md").write_text(f"first line\n{text}\n", encoding="utf-8")
    release = tmp_path / "tests/unit/plugins/module_utils/fixtures/release/debian.Release"
    release.parent.mkdir(parents=True)
    release.write_text(text, encoding="utf-8")  # the recorded Release files keep their content
    found = registry_mentions(tmp_path, ["doc.md", "tests/unit/plugins/module_utils/fixtures/release/debian.Release"])
    assert found == ([f"doc.md:2: {hit}"] if hit else [])
