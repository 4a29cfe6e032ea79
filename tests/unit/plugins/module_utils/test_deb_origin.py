"""deb_origin: a binary package version's source, component and repository, from apt's output."""

import pytest

from ansible_collections.patchpilot.fleet.plugins.module_utils import deb_origin

SHOW = """\
Package: libssl3
Version: 3.0.15-1~deb12u1
Source: openssl
Filename: pool/updates/main/o/openssl/libssl3_3.0.15-1~deb12u1_amd64.deb
Description: Secure Sockets Layer toolkit
 Part of the OpenSSL implementation.
 .
 Source: this is no field

Package: libfoo1
Version: 1.0-1+b1
Source: foo (1.0-1)
Filename: pool/contrib/f/foo/libfoo1_1.0-1+b1_amd64.deb

Package: pplab-web
Version: 1.1-1
Filename: pool/main/p/pplab-web/pplab-web_1.1-1_all.deb
"""


def test_parse_apt_show_and_source_of():
    found = deb_origin.parse_apt_show(SHOW)
    assert sorted(found) == [("libfoo1", "1.0-1+b1"), ("libssl3", "3.0.15-1~deb12u1"), ("pplab-web", "1.1-1")]
    assert deb_origin.source_of(found[("libssl3", "3.0.15-1~deb12u1")]) == {
        "source": "openssl", "source_version": "3.0.15-1~deb12u1", "component": "updates/main"}
    assert deb_origin.source_of(found[("libfoo1", "1.0-1+b1")]) == {
        "source": "foo", "source_version": "1.0-1", "component": "contrib"}
    assert deb_origin.source_of(found[("pplab-web", "1.1-1")]) == {
        "source": "pplab-web", "source_version": "1.1-1", "component": "main"}


def test_a_package_shown_twice_keeps_the_first_paragraph():
    text = "Package: a\nVersion: 1\nFilename: pool/main/a/a/a_1.deb\n\nPackage: a\nVersion: 1\nFilename: pool/x/a/a/a_1.deb\n"
    assert deb_origin.parse_apt_show(text)[("a", "1")]["filename"].startswith("pool/main/")


@pytest.mark.parametrize("fields, message", [
    ({"version": "1"}, "without Package"),
    ({"package": "a", "version": "1", "source": "Bad Source!"}, "cannot read Source"),
])
def test_source_of_refuses_what_it_cannot_read(fields, message):
    with pytest.raises(deb_origin.OriginError, match=message):
        deb_origin.source_of(fields)


@pytest.mark.parametrize("line, expected", [
    ("http://deb.example.org/debian bookworm/main amd64 Packages",
     {"uri": "http://deb.example.org/debian", "suite": "bookworm", "component": "main"}),
    ("http://10.0.0.1:8080/lab lab-security/updates/main all Packages",
     {"uri": "http://10.0.0.1:8080/lab", "suite": "lab-security", "component": "updates/main"}),
    ("file:/srv/repo ./ Packages", {"uri": "file:/srv/repo", "suite": ".", "component": None}),
    ("/var/lib/dpkg/status", None),
    ("", None),
])
def test_parse_repository(line, expected):
    assert deb_origin.parse_repository(line) == expected


def test_changelog_member():
    doc = "./usr/share/doc/"
    assert deb_origin.changelog_member({doc + "a/changelog.Debian.gz": "", doc + "a/changelog.gz": ""}, "a") == \
        ("file", doc + "a/changelog.Debian.gz")
    assert deb_origin.changelog_member({doc + "n/changelog.gz": ""}, "n") == ("file", doc + "n/changelog.gz")
    assert deb_origin.changelog_member({doc + "libfoo1": "libfoo-common"}, "libfoo1") == ("link", "libfoo-common")
    assert deb_origin.changelog_member({doc + "libfoo1": "/usr/share/doc/libfoo-common/"}, "libfoo1") == \
        ("link", "libfoo-common")
    assert deb_origin.changelog_member({doc + "x": "../../../etc"}, "x") == (None, None)
    assert deb_origin.changelog_member({doc + "x/copyright": ""}, "x") == (None, None)
    # a changelog that is itself a symlink is not read (it could point anywhere)
    assert deb_origin.changelog_member({doc + "x/changelog.Debian.gz": "/etc/shadow"}, "x") == (None, None)
