"""The deb_files module's parsers (module_utils/deb_files.py): apt's download URIs, dpkg-deb's fields, file names."""

from __future__ import annotations

import pytest

from ansible_collections.patchpilot.fleet.plugins.module_utils.deb_files import deb_name, flat, parse_fields, parse_print_uris


@pytest.mark.parametrize(("line", "expected"), [
    ("'file:/srv/patchpilot-repo/pool/main/pplab-web_1.0-2_all.deb' pplab-web_1.0-2_all.deb 2044 SHA256:ABCdef01",
     {"file": "pplab-web_1.0-2_all.deb", "arch": "all", "size": 2044, "algo": "sha256", "digest": "abcdef01"}),
    ("'http://deb.example/pool/libc6_2.36-9%2bdeb12u4_amd64.deb' libc6_2.36-9+deb12u4_amd64.deb 2757936 MD5Sum:00ff",
     {"file": "libc6_2.36-9+deb12u4_amd64.deb", "arch": "amd64", "size": 2757936, "algo": "md5", "digest": "00ff"}),
])
def test_parse_print_uris(line, expected):
    assert parse_print_uris("Reading package lists...\n" + line + "\n") == expected


def test_parse_print_uris_without_a_uri_line():
    assert parse_print_uris("Reading package lists...\n") is None


def test_deb_name_quotes_the_epoch_as_apt_does():
    assert deb_name("pprpm-tools-libs", "1:1.1-1", "amd64") == "pprpm-tools-libs_1%3a1.1-1_amd64.deb"


def test_parse_fields():
    assert parse_fields("Package: a\nVersion: 1:2.0-1\nArchitecture: all\n") == \
        {"Package": "a", "Version": "1:2.0-1", "Architecture": "all"}


def test_parse_print_uris_takes_the_last_uri_line():
    text = ("'file:/a/x_1_all.deb' x_1_all.deb 1 SHA256:aa\n"
            "'file:/a/x_2_all.deb' x_2_all.deb 2 SHA512:bb\n")
    assert parse_print_uris(text) == {"file": "x_2_all.deb", "arch": "all", "size": 2, "algo": "sha512", "digest": "bb"}


def test_parse_fields_skips_continuation_lines():
    assert parse_fields("Package: a\nDescription: x\n more text: here\n") == {"Package": "a", "Description": "x"}


def test_flat_squeezes_and_cuts():
    assert flat("a\n  b\tc") == "a b c"
    assert flat("x" * 700, limit=10) == "xxxxxxx..."
    assert flat(None) == ""
