# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Network discovery: the inventory's scan settings, what a probe or nmap found, and matching it to the CMDB.

Plain Python, no Ansible runtime and no network of its own: the ``patchpilot.fleet.assets``
inventory plugin checks its ``scan`` settings with :func:`scan_settings`, probes
:func:`scan_targets` (or runs nmap, read by :func:`parse_nmap_xml`), and attributes the
endpoints found to the CMDB's asset records (module_utils/cmdb.py) with :func:`match_endpoints`.

An endpoint (what a scan found)::

    {"address": "127.0.0.1", "port": 2222, "protocol": "ssh",
     "banner": "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u7"}
    {"address": "10.0.0.5", "port": 5986, "protocol": "winrm", "scheme": "https",
     "banner": "HTTP/1.1 404 Not Found; Server: Microsoft-HTTPAPI/2.0"}
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from xml.etree import ElementTree

from ansible_collections.patchpilot.fleet.plugins.module_utils import yamlinput
from ansible_collections.patchpilot.fleet.plugins.module_utils.cmdb import Asset, port_number

__all__ = [
    "DEFAULT_SCAN_PORTS", "PROBES", "PROTOCOLS", "ConfigError", "ScanSettings",
    "banner_text", "classify_response", "endpoint_sort_key", "http_banner", "match_endpoints",
    "parse_nmap_xml", "scan_settings", "scan_targets", "unmanaged_name",
]

#: Default ports of a network scan: SSH, WinRM over HTTP and HTTPS.
DEFAULT_SCAN_PORTS = (22, 5985, 5986)
PROTOCOLS = ("ssh", "winrm")
PROBES = ("own", "nmap")

_shorten = yamlinput.shorten
_port = port_number


class ConfigError(ValueError):
    """Bad settings in an inventory configuration; carries every problem found."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


# --- scanning: settings, targets, results ------------------------------------------------------

@dataclass
class ScanSettings:
    """Checked ``scan`` settings of the inventory configuration."""

    ranges: list = field(default_factory=list)
    ports: list = field(default_factory=lambda: list(DEFAULT_SCAN_PORTS))
    timeout: float = 1.0
    max_hosts: int = 256
    probe: str = "own"
    workers: int = 64

    def fingerprint(self) -> dict:
        """What decides a scan's result: a cached result is reused only for the same fingerprint."""
        return {"ranges": [str(network) for network in self.ranges], "ports": list(self.ports),
                "probe": self.probe}


_SCAN_KEYS = ("ranges", "ports", "timeout", "max_hosts", "probe", "workers")


def _number(value, kind, low, high, name, problems):
    if isinstance(value, bool):
        problems.append("scan.%s: %s is not a number" % (name, _shorten(value)))
        return None
    try:
        number = kind(value)
    except (TypeError, ValueError):
        problems.append("scan.%s: %s is not a number" % (name, _shorten(value)))
        return None
    if kind is int and isinstance(value, float) and value != number:
        problems.append("scan.%s: %s is not a whole number" % (name, _shorten(value)))
        return None
    if not low <= number <= high:
        problems.append("scan.%s: %s is out of range (%s-%s)" % (name, _shorten(value), low, high))
        return None
    return number


def scan_settings(raw) -> ScanSettings | None:
    """Check the ``scan`` option; None when there is nothing to scan. Raises ConfigError."""
    if raw is None or raw == {}:
        return None
    if not isinstance(raw, dict):
        raise ConfigError(["scan: expected a mapping, got %s" % type(raw).__name__])
    problems = []
    unknown = sorted(str(key) for key in raw if key not in _SCAN_KEYS)
    if unknown:
        problems.append("scan: unknown key%s %s (known: %s)"
                        % ("s" if len(unknown) > 1 else "", ", ".join(unknown), ", ".join(_SCAN_KEYS)))
    settings = ScanSettings()
    ranges = raw.get("ranges") or []
    if isinstance(ranges, str):
        ranges = [ranges]
    if not isinstance(ranges, list):
        problems.append("scan.ranges: expected a list of addresses or CIDR ranges")
        ranges = []
    networks = []
    for item in ranges:
        try:
            network = ipaddress.ip_network(str(item).strip(), strict=False)
        except ValueError:
            problems.append("scan.ranges: %s is not an IP address or CIDR range" % _shorten(item))
            continue
        if network not in networks:
            networks.append(network)
    settings.ranges = networks
    ports = raw.get("ports")
    if ports is not None:
        if isinstance(ports, (int, str)) and not isinstance(ports, bool):
            ports = [ports]
        if not isinstance(ports, list) or not ports:
            problems.append("scan.ports: expected a list of port numbers")
        else:
            checked = []
            for port in ports:
                try:
                    number = _port(port)
                except ValueError as exc:
                    problems.append("scan.ports: %s" % exc)
                    continue
                if number not in checked:
                    checked.append(number)
            settings.ports = checked
    if raw.get("timeout") is not None:
        settings.timeout = _number(raw["timeout"], float, 0.01, 600, "timeout", problems) or settings.timeout
    if raw.get("max_hosts") is not None:
        settings.max_hosts = _number(raw["max_hosts"], int, 1, 1 << 20, "max_hosts", problems) or settings.max_hosts
    if raw.get("workers") is not None:
        settings.workers = _number(raw["workers"], int, 1, 1024, "workers", problems) or settings.workers
    if raw.get("probe") is not None:
        if raw["probe"] not in PROBES:
            problems.append("scan.probe: %s is not one of %s" % (_shorten(raw["probe"]), ", ".join(PROBES)))
        else:
            settings.probe = raw["probe"]
    if networks:
        total = sum(network.num_addresses for network in networks)
        if total > settings.max_hosts:
            problems.append("scan.ranges cover %d addresses, more than scan.max_hosts (%d)" % (total, settings.max_hosts))
    if problems:
        raise ConfigError(problems)
    return settings if settings.ranges else None


def scan_targets(settings: ScanSettings) -> list[str]:
    """The addresses to probe: every usable host address in the ranges, each once, in order."""
    targets = []
    seen = set()
    for network in settings.ranges:
        addresses = [network.network_address] if network.num_addresses == 1 else network.hosts()
        for address in addresses:
            if address not in seen:
                seen.add(address)
                targets.append(str(address))
    return targets


def classify_response(first_bytes: bytes) -> str | None:
    """What a server said first (before we said anything): 'ssh' for an SSH banner, else None."""
    return "ssh" if first_bytes.startswith(b"SSH-") else None


def banner_text(data: bytes, limit: int = 200) -> str:
    """The first line of what a server sent, as printable text."""
    line = data.split(b"\n", 1)[0].rstrip(b"\r")
    text = line.decode("utf-8", "replace")
    text = "".join(char if char.isprintable() else "?" for char in text)
    return text[:limit]


def http_banner(data: bytes) -> str | None:
    """Status line and Server header of an HTTP response, None when ``data`` is not HTTP."""
    if not data.startswith(b"HTTP/"):
        return None
    head = data.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    parts = [banner_text(head[0])]
    for header in head[1:]:
        name, _sep, value = header.partition(b":")
        if name.strip().lower() == b"server":
            parts.append("Server: " + banner_text(value.strip()))
            break
    return "; ".join(parts)


def parse_nmap_xml(text: str) -> list[dict]:
    """SSH and WinRM endpoints from ``nmap -sV -oX -`` output. Raises ValueError on bad XML."""
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError as exc:
        raise ValueError("nmap printed no valid XML: %s" % exc) from None
    if root.tag != "nmaprun":
        raise ValueError("nmap printed XML that is not an nmap run (root <%s>)" % root.tag)
    endpoints = []
    for host in root.iter("host"):
        address = None
        for node in host.findall("address"):
            if node.get("addrtype") in ("ipv4", "ipv6"):
                address = node.get("addr")
                break
        if address is None:
            continue
        for port in host.iter("port"):
            state = port.find("state")
            if port.get("protocol") != "tcp" or state is None or state.get("state") != "open":
                continue
            service = port.find("service")
            name = service.get("name", "") if service is not None else ""
            tunnel = service.get("tunnel", "") if service is not None else ""
            words = [service.get(key) for key in ("product", "version")] if service is not None else []
            if service is not None and service.get("extrainfo"):
                words.append("(%s)" % service.get("extrainfo"))
            banner = " ".join(word for word in words if word)
            endpoint = {"address": str(ipaddress.ip_address(address)), "port": int(port.get("portid")), "banner": banner}
            if name == "ssh":
                endpoint["protocol"] = "ssh"
            elif name in ("http", "https", "wsman", "wsmans", "http-proxy") or name.startswith("http"):
                endpoint["protocol"] = "winrm"
                endpoint["scheme"] = "https" if tunnel == "ssl" or name in ("https", "wsmans") else "http"
            else:
                continue
            endpoints.append(endpoint)
    return sorted(endpoints, key=endpoint_sort_key)


def endpoint_sort_key(endpoint: dict):
    address = ipaddress.ip_address(endpoint["address"])
    return (address.version, int(address), endpoint["port"])


def unmanaged_name(endpoint: dict) -> str:
    """Inventory name of an endpoint no CMDB row claims: ``unmanaged_127_0_0_1_2222``."""
    address = re.sub(r"[^0-9A-Za-z]+", "_", endpoint["address"]).strip("_")
    return "unmanaged_%s_%d" % (address, endpoint["port"])


def _address_key(value: str) -> str:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return value.lower().rstrip(".")


def match_endpoints(assets: list[Asset], endpoints: list[dict]):
    """Attribute scanned endpoints to CMDB assets.

    An endpoint belongs to an asset when its address and port are the asset's
    ``ansible_host``/``ip_address`` and ``ansible_port``; or when its address is
    the asset's ``ip_address`` (any port: that machine's own address); or its
    ``ansible_host`` and the asset names no port. Names are compared as written,
    never resolved. Returns ``({hostname: [endpoint, ...]}, [unmatched endpoint, ...])``.
    """
    by_endpoint: dict = {}
    by_address: dict = {}
    for asset in assets:
        host, ip, port = asset.fields.get("ansible_host"), asset.fields.get("ip_address"), asset.port
        if port is not None:
            for address in {host, ip} - {None}:
                by_endpoint.setdefault((_address_key(address), port), []).append(asset.hostname)
        if ip:
            by_address.setdefault(_address_key(ip), []).append(asset.hostname)
        if host and port is None:
            by_address.setdefault(_address_key(host), []).append(asset.hostname)
    matched: dict = {asset.hostname: [] for asset in assets}
    unmatched = []
    for endpoint in sorted(endpoints, key=endpoint_sort_key):
        address = _address_key(endpoint["address"])
        owners = by_endpoint.get((address, endpoint["port"])) or by_address.get(address) or []
        for hostname in dict.fromkeys(owners):
            matched[hostname].append(endpoint)
        if not owners:
            unmatched.append(endpoint)
    return matched, unmatched
