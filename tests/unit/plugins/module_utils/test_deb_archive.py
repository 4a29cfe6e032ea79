"""deb_archive: a package's doc folder read out of real .deb files (built here with dpkg-deb)."""

import gzip
import os
import subprocess

import pytest

from ansible_collections.patchpilot.fleet.plugins.module_utils import deb_archive
from ansible_collections.patchpilot.fleet.plugins.module_utils.deb_origin import changelog_member

CHANGELOG = "pkg (1.0-1) unstable; urgency=high\n\n  * Fix CVE-2026-90001.\n\n -- A <a@example.org>  Mon, 30 Nov 2026 10:00:00 +0000\n"


def build(tmp_path, name, files, links=(), compression="xz"):
    root = tmp_path / f"{name}-{compression}"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN" / "control").write_text(
        f"Package: {name}\nVersion: 1.0-1\nArchitecture: all\nMaintainer: A <a@example.org>\nDescription: t\n")
    for path, data in files.items():
        target = root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    for path, target in links:
        where = root / path.lstrip("/")
        where.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, where)
    deb = tmp_path / f"{name}-{compression}.deb"
    subprocess.run(["dpkg-deb", "--root-owner-group", f"-Z{compression}", "--build", str(root), str(deb)],
                   check=True, capture_output=True)
    return str(deb)


@pytest.mark.parametrize("compression", ["xz", "gzip", "none"])
def test_the_changelog_is_read_from_the_package(tmp_path, compression):
    data = gzip.compress(CHANGELOG.encode())
    deb = build(tmp_path, "pkg", {"/usr/share/doc/pkg/changelog.Debian.gz": data,
                                  "/usr/share/doc/pkg/copyright": b"c", "/usr/bin/pkg": b"x" * 100000},
                compression=compression)
    members = deb_archive.doc_members(deb, "pkg")
    assert set(members) == {"./usr/share/doc/pkg", "./usr/share/doc/pkg/changelog.Debian.gz",
                            "./usr/share/doc/pkg/copyright"}
    kind, path = changelog_member({name: link for name, (link, _data) in members.items()}, "pkg")
    assert kind == "file"
    assert deb_archive.changelog_text(members[path][1]) == CHANGELOG


def test_a_doc_folder_that_links_to_another_package(tmp_path):
    deb = build(tmp_path, "libpkg1", {"/usr/lib/libpkg.so.1": b"x"}, links=[("/usr/share/doc/libpkg1", "pkg-common")])
    members = deb_archive.doc_members(deb, "libpkg1")
    assert changelog_member({name: link for name, (link, _data) in members.items()}, "libpkg1") == ("link", "pkg-common")


def test_zstd_is_left_to_dpkg_deb(tmp_path):
    deb = build(tmp_path, "pkg", {"/usr/share/doc/pkg/copyright": b"c"}, compression="zstd")
    with pytest.raises(deb_archive.ArchiveError, match="data.tar.zst: compression Python cannot read"):
        deb_archive.doc_members(deb, "pkg")


def test_what_is_no_package_is_refused(tmp_path):
    bad = tmp_path / "bad.deb"
    bad.write_bytes(b"PK\x03\x04 a zip file")
    with pytest.raises(deb_archive.ArchiveError, match="not a Debian package"):
        deb_archive.doc_members(str(bad), "pkg")
    cut = tmp_path / "cut.deb"
    whole = open(build(tmp_path, "pkg", {"/usr/share/doc/pkg/copyright": os.urandom(20000)}), "rb").read()
    cut.write_bytes(whole[:len(whole) // 2])
    with pytest.raises(deb_archive.ArchiveError, match="cut short|cannot read"):
        deb_archive.doc_members(str(cut), "pkg")
    with pytest.raises(deb_archive.ArchiveError, match="no gzip file"):
        deb_archive.changelog_text(b"plain text")
