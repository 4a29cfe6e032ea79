"""apt_release: a repository's Release fields and its changelog URL."""

import pytest

from ansible_collections.patchpilot.fleet.plugins.module_utils import apt_release

INRELEASE = """\
-----BEGIN PGP SIGNED MESSAGE-----
Hash: SHA512

Origin: Example
Label: Example
Suite: stable
Codename: bookworm
Changelogs: https://metadata.example.org/changelogs/@CHANGEPATH@_changelog
Date: Sat, 05 Dec 2026 09:00:00 UTC
Components: main contrib
- Valid-Until: Sat, 12 Dec 2026 09:00:00 UTC
SHA256:
 0123 100 main/binary-amd64/Packages
 4567 200 main/binary-amd64/Packages.gz
-----BEGIN PGP SIGNATURE-----

iQIzBAEBCgAdFiEE
-----END PGP SIGNATURE-----
"""


def test_parse_release_reads_a_clear_signed_inrelease():
    fields = apt_release.parse_release(INRELEASE)
    assert fields["origin"] == "Example" and fields["codename"] == "bookworm"
    assert fields["changelogs"] == "https://metadata.example.org/changelogs/@CHANGEPATH@_changelog"
    assert fields["sha256"].splitlines()[1] == "4567 200 main/binary-amd64/Packages.gz"
    assert fields["valid-until"] == "Sat, 12 Dec 2026 09:00:00 UTC"  # a dash-escaped line


def test_parse_release_reads_a_plain_release_and_nothing():
    assert apt_release.parse_release("Origin: Lab\nSuite: lab\n\nOther: paragraph\n") == {"origin": "Lab", "suite": "lab"}
    assert apt_release.parse_release("") == {} and apt_release.parse_release(None) == {}


def test_changelog_url():
    template = "https://metadata.example.org/changelogs/@CHANGEPATH@_changelog"
    assert apt_release.changelog_url(template, "libxml2", "2.9.14+dfsg-1.3~deb12u1") == \
        "https://metadata.example.org/changelogs/main/libx/libxml2/libxml2_2.9.14+dfsg-1.3~deb12u1_changelog"
    assert apt_release.changelog_url(template, "openssl", "1:3.0-1", "non-free") == \
        "https://metadata.example.org/changelogs/non-free/o/openssl/openssl_3.0-1_changelog"


@pytest.mark.parametrize("template", [None, "", "no", " No "])
def test_no_changelogs_published(template):
    assert apt_release.changelog_url(template, "openssl", "3.0-1") is None


@pytest.mark.parametrize("template, message", [
    ("https://metadata.example.org/changelogs/", "has no @CHANGEPATH@"),
    ("ftp://example.org/@CHANGEPATH@", "not an http, https or file URL"),
    ("https:///@CHANGEPATH@", "not an http, https or file URL"),
])
def test_bad_templates_are_refused(template, message):
    with pytest.raises(apt_release.ReleaseError, match=message):
        apt_release.changelog_url(template, "openssl", "3.0-1")


def test_a_file_url_is_used_as_apt_would():
    assert apt_release.changelog_url("file:/srv/repo/changelogs/@CHANGEPATH@_changelog", "pplab-web", "1.1-1") == \
        "file:/srv/repo/changelogs/main/p/pplab-web/pplab-web_1.1-1_changelog"


def test_a_source_name_that_leaves_the_archive_is_refused():
    with pytest.raises(apt_release.ReleaseError, match="source package"):
        apt_release.changelog_url("https://example.org/@CHANGEPATH@", "../../x", "1.0")


@pytest.mark.parametrize("uri, suite, expected", [
    ("http://deb.example.org/debian", "bookworm", "deb.example.org_debian_dists_bookworm"),
    ("http://deb.example.org/debian-security/", "bookworm-security", "deb.example.org_debian-security_dists_bookworm-security"),
    ("http://user:pw@10.0.0.1:8080/lab", "lab", "10.0.0.1:8080_lab_dists_lab"),
])
def test_list_file_prefix(uri, suite, expected):
    assert apt_release.list_file_prefix(uri, suite) == expected


def test_list_file_prefix_refuses_no_uri():
    with pytest.raises(apt_release.ReleaseError):
        apt_release.list_file_prefix("deb.example.org", "bookworm")
