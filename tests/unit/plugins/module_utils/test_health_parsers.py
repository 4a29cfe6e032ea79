"""module_utils/health_parsers.py: health_snapshot's parsers, over output recorded on a lab host (Debian 11, systemd 247)."""

from __future__ import annotations

import json

import pytest

from ansible_collections.patchpilot.fleet.plugins.module_utils.health_parsers import (
    parse_btime,
    parse_journal_json,
    parse_meminfo,
    parse_pid1_start,
    parse_proc_net,
    parse_units,
    port_names,
)

TCP = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2804781 1 00000000d0d90be3 100 0 0 10 0
   1: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000   999        0 2804836 1 00000000be126e3c 100 0 0 10 0
   2: 0100007F:1F91 00000000:0000 0A 00000000:00000000 00:00000000 00000000   999        0 2804809 1 000000003a187f38 100 0 0 10 0
   3: 0D04D50A:0016 0104D50A:C2F4 01 00000000:00000000 02:00052A5B 00000000     0        0 2805112 4 0000000087f54a01 20 4 31 10 -1
"""
TCP6 = """\
  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:0016 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2804792
   1: 00000000000000000000000001000000:1F92 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2804793
"""
UDP = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  120: 00000000:0044 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 2806000 2 0000000011111111 0
  121: 0100007F:A1B2 0100007F:0035 01 00000000:00000000 00:00000000 00000000     0        0 2806001 2 0000000022222222 0
"""
STAT_PID1 = ("1 (systemd) S 0 1 1 0 -1 4194560 3310 205834 0 0 13 4 584 90 20 0 1 0 1090920 18243584 2391 "
             "18446744073709551615 1 1 0 0 0 0 671173123 4096 1260 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n")
RUNNING = """\
dbus.service              loaded active running D-Bus System Message Bus
pplab-web.service         loaded active running Patchpilot lab service pplab-web 1.0-1
ssh.service               loaded active running OpenBSD Secure Shell server
"""
JOURNAL = [
    {"__CURSOR": "s=e5;i=fd", "SYSLOG_IDENTIFIER": "sshd", "PRIORITY": "3",
     "MESSAGE": "error: kex_exchange_identification: read: Connection reset by peer"},
    {"__CURSOR": "s=e5;i=101", "SYSLOG_IDENTIFIER": "sshd", "_SYSTEMD_UNIT": "ssh.service", "PRIORITY": "3",
     "MESSAGE": "pam_env(sshd:session): Unable to open env file: /etc/default/locale: No such file or directory"},
    {"__CURSOR": "s=e5;i=102", "SYSLOG_IDENTIFIER": "bin", "PRIORITY": "3", "MESSAGE": list(b"bad \xff byte")},
]


def test_tcp_listeners_ipv4_and_ipv6():
    listeners = parse_proc_net(TCP, "tcp") + parse_proc_net(TCP6, "tcp")
    assert listeners == [
        {"protocol": "tcp", "address": "0.0.0.0", "port": 22},
        {"protocol": "tcp", "address": "0.0.0.0", "port": 8080},
        {"protocol": "tcp", "address": "127.0.0.1", "port": 8081},
        {"protocol": "tcp", "address": "::", "port": 22},
        {"protocol": "tcp", "address": "::1", "port": 8082},
    ]
    # The established ssh connection (state 01) is not a listener; v4 and v6 merge by port.
    assert port_names(listeners) == ["tcp/22", "tcp/8080", "tcp/8081", "tcp/8082"]


def test_udp_only_unconnected_bound_sockets():
    assert parse_proc_net(UDP, "udp") == [{"protocol": "udp", "address": "0.0.0.0", "port": 68}]
    assert port_names(parse_proc_net(UDP, "udp")) == ["udp/68"]


def test_pid1_start_is_field_22():
    assert parse_pid1_start(STAT_PID1) == 1090920
    # A command name with spaces and a parenthesis does not shift the fields.
    assert parse_pid1_start(STAT_PID1.replace("(systemd)", "(my (init) x)")) == 1090920


def test_btime_and_meminfo():
    assert parse_btime("cpu  1 2 3\nbtime 1795780000\nprocesses 5\n") == 1795780000
    assert parse_btime("cpu 1\n") is None
    info = parse_meminfo("MemTotal:       24613548 kB\nMemFree:  100 kB\nMemAvailable:   21877312 kB\nHugePages_Total: 0\n")
    assert info["MemTotal"] == 24613548 and info["MemAvailable"] == 21877312 and info["HugePages_Total"] == 0


@pytest.mark.parametrize("output, expected", [
    (RUNNING, ["dbus.service", "pplab-web.service", "ssh.service"]),
    ("pp-x.service loaded failed failed /usr/bin/false\n", ["pp-x.service"]),
    ("\u25cf pp-x.service loaded failed failed /usr/bin/false\n", ["pp-x.service"]),
    ("", []),
])
def test_units(output, expected):
    assert parse_units(output) == expected


def test_journal_count_and_samples():
    output = "\n".join(json.dumps(entry) for entry in JOURNAL) + "\n"
    count, sample = parse_journal_json(output, 2)
    assert count == 3
    assert sample == [
        "ssh.service: pam_env(sshd:session): Unable to open env file: /etc/default/locale: No such file or directory",
        "bin: bad \ufffd byte",
    ]
    assert parse_journal_json(output, 0) == (3, [])
    assert parse_journal_json("", 5) == (0, [])


BURST = JOURNAL + [
    {"__CURSOR": "s=e5;i=103", "_SYSTEMD_UNIT": "pp-burst.service", "PRIORITY": "3", "MESSAGE": "burst 1"},
    {"__CURSOR": "s=e5;i=104", "_SYSTEMD_UNIT": "init.scope", "UNIT": "pp-burst.service", "PRIORITY": "3",
     "MESSAGE": "Failed to start pp-burst.service."},
    {"__CURSOR": "s=e5;i=105", "_SYSTEMD_UNIT": "ssh.service", "PRIORITY": "3", "MESSAGE": "error: after the burst"},
    {"__CURSOR": "s=e5;i=106", "_SYSTEMD_UNIT": "pp-other.service", "PRIORITY": "3", "MESSAGE": "other"},
]


@pytest.mark.parametrize("units, count, sample", [
    ((), 7, ["ssh.service: error: after the burst", "pp-other.service: other"]),
    (["pp-burst.service"], 2, ["pp-burst.service: burst 1", "init.scope: Failed to start pp-burst.service."]),
    (["pp-burst"], 2, ["pp-burst.service: burst 1", "init.scope: Failed to start pp-burst.service."]),
    (["pp-*"], 3, ["init.scope: Failed to start pp-burst.service.", "pp-other.service: other"]),
    (["nothing.service"], 0, []),
])
def test_journal_count_limited_to_units(units, count, sample):
    output = "\n".join(json.dumps(entry) for entry in BURST) + "\n"
    assert parse_journal_json(output, 2, units) == (count, sample)
