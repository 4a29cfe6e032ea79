"""installed_packages: dpkg-query and rpm output into one package record (module_utils/installed_packages.py)."""

from __future__ import annotations

import pytest

from ansible_collections.patchpilot.fleet.plugins.module_utils.installed_packages import (
    InstalledPackagesError,
    by_name,
    parse_dpkg_query,
    parse_query,
    parse_rpm_query,
    plain_version,
    same_version,
    select,
    summary,
    versions,
)

# dpkg-query -W -f '${Package}\t${Version}\t${Architecture}\t${db:Status-Abbrev}\n', as a Debian host prints it
DPKG = (
    "openssl\t3.0.15-1~deb12u1\tamd64\tii \n"
    "pp-held\t1.0-1\tall\thi \n"
    "pp-old\t0.9-1\tall\trc \n"
    "pp-gone\t\tamd64\tun \n"
    "pp-broken\t1.1-1\tall\tiF \n"
    "pp-unpacked\t1.1-1\tall\tiU \n"
    "pp-reinst\t1.0-1\tall\tiiR\n"
    "libfoo:amd64\t2.0-1\tamd64\tii \n"
    "libfoo:i386\t2.0-1\ti386\tii \n"
    "passwd\t1:4.13+dfsg1-1\tamd64\tii \n"
)
# rpm -qa --qf '%{NAME}\t%{EPOCHNUM}:%{VERSION}-%{RELEASE}\t%{ARCH}\tii \n'
RPM = "pprpm-seclib\t0:1.0-1\tnoarch\tii \npprpm-tools-libs\t1:1.0-1\tx86_64\tii \n"


def test_dpkg_records_say_name_arch_version_and_status():
    records = {(r["name"], r["arch"]): r for r in parse_dpkg_query(DPKG)}
    assert records[("openssl", "amd64")] == {
        "name": "openssl", "arch": "amd64", "version": "3.0.15-1~deb12u1", "status": "installed",
        "selection": "install", "abbrev": "ii", "present": True, "clean": True}
    assert records[("pp-held", "all")]["selection"] == "hold" and records[("pp-held", "all")]["clean"]
    assert records[("pp-old", "all")]["status"] == "config-files" and not records[("pp-old", "all")]["present"]
    assert records[("pp-gone", "amd64")]["status"] == "not-installed" and records[("pp-gone", "amd64")]["version"] is None
    assert records[("pp-broken", "all")]["status"] == "half-configured"
    assert records[("pp-broken", "all")]["present"] and not records[("pp-broken", "all")]["clean"]
    assert records[("pp-unpacked", "all")]["status"] == "unpacked"
    # the error flag (reinstall required) makes an installed package not clean
    assert records[("pp-reinst", "all")]["status"] == "installed" and not records[("pp-reinst", "all")]["clean"]
    # dpkg's :arch qualifier is not part of the name
    assert ("libfoo", "i386") in records and ("libfoo", "amd64") in records
    assert records[("passwd", "amd64")]["version"] == "1:4.13+dfsg1-1"


def test_rpm_records_keep_the_epoch_and_are_installed():
    records = parse_rpm_query(RPM)
    assert [(r["name"], r["version"], r["arch"], r["status"], r["clean"]) for r in records] == [
        ("pprpm-seclib", "0:1.0-1", "noarch", "installed", True),
        ("pprpm-tools-libs", "1:1.0-1", "x86_64", "installed", True)]


@pytest.mark.parametrize(("manager", "text", "database"), [
    ("apt", DPKG, "dpkg"), ("dpkg", DPKG, "dpkg"), ("dnf", RPM, "rpm"), ("dnf5", RPM, "rpm"), ("yum", RPM, "rpm")])
def test_parse_query_chooses_the_database_by_manager(manager, text, database):
    records = parse_query(manager, text)
    assert records == (parse_dpkg_query(text) if database == "dpkg" else parse_rpm_query(text))


@pytest.mark.parametrize(("call", "message"), [
    (lambda: parse_query("zypper", ""), "package manager 'zypper' is not supported"),
    (lambda: parse_dpkg_query("openssl 3.0 amd64 ii\n"), "line 1 is not name<TAB>version<TAB>arch<TAB>status"),
    (lambda: parse_dpkg_query("openssl\t3.0\tamd64\tzz \n"), "unknown status 'zz' of openssl"),
    (lambda: parse_rpm_query("pprpm\t1.0\tnoarch\tii \n"), "is not epoch:version-release"),
    (lambda: parse_dpkg_query(b"bytes"), "must be text"),
])
def test_bad_output_gives_one_clear_error(call, message):
    with pytest.raises(InstalledPackagesError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call()


def test_empty_output_gives_no_records():
    assert parse_dpkg_query("") == [] and parse_rpm_query(None) == []


def test_select_keeps_the_names_asked_for_and_says_absent():
    records = parse_dpkg_query(DPKG)
    chosen = select(records, ["openssl", "libfoo", "nosuch", "openssl"])
    assert [(r["name"], r["status"]) for r in chosen] == [
        ("openssl", "installed"), ("libfoo", "installed"), ("libfoo", "installed"), ("nosuch", "absent")]
    assert chosen[-1]["present"] is False and chosen[-1]["version"] is None
    assert select(records, []) == records


def test_versions_and_summary_of_a_baseline():
    records = parse_dpkg_query(DPKG)
    facts = summary(records)
    assert facts["versions"]["openssl"] == "3.0.15-1~deb12u1"
    assert "pp-old" not in facts["versions"] and "pp-gone" not in facts["versions"]
    assert facts["config_files"] == {"pp-old": "0.9-1"}
    assert facts["unhealthy"] == {"pp-broken": "iF", "pp-unpacked": "iU", "pp-reinst": "iiR"}
    assert facts["architectures"]["pp-held"] == "all"
    assert versions(records, clean_only=True).keys() == {"openssl", "pp-held", "libfoo", "passwd"}


def test_by_name_prefers_a_present_record():
    records = parse_dpkg_query("pp-x\t1.0\tamd64\tii \npp-x\t0.9\ti386\trc \n")
    assert by_name(records)["pp-x"]["version"] == "1.0"


@pytest.mark.parametrize(("one", "other", "same"), [
    ("0:1.0-1", "1.0-1", True), ("1:1.0-1", "1.0-1", False), ("1.0-1", "1.0-1", True), (None, None, True),
    (None, "1.0-1", False), ("1.0-10", "1.0-1", False)])
def test_same_version_takes_epoch_0_as_none(one, other, same):
    assert same_version(one, other) is same
    assert plain_version("0:2.0") == "2.0" and plain_version(None) is None
