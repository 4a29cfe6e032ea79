"""Replay recorded apt-get -s dist-upgrade output through the parser (see fixtures/README.md)."""

from pathlib import Path

import pytest

from ansible_collections.patchpilot.fleet.plugins.module_utils.apt_simulation import (
    AptSimulationError,
    is_security_source,
    parse_apt_simulation,
    parse_inst_line,
    parse_remove_line,
    parse_sources,
)

FIXTURES = Path(__file__).parent / "fixtures"


def load(name):
    return (FIXTURES / name).read_text(encoding="utf-8")


# The pp-* packages that fixtures/record.sh set up, as every release reports them.
FIXTURE_MAIN = {"origin": "Fixture Repo", "release": None, "suite": "fixture"}
FIXTURE_SECURITY = {"origin": "Fixture Repo Security", "release": "1.0", "suite": "fixture-security"}


def with_arch(source, arch):
    return dict(source, arch=arch)


PP_TOOL = {
    "name": "pp-tool",
    "arch": "all",
    "installed_version": "1.0-1",
    "candidate_version": "1.1-1",
    "sources": [with_arch(FIXTURE_MAIN, "all"), with_arch(FIXTURE_SECURITY, "all")],
    "security": True,
}
PP_SSL = {
    "name": "pp-ssl",
    "arch": "amd64",
    "installed_version": "1:1.0-1",
    "candidate_version": "1:1.0-1+sec1",
    "sources": [with_arch(FIXTURE_SECURITY, "amd64")],
    "security": True,
}
PP_AGENT = {
    "name": "pp-agent",
    "arch": "all",
    "installed_version": "1.0-1",
    "candidate_version": "2.0-1",
    "sources": [with_arch(FIXTURE_MAIN, "all")],
    "security": False,
}
PP_LIBNEW = {
    "name": "pp-libnew",
    "arch": "all",
    "installed_version": None,
    "candidate_version": "1.0-1",
    "sources": [with_arch(FIXTURE_MAIN, "all")],
    "security": False,
}
PP_LEGACY = {"name": "pp-legacy", "arch": None, "installed_version": "0.9-1"}

BULLSEYE_DEBIAN = [
    "dpkg", "login", "perl-base", "libc6", "libc-bin", "libpam0g", "libpam-modules-bin",
    "libpam-modules", "libsystemd0", "logsave", "libext2fs2", "e2fsprogs", "libpam-runtime",
    "passwd", "gpgv", "libcom-err2", "libtasn1-6", "libgnutls30", "libk5crypto3",
    "libkrb5support0", "libkrb5-3", "libgssapi-krb5-2", "libssl1.1", "liblzma5", "libsepol1",
    "libudev1", "tzdata", "libss2",
]
BOOKWORM_DEBIAN = ["perl-base", "liblzma5", "libapt-pkg6.0", "apt", "libpcre2-8-0", "tzdata"]
TRIXIE_DEBIAN = ["libzstd1", "login.defs", "passwd"]

# fixture, Debian's own upgrades (all from -security that day), kept back, summary
RELEASES = [
    pytest.param(
        "bullseye-dist-upgrade.txt", BULLSEYE_DEBIAN, ["pp-held"],
        {"upgraded": 31, "newly_installed": 1, "removed": 1, "not_upgraded": 1},
        id="debian11-apt2.2",
    ),
    pytest.param(
        "bookworm-dist-upgrade.txt", BOOKWORM_DEBIAN, ["pp-blocked", "pp-held"],
        {"upgraded": 9, "newly_installed": 1, "removed": 1, "not_upgraded": 2},
        id="debian12-apt2.6",
    ),
    pytest.param(
        "trixie-dist-upgrade.txt", TRIXIE_DEBIAN, ["pp-blocked", "pp-held"],
        {"upgraded": 6, "newly_installed": 1, "removed": 1, "not_upgraded": 2},
        id="debian13-apt3.0",
    ),
    pytest.param(
        "trixie-dist-upgrade-output-v30.txt", TRIXIE_DEBIAN, ["pp-blocked", "pp-held"],
        {"upgraded": 6, "newly_installed": 1, "removed": 1, "not_upgraded": 2},
        id="debian13-apt3.0-layout30",
    ),
]


@pytest.mark.parametrize("fixture, debian_upgrades, kept_back, summary", RELEASES)
def test_release_fixture(fixture, debian_upgrades, kept_back, summary):
    result = parse_apt_simulation(load(fixture))

    names = [update["name"] for update in result["upgrades"]]
    assert names == debian_upgrades + ["pp-agent", "pp-ssl", "pp-tool"]
    by_name = {update["name"]: update for update in result["upgrades"]}
    assert by_name["pp-tool"] == PP_TOOL
    assert by_name["pp-ssl"] == PP_SSL
    assert by_name["pp-agent"] == PP_AGENT
    assert result["new"] == [PP_LIBNEW]
    assert result["removals"] == [PP_LEGACY]
    assert result["kept_back"] == kept_back
    assert result["summary"] == summary
    # Debian's updates of the day all came from its security archive.
    for name in debian_upgrades:
        assert by_name[name]["security"] is True
        assert by_name[name]["sources"][-1]["origin"] == "Debian-Security"
        assert by_name[name]["sources"][-1]["suite"].endswith("-security")


@pytest.mark.parametrize("fixture, suite", [
    ("bullseye-dist-upgrade.txt", "oldoldstable-security"),
    ("bookworm-dist-upgrade.txt", "oldstable-security"),
    ("trixie-dist-upgrade.txt", "stable-security"),
])
def test_debian_security_source(fixture, suite):
    release = {"bullseye": "11", "bookworm": "12", "trixie": "13"}[fixture.split("-")[0]]
    first = parse_apt_simulation(load(fixture))["upgrades"][0]
    assert first["sources"] == [
        {"origin": "Debian-Security", "release": release, "suite": suite, "arch": "amd64"}
    ]


def test_both_apt3_layouts_agree():
    assert parse_apt_simulation(load("trixie-dist-upgrade.txt")) == parse_apt_simulation(
        load("trixie-dist-upgrade-output-v30.txt")
    )


@pytest.mark.parametrize("fixture", [
    "bullseye-up-to-date.txt",
    "bookworm-up-to-date.txt",
    "trixie-up-to-date.txt",
    "trixie-up-to-date-output-v30.txt",
])
def test_up_to_date(fixture):
    assert parse_apt_simulation(load(fixture)) == {
        "upgrades": [],
        "new": [],
        "removals": [],
        "kept_back": [],
        "summary": {"upgraded": 0, "newly_installed": 0, "removed": 0, "not_upgraded": 0},
    }


def test_large_host_output():
    """A development machine with 135 pending upgrades (apt 2.6.1, Debian 12.11)."""
    result = parse_apt_simulation(load("bookworm-host-dist-upgrade.txt"))
    assert result["summary"] == {"upgraded": 135, "newly_installed": 0, "removed": 0, "not_upgraded": 0}
    assert len(result["upgrades"]) == 135
    assert len({update["name"] for update in result["upgrades"]}) == 135
    assert result["new"] == result["removals"] == result["kept_back"] == []
    assert sum(update["security"] for update in result["upgrades"]) == 83
    by_name = {update["name"]: update for update in result["upgrades"]}
    # Offered by the point release and the security archive; a trailing "[]" follows.
    assert by_name["libgcrypt20-dev"] == {
        "name": "libgcrypt20-dev",
        "arch": "amd64",
        "installed_version": "1.10.1-3",
        "candidate_version": "1.10.1-3+deb12u1",
        "sources": [
            {"origin": "Debian", "release": "12.15", "suite": "oldstable", "arch": "amd64"},
            {"origin": "Debian-Security", "release": "12", "suite": "oldstable-security", "arch": "amd64"},
        ],
        "security": True,
    }
    assert by_name["libcap2"]["installed_version"] == "1:2.66-4+deb12u2+b2"
    assert by_name["libcap2"]["candidate_version"] == "1:2.66-4+deb12u3+b1"
    assert by_name["libcap2"]["security"] is False
    assert by_name["python3-jwt"]["arch"] == "all"


@pytest.mark.parametrize("fixture", [
    "bullseye-unmet-depends.txt",
    "bookworm-unmet-depends.txt",
    "trixie-unmet-depends.txt",
    "trixie-unmet-depends-output-v30.txt",
])
def test_apt_error_is_reported(fixture):
    with pytest.raises(AptSimulationError) as err:
        parse_apt_simulation(load(fixture))
    assert str(err.value) == (
        "apt-get failed: Unmet dependencies. Try 'apt --fix-broken install' with no packages"
        " (or specify a solution). (pp-broken : Depends: pp-nowhere but it is not installable)"
    )


def test_error_without_context():
    text = "E: Could not open lock file /var/lib/dpkg/lock-frontend - open (13: Permission denied)\n"
    with pytest.raises(AptSimulationError, match=r"^apt-get failed: Could not open lock file .*\(13: Permission denied\)$"):
        parse_apt_simulation(text)


@pytest.mark.parametrize("text", [
    "sudo: a password is required\n",
    "/bin/sh: 1: apt-get: not found",
    "<html><body>502 Bad Gateway</body></html>",
])
def test_not_apt_output(text):
    with pytest.raises(AptSimulationError, match="not the output of apt-get -s dist-upgrade"):
        parse_apt_simulation(text)


@pytest.mark.parametrize("text", ["", "\n", None])
def test_empty_output_means_nothing_pending(text):
    """apt-get -qq -s prints nothing when nothing is pending."""
    result = parse_apt_simulation(text)
    assert result["upgrades"] == result["new"] == result["removals"] == result["kept_back"] == []
    assert result["summary"] == {"upgraded": 0, "newly_installed": 0, "removed": 0, "not_upgraded": 0}


def test_quiet_output_counts_from_lines():
    """With -qq apt prints no summary: the counts come from the Inst/Remv lines."""
    lines = [line for line in load("bookworm-dist-upgrade.txt").splitlines() if line[:5] in ("Inst ", "Remv ", "Conf ")]
    result = parse_apt_simulation("\n".join(lines))
    assert result["summary"] == {"upgraded": 9, "newly_installed": 1, "removed": 1, "not_upgraded": 0}


def test_warnings_are_not_errors():
    text = "W: Target Packages is configured multiple times\n" + load("trixie-dist-upgrade.txt")
    assert parse_apt_simulation(text)["summary"]["upgraded"] == 6


# Line-level shapes apt prints in situations the fixtures do not cover.

def test_inst_line_foreign_architecture():
    update = parse_inst_line(
        "Inst libc6:i386 [2.36-9+deb12u10] (2.36-9+deb12u13 Debian:12.13/stable [i386]) [libc6:amd64 ]"
    )
    assert update["name"] == "libc6"
    assert update["arch"] == "i386"
    assert update["installed_version"] == "2.36-9+deb12u10"
    assert update["sources"] == [{"origin": "Debian", "release": "12.13", "suite": "stable", "arch": "i386"}]


def test_inst_line_broken_list_after_sources():
    update = parse_inst_line(
        "Inst libext2fs2 [1.46.2-2] (1.46.2-2+deb11u1 Debian-Security:11/oldoldstable-security [amd64])"
        " [e2fsprogs:amd64 on libext2fs2:amd64] [e2fsprogs:amd64 ]"
    )
    assert update["candidate_version"] == "1.46.2-2+deb11u1"
    assert update["arch"] == "amd64"
    assert update["security"] is True


def test_remove_lines():
    assert parse_remove_line("Remv libfoo:i386 [1.0-1]") == {"name": "libfoo", "arch": "i386", "installed_version": "1.0-1"}
    assert parse_remove_line("Purg pp-legacy [0.9-1]")["name"] == "pp-legacy"


def test_malformed_inst_line_is_an_error():
    with pytest.raises(AptSimulationError, match="cannot parse apt line: 'Inst broken'"):
        parse_apt_simulation("Reading package lists...\nInst broken\n")


@pytest.mark.parametrize("text, expected", [
    ("Patchpilot Lab:lab", [{"origin": "Patchpilot Lab", "release": None, "suite": "lab", "arch": "all"}]),
    ("Patchpilot Lab:lab-security", [{"origin": "Patchpilot Lab", "release": None, "suite": "lab-security", "arch": "all"}]),
    ("Debian:12.13/stable, Debian-Security:12/stable-security", [
        {"origin": "Debian", "release": "12.13", "suite": "stable", "arch": "all"},
        {"origin": "Debian-Security", "release": "12", "suite": "stable-security", "arch": "all"},
    ]),
    ("localhost", [{"origin": None, "release": None, "suite": "localhost", "arch": "all"}]),
    ("", []),
])
def test_parse_sources(text, expected):
    assert parse_sources(text, "all") == expected


@pytest.mark.parametrize("source, expected", [
    ({"origin": "Patchpilot Lab", "suite": "lab-security"}, True),
    ({"origin": "Patchpilot Lab", "suite": "lab"}, False),
    ({"origin": "Debian", "suite": "bookworm-security"}, True),
    ({"origin": "Debian-Security", "suite": "updates"}, True),
    ({"origin": "Debian", "suite": "bookworm-updates"}, False),
    ({"origin": None, "suite": "localhost"}, False),
])
def test_is_security_source(source, expected):
    assert is_security_source(source) is expected
