"""Lab settings: every bad value is reported at once, and the fleet layout is decided up front."""

from __future__ import annotations

import ipaddress
import subprocess
import sys
from pathlib import Path

import pytest

from patchpilot_lab import config, images
from patchpilot_lab.images import _deb822_entries, _one_line_entries, lab_sources
from patchpilot_lab.system import LabError

LAB = Path(__file__).resolve().parents[3] / "lab" / "lab"


@pytest.mark.parametrize("env, message", [
    ({"LAB_HOSTS": "abc"}, "LAB_HOSTS='abc' is not a whole number"),
    ({"LAB_HOSTS": "-3"}, "LAB_HOSTS='-3' is not a whole number"),
    ({"LAB_HOSTS": "0"}, "LAB_HOSTS=0 is out of range"),
    ({"LAB_HOSTS": "100000"}, "LAB_HOSTS=100000 is out of range"),
    ({"LAB_HOSTS": "6.5"}, "not a whole number"),
    ({"LAB_SSH_PORT_BASE": "80"}, "LAB_SSH_PORT_BASE=80 is out of range"),
    ({"LAB_SUBNET": "banana"}, "LAB_SUBNET='banana' is not an IPv4 network"),
    ({"LAB_SUBNET": "8.8.8.0/24"}, "must be a private range"),
    ({"LAB_SUBNET": "10.1.2.0/28"}, "too small"),
    ({"LAB_PREFIX": "Bad-Name"}, "LAB_PREFIX='Bad-Name' must be"),
    ({"LAB_REAL": "maybe"}, "LAB_REAL='maybe' is not a yes/no value"),
    ({"LAB_MIRROR": "ftp:/x"}, "LAB_MIRROR='ftp:/x' must be"),
    ({"LAB_STATE_DIR": "relative/dir"}, "LAB_STATE_DIR='relative/dir' must be an absolute path"),
])
def test_bad_settings_are_named(env, message):
    with pytest.raises(LabError) as err:
        config.from_env(env)
    assert message in str(err.value)


def test_all_problems_reported_at_once():
    with pytest.raises(LabError) as err:
        config.from_env({"LAB_HOSTS": "x", "LAB_SUBNET": "nope", "LAB_PREFIX": "!"})
    text = str(err.value)
    assert "LAB_HOSTS" in text and "LAB_SUBNET" in text and "LAB_PREFIX" in text


def test_defaults():
    cfg = config.from_env({})
    assert (cfg.prefix, cfg.hosts, cfg.port_base, str(cfg.subnet)) == ("pplab", 6, 2200, "10.213.0.0/24")
    assert cfg.inventory_dir == config.REPO_ROOT / "inventories" / "lab"
    other = config.from_env({"LAB_PREFIX": "pptest"})
    assert other.inventory_dir != cfg.inventory_dir and other.state_dir != cfg.state_dir


@pytest.mark.parametrize("count", [1, 3, 6, 50, 200])
def test_fleet_is_distinct_and_mixed(count):
    cfg = config.from_env({"LAB_HOSTS": str(count)})
    hosts = config.fleet(cfg)
    assert len(hosts) == count
    for attr in ("name", "ip", "mac", "ssh_port", "container"):
        values = [getattr(h, attr) for h in hosts]
        assert len(set(values)) == count, attr
    for host in hosts:
        ip = ipaddress.IPv4Address(host.ip)
        assert ip in cfg.subnet and ip != cfg.subnet.network_address + 1  # never the gateway
    if count >= 6:
        assert {h.release for h in hosts} == {"11", "12", "13"}
        for role in config.ROLES:
            members = [h for h in hosts if h.role == role]
            assert len({h.release for h in members}) >= 2, role
            assert {h.location for h in members} == set(config.LOCATIONS), role


def test_real_mode_is_bookworm_only():
    hosts = config.fleet(config.from_env({"LAB_REAL": "1"}))
    assert {h.release for h in hosts} == {"12"}


def test_machine_mirrors_parsers():
    deb822 = ("Types: deb\nURIs: http://mirror.invalid/debian\nSuites: bookworm bookworm-updates\n"
              "Components: main\n\nTypes: deb\nURIs: http://mirror.invalid/debian-security\n"
              "Suites: bookworm-security\nComponents: main contrib\n")
    assert list(_deb822_entries(deb822)) == [
        ("http://mirror.invalid/debian", ["bookworm", "bookworm-updates"], ["main"]),
        ("http://mirror.invalid/debian-security", ["bookworm-security"], ["main", "contrib"]),
    ]
    assert list(_one_line_entries("deb [arch=amd64] http://m.invalid/debian bullseye main # x\n# deb skip\n")) == [
        ("http://m.invalid/debian", ["bullseye"], ["main"])]


DEB822_SOURCES = """\
# A third-party repository first: its suite is a Debian codename, its component is not main.
Types: deb
URIs: https://vendor.example.org/linux/debian
Suites: bookworm
Components: stable

Types: deb deb-src
URIs: http://deb.example.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://security.example.org/debian-security
Suites: bookworm-security
Components: main
"""

ONE_LINE_SOURCES = """\
deb http://security.example.net/debian-security bookworm-security main
deb [signed-by=/etc/apt/keyrings/x.gpg] http://mirror.example.net/debian bookworm main contrib
"""


@pytest.mark.parametrize("files, expected", [
    ({"sources.list.d/debian.sources": DEB822_SOURCES},
     ("http://deb.example.org/debian", "http://security.example.org/debian-security")),
    ({"sources.list": ONE_LINE_SOURCES},
     ("http://mirror.example.net/debian", "http://security.example.net/debian-security")),
    # deb822 files are read before sources.list
    ({"sources.list": ONE_LINE_SOURCES, "sources.list.d/debian.sources": DEB822_SOURCES},
     ("http://deb.example.org/debian", "http://security.example.org/debian-security")),
    ({"sources.list": "deb http://vendor.example.org/debian bookworm stable\n"}, (None, None)),
    ({}, (None, None)),
])
def test_machine_mirrors_from_the_machines_apt_sources(tmp_path, files, expected):
    (tmp_path / "sources.list.d").mkdir()
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    assert images.machine_mirrors(tmp_path) == expected


def test_lab_mirror_defaults_to_the_machines_archive(tmp_path, monkeypatch):
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list").write_text(ONE_LINE_SOURCES, encoding="utf-8")
    monkeypatch.setattr(images, "ETC_APT", tmp_path)
    assert images.debian_mirror(config.from_env({})) == "http://mirror.example.net/debian"
    assert images.debian_mirror(config.from_env({"LAB_MIRROR": "http://lab.example.org/debian"})) == \
        "http://lab.example.org/debian"
    real = images._real_sources(config.from_env({"LAB_REAL": "1"}), "12")  # pylint: disable=protected-access
    assert "deb http://mirror.example.net/debian bookworm main\n" in real
    assert "deb http://security.example.net/debian-security bookworm-security main\n" in real
    (tmp_path / "sources.list").write_text("", encoding="utf-8")
    with pytest.raises(LabError, match="no Debian mirror found in .*; set LAB_MIRROR"):
        images.debian_mirror(config.from_env({}))


def test_lab_sources_are_only_the_lab_repository():
    for faults in (False, True):
        text = lab_sources(faults)
        lines = [ln for ln in text.splitlines() if ln.strip()]
        assert all(" file:/srv/patchpilot-repo/archive " in ln for ln in lines)
        assert ("faults" in text) is faults


@pytest.mark.parametrize("value", ["abc", "0", "100000"])
def test_cli_rejects_bad_hosts_without_traceback(value, tmp_path):
    proc = subprocess.run([sys.executable, str(LAB), "up"], capture_output=True, text=True, check=False,
                          env={"PATH": "/usr/bin:/bin", "LAB_HOSTS": value, "LAB_PREFIX": "ppbad",
                               "LAB_STATE_DIR": str(tmp_path / "state")})
    assert proc.returncode == 2
    assert "lab: error: invalid lab settings" in proc.stderr and "LAB_HOSTS" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "state").exists()
