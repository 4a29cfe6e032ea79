# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The parsers of the health_snapshot module: pure functions over what a host's kernel and systemd print.

``systemctl list-units``, ``/proc/net/{tcp,tcp6,udp,udp6}``, ``/proc/meminfo``, ``/proc/1/stat``,
``/proc/stat`` and ``journalctl -o json``; each is unit tested over output recorded on a lab host.
"""

from __future__ import annotations

import fnmatch
import json
import socket
import struct

PRIORITIES = ("emerg", "alert", "crit", "err", "warning", "notice", "info", "debug")
TCP_LISTEN = "0A"
UDP_UNCONNECTED = "07"
SAMPLE_MESSAGE_CHARS = 300


def parse_units(output):
    """Unit names (first column) of ``systemctl list-units --plain --no-legend``."""
    units = set()
    for line in output.splitlines():
        fields = line.split()
        if fields and fields[0] in ("*", "\u25cf"):  # failed-unit marker of older systemd
            fields = fields[1:]
        if fields:
            units.add(fields[0])
    return sorted(units)


def _address(hex_address):
    if len(hex_address) == 8:
        return socket.inet_ntop(socket.AF_INET, struct.pack("<I", int(hex_address, 16)))
    if len(hex_address) == 32:
        words = [struct.pack("<I", int(hex_address[i:i + 8], 16)) for i in range(0, 32, 8)]
        return socket.inet_ntop(socket.AF_INET6, b"".join(words))
    return hex_address


def parse_proc_net(text, protocol):
    """Listening sockets of one /proc/net/{tcp,tcp6,udp,udp6} table."""
    listeners = []
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 4 or ":" not in fields[1]:
            continue
        local, remote, state = fields[1], fields[2], fields[3]
        if protocol == "tcp" and state != TCP_LISTEN:
            continue
        if protocol == "udp" and (state != UDP_UNCONNECTED or not remote.endswith(":0000")):
            continue
        address, port = local.rsplit(":", 1)
        listeners.append({"protocol": protocol, "address": _address(address), "port": int(port, 16)})
    return listeners


def port_names(listeners):
    keys = {(item["protocol"], item["port"]) for item in listeners}
    return [f"{proto}/{port}" for proto, port in sorted(keys)]


def parse_meminfo(text):
    values = {}
    for line in text.splitlines():
        key, sep, rest = line.partition(":")
        if not sep:
            continue
        parts = rest.split()
        if parts and parts[0].isdigit():
            values[key.strip()] = int(parts[0])
    return values


def parse_pid1_start(stat_text):
    """Field 22 (starttime) of /proc/1/stat; the command name (field 2) may hold spaces."""
    after = stat_text.rsplit(")", 1)[1].split()
    # after[0] is field 3 (state), so field 22 is after[19].
    return int(after[19])


def parse_btime(stat_text):
    for line in stat_text.splitlines():
        if line.startswith("btime "):
            return int(line.split()[1])
    return None


def _unit_pattern(unit):
    return unit if "." in unit or unit.endswith("*") else unit + ".service"


def parse_journal_json(output, samples, units=()):
    """Count journalctl -o json lines and keep the last ``samples`` as 'unit: message'.

    With ``units`` (names or shell patterns), only the entries of those units count: written by
    the unit (_SYSTEMD_UNIT) or by systemd about it (UNIT, OBJECT_SYSTEMD_UNIT). The filter is
    here, not journalctl's --unit: journalctl of systemd 247 (Debian 11) drops the first
    matching entry after --after-cursor when the cursor's own entry does not match.
    """
    patterns = [_unit_pattern(unit) for unit in units]
    count, last = 0, []
    for line in output.splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            if patterns:
                continue  # no unit to match
            count += 1
            continue
        if patterns and not any(
                isinstance(entry.get(field), str) and fnmatch.fnmatchcase(entry[field], pattern)
                for field in ("_SYSTEMD_UNIT", "UNIT", "OBJECT_SYSTEMD_UNIT") for pattern in patterns):
            continue
        count += 1
        message = entry.get("MESSAGE", "")
        if isinstance(message, list):  # binary message: a list of byte values
            message = bytes(v for v in message if isinstance(v, int) and 0 <= v < 256).decode("utf-8", "replace")
        source = entry.get("_SYSTEMD_UNIT") or entry.get("SYSLOG_IDENTIFIER") or "?"
        last.append(f"{source}: {str(message)[:SAMPLE_MESSAGE_CHARS]}")
        if len(last) > samples:
            last.pop(0)
    return count, (last if samples > 0 else [])
