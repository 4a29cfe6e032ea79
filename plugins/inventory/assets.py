# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: assets
short_description: Hosts from a CMDB export, and the SSH and WinRM endpoints no CMDB row lists
version_added: 0.1.0
author:
  - patchpilot developers (@patchpilot)
description:
  - Reads a CMDB export (CSV or YAML) and adds one host per asset, named after its C(hostname) column, to the group
    C(managed).
  - Optionally scans address ranges for SSH and WinRM endpoints. An endpoint that belongs to an asset is recorded on that
    asset (C(patchpilot_endpoints)); an endpoint no asset claims becomes a host of its own in the group C(unmanaged).
  - Every value read from the CMDB or from the network is marked unsafe, so a C({{ ... }}) in a CMDB field or a banner is
    kept as text and never evaluated as a template.
  - Uses a YAML configuration file whose name ends with C(assets.yml) or C(assets.yaml).
notes:
  - The CMDB file is read on every run, so an edit to it shows at once; only the result of the scan is kept in the
    inventory cache (O(cache)). A cached scan is reused only when O(scan.ranges), O(scan.ports) and O(scan.probe) are
    unchanged; C(--flush-cache) forces a new scan.
  - O(compose), O(groups) and O(keyed_groups) apply to the CMDB hosts, which all carry C(patchpilot_asset), so that
    O(strict=true) expressions over C(patchpilot_asset) do not need a guard for unmanaged hosts.
  - Every known column is in C(patchpilot_asset), set to C(null) where the CMDB leaves it empty. With O(strict=true), a
    keyed group on a column that may be empty needs C(default_value), or the empty value fails the inventory.
  - "A CMDB problem (a missing column, a duplicate hostname, a bad IP or MAC address, a value outside the allowed set) fails
    the inventory source with every problem listed as C(FILE:LINE: reason). Ansible reports a failed source as a warning
    and goes on without it, unless C([inventory] any_unparsed_is_failed) is set (or C(unparsed_is_failed), when this is
    the only source)."
  - "Variables of a CMDB host: C(ansible_host) (the C(ansible_host) column, else C(ip_address)), C(ansible_port) (when the
    CMDB gives one), C(patchpilot_asset) (the CMDB row), C(patchpilot_unmanaged=false) and, when a scan ran,
    C(patchpilot_endpoints) (the endpoints found that belong to it, each with C(address), C(port), C(protocol), C(banner))."
  - "Variables of an unmanaged host (named like C(unmanaged_10_0_0_5_22)): C(ansible_host), C(ansible_port),
    C(patchpilot_endpoint) (C(address), C(port), C(protocol) V(ssh) or V(winrm), C(scheme) for WinRM, C(banner)),
    C(patchpilot_unmanaged=true), and for WinRM C(ansible_connection=winrm) and C(ansible_winrm_scheme)."
  - "An endpoint belongs to an asset when its address and port are the asset's C(ansible_host) or C(ip_address) and its
    C(ansible_port); or when its address is the asset's C(ip_address) (any port); or its C(ansible_host) when the asset
    has no C(ansible_port). Host names in the CMDB are compared as written, never resolved."
  - "CMDB columns: C(hostname) (required), C(ansible_host) or C(ip_address) (at least one), C(fqdn), C(mac_address)
    (C(xx:xx:xx:xx:xx:xx)), C(os_family), C(os_distribution), C(os_version), C(os_codename), C(role), C(location),
    C(owner), C(criticality) (C(critical), C(high), C(medium), C(low)), C(data_sensitivity) (C(public), C(internal),
    C(confidential), C(restricted)), C(internet_exposed) (C(yes), C(no), C(true), C(false)), C(ansible_port).
    Other columns are kept as they are. Column names are compared in lower case, with spaces as underscores."
  - A YAML CMDB is a list of mappings with the same keys as the CSV columns, or a mapping with one key C(assets) holding
    that list.
  - "A CMDB host may not be named like a group: C(all), C(ungrouped), C(managed), C(unmanaged), a group another inventory
    source made, or a group O(keyed_groups) or O(groups) would make from the CMDB; nor C(localhost) or C(127.0.0.1)
    (Ansible's name for the controller), nor like an unmanaged endpoint the scan found. Such a row fails the source
    with its file and line before any host is added; so does a hostname longer than 250 characters (the run record
    names a file after it)."
  - "A YAML CMDB is read with the same limits as the policy: a repeated key, nesting deeper than 64 levels, or aliases
    that would expand the file by more than 10000 nodes (or by more than its own size) fail it with the line."
extends_documentation_fragment:
  - ansible.builtin.constructed
  - ansible.builtin.inventory_cache
options:
  plugin:
    description:
      - The name of this plugin; it must be V(patchpilot.fleet.assets) for this plugin to read the file.
    type: str
    required: true
    choices: [patchpilot.fleet.assets]
  cmdb:
    description:
      - The CMDB export to read, a C(.csv), C(.yml) or C(.yaml) file.
      - A relative path is relative to the directory of this configuration file.
      - Leave it out to build the inventory from the scan alone; then every endpoint found is unmanaged.
    type: str
  host_vars:
    description:
      - Variables set on every CMDB host, for example the connection settings the whole fleet shares.
      - They come from this configuration file, not from the CMDB, and are templated as usual when used.
      - Values from the CMDB (C(ansible_host), C(ansible_port)) and from O(compose) take precedence.
    type: dict
    default: {}
  scan:
    description:
      - Scan these ranges for SSH and WinRM endpoints. Leave it out, or leave O(scan.ranges) empty, not to scan.
      - An endpoint is SSH when the server greets with an SSH banner, WinRM when it answers HTTP or HTTPS (list only
        ports where SSH or WinRM is expected).
    type: dict
    suboptions:
      ranges:
        description:
          - IPv4 or IPv6 addresses and CIDR ranges, for example V(10.0.0.0/24) or V(127.0.0.1).
          - Host names are not accepted.
        type: list
        elements: str
        default: []
      ports:
        description:
          - TCP ports to probe on every address.
        type: list
        elements: int
        default: [22, 5985, 5986]
      timeout:
        description:
          - Seconds to wait for a connection, and again for a server's first words.
        type: float
        default: 1.0
      max_hosts:
        description:
          - Refuse to scan when the ranges hold more addresses than this, as a guard against a mistyped prefix.
        type: int
        default: 256
      probe:
        description:
          - V(own) connects to every address and port itself, reads the banner (an SSH server speaks first) and otherwise
            sends an HTTP request, in plain text and then over TLS (WinRM answers HTTP on 5985 and HTTPS on 5986).
          - V(nmap) runs C(nmap -sT -sV) (the C(nmap) command must be installed) and reads its XML report.
        type: str
        choices: [own, nmap]
        default: own
      workers:
        description:
          - How many connections the V(own) probe makes at once.
        type: int
        default: 64
"""

EXAMPLES = r"""
# inventories/fleet.assets.yml: the CMDB, with groups built from its metadata
# (role_web, location_dc_east, criticality_high, Debian12, internet_exposed, ...).
plugin: patchpilot.fleet.assets
cmdb: cmdb.csv
strict: true
keyed_groups:
  - key: patchpilot_asset.role
    prefix: role
  - key: patchpilot_asset.location
    prefix: location
  # In strict mode a column left empty for some host needs a default_value.
  - key: patchpilot_asset.criticality
    prefix: criticality
    default_value: unknown
  - key: patchpilot_asset.os_distribution ~ patchpilot_asset.os_version
    separator: ""
groups:
  internet_exposed: patchpilot_asset.internet_exposed
  sensitive: patchpilot_asset.data_sensitivity in ['confidential', 'restricted']
host_vars:
  ansible_user: patchpilot
  ansible_become: true

---
# Group names without a prefix (web, dc_east, debian12): set leading_separator to false.
plugin: patchpilot.fleet.assets
cmdb: cmdb.yml
leading_separator: false
keyed_groups:
  - key: patchpilot_asset.role
  - key: "'debian' ~ patchpilot_asset.os_version"
compose:
  patchpilot_container: "'lab-' ~ patchpilot_asset.hostname"

---
# inventories/dc1.assets.yml: the CMDB plus a scan of two subnets for SSH and WinRM;
# hosts that answer but that the CMDB does not list land in the group 'unmanaged'.
# The scan is kept in the inventory cache for an hour.
plugin: patchpilot.fleet.assets
cmdb: /srv/cmdb/export.csv
scan:
  ranges:
    - 10.20.0.0/24
    - 10.20.1.0/24
  ports: [22, 5985, 5986]
  timeout: 2
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/patchpilot-inventory
cache_timeout: 3600
"""

import concurrent.futures
import os
import shutil
import socket
import ssl
import subprocess

from ansible.errors import AnsibleParserError
from ansible.inventory.data import InventoryData
from ansible.module_utils.common.text.converters import to_native
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable
from ansible.utils.unsafe_proxy import wrap_var

from ansible_collections.patchpilot.fleet.plugins.module_utils.cmdb import (
    CmdbError,
    name_clashes,
    read_cmdb,
)
from ansible_collections.patchpilot.fleet.plugins.module_utils.netscan import (
    ConfigError,
    banner_text,
    classify_response,
    endpoint_sort_key,
    http_banner,
    match_endpoints,
    parse_nmap_xml,
    scan_settings,
    scan_targets,
    unmanaged_name,
)

CACHE_FORMAT = 1
_READ_LIMIT = 4096


def _recv_head(sock, limit: int = _READ_LIMIT) -> bytes:
    """What the peer sends until a blank line, ``limit`` bytes, close or timeout."""
    data = b""
    try:
        while len(data) < limit and b"\r\n\r\n" not in data:
            chunk = sock.recv(limit - len(data))
            if not chunk:
                break
            data += chunk
            if data.startswith(b"SSH-") and b"\n" in data:
                break
    except (socket.timeout, OSError):
        pass
    return data


def _http_probe(address: str, port: int, timeout: float, tls: bool) -> str | None:
    """Send a bare WS-Management request; the status line and Server header if HTTP answers."""
    request = ("GET /wsman HTTP/1.1\r\nHost: %s\r\nUser-Agent: patchpilot-discovery\r\nConnection: close\r\n\r\n"
               % (("[%s]" % address if ":" in address else address) + ":%d" % port)).encode("ascii")
    try:
        with socket.create_connection((address, port), timeout=timeout) as raw:
            if tls:
                # Identifying the service only: nothing secret is sent, so the certificate is not checked.
                context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
                with context.wrap_socket(raw) as sock:
                    sock.sendall(request)
                    return http_banner(_recv_head(sock))
            raw.sendall(request)
            return http_banner(_recv_head(raw))
    except (OSError, ssl.SSLError, ValueError):
        return None


def probe_endpoint(address: str, port: int, timeout: float) -> dict | None:
    """SSH or WinRM endpoint at address:port, or None (closed, silent, or another service)."""
    try:
        sock = socket.create_connection((address, port), timeout=timeout)
    except OSError:
        return None
    with sock:
        first = _recv_head(sock, 256)
    endpoint = {"address": address, "port": port}
    if classify_response(first) == "ssh":
        endpoint.update(protocol="ssh", banner=banner_text(first))
        return endpoint
    if first:
        return None  # a server that speaks first but not SSH
    for scheme in ("http", "https"):
        banner = _http_probe(address, port, timeout, tls=scheme == "https")
        if banner is not None:
            endpoint.update(protocol="winrm", scheme=scheme, banner=banner)
            return endpoint
    return None


def own_scan(targets: list, ports: list, timeout: float, workers: int) -> list:
    """Probe every target and port, ``workers`` at a time."""
    jobs = [(address, port) for address in targets for port in ports]
    if not jobs:
        return []
    found = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=min(workers, len(jobs))) as pool:
        for endpoint in pool.map(lambda job: probe_endpoint(job[0], job[1], timeout), jobs):
            if endpoint is not None:
                found.append(endpoint)
    return sorted(found, key=endpoint_sort_key)


def nmap_scan(targets: list, ports: list, timeout: float) -> list:
    """Endpoints found by ``nmap -sT -sV`` (a TCP connect scan with service detection)."""
    nmap = shutil.which("nmap")
    if nmap is None:
        raise AnsibleParserError("scan.probe is nmap, but the nmap command is not installed (or use probe: own)")
    found = []
    for family_flags, family in (([], 4), (["-6"], 6)):
        addresses = [address for address in targets if (":" in address) == (family == 6)]
        if not addresses:
            continue
        argv = [nmap, "-n", "-Pn", "-sT", "-sV", "--version-light", "-oX", "-", "--max-rtt-timeout",
                "%dms" % max(1, int(timeout * 1000)), "-p", ",".join(str(port) for port in ports)]
        argv += family_flags + ["--"] + addresses
        try:
            proc = subprocess.run(argv, capture_output=True, text=True, check=False)
        except OSError as exc:
            raise AnsibleParserError("cannot run nmap: %s" % to_native(exc)) from None
        if proc.returncode != 0:
            raise AnsibleParserError("nmap failed (exit %d): %s" % (proc.returncode, proc.stderr.strip()[-2000:]))
        try:
            found.extend(parse_nmap_xml(proc.stdout))
        except ValueError as exc:
            raise AnsibleParserError(to_native(exc)) from None
    return sorted(found, key=endpoint_sort_key)


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    """Hosts from a CMDB export, and endpoints a scan finds that the CMDB does not list."""

    NAME = "patchpilot.fleet.assets"
    INVENTORY_FILE_SUFFIXES = ("assets.yml", "assets.yaml")

    def verify_file(self, path):
        return super().verify_file(path) and path.endswith(self.INVENTORY_FILE_SUFFIXES)

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        self._read_config_data(path)

        try:
            settings = scan_settings(self._templated("scan"))
        except ConfigError as exc:
            raise AnsibleParserError("%s: %s" % (path, exc)) from None

        assets = []
        cmdb = self._templated("cmdb")
        if cmdb:
            cmdb = os.path.join(os.path.dirname(os.path.abspath(path)), os.path.expanduser(str(cmdb)))
            try:
                assets = read_cmdb(cmdb)
            except CmdbError as exc:
                raise AnsibleParserError(str(exc)) from None
        elif settings is None:
            raise AnsibleParserError("%s: set cmdb, scan.ranges or both" % path)

        endpoints = None
        if settings is not None:
            endpoints = self._scan(path, settings, cache)
        try:
            name_clashes(assets, self._names_taken(assets, endpoints))
        except CmdbError as exc:
            raise AnsibleParserError(str(exc)) from None
        self._populate(assets, endpoints)

    def _names_taken(self, assets, endpoints):
        """{name: what it is} of every group and unmanaged host this source would make, and the groups already there.

        A CMDB host of such a name would take the group's place (its variables set on every host of the group),
        so it is refused before anything is added. Groups from keyed_groups depend on the CMDB values: they are
        found by building the inventory once on the side.
        """
        taken = {name: "a group of the inventory" for name in self.inventory.groups}
        _matched, unmatched = match_endpoints(assets, endpoints or [])
        taken.update((unmanaged_name(endpoint), "the name of an endpoint the scan found") for endpoint in unmatched)
        if assets and (self.get_option("keyed_groups") or self.get_option("groups")):
            inventory = self.inventory
            self.inventory = InventoryData()
            try:
                self._populate(assets, endpoints)
                made = set(self.inventory.groups) - {"all", "ungrouped", "managed", "unmanaged"}
            finally:
                self.inventory = inventory
            taken.update((name, "a group made by keyed_groups or groups") for name in made)
        taken.update((name, "a group this plugin makes") for name in ("managed", "unmanaged"))
        return taken

    def _templated(self, option):
        """An option's value, with templates in it rendered (the configuration file is trusted)."""
        value = self.get_option(option)
        if value is None:
            return None
        return self.templar.template(value)

    def _scan(self, path, settings, cache):
        """Endpoints from the cache when it holds a scan with the same settings, else from a new scan."""
        use_cache = bool(self.get_option("cache"))
        key = self.get_cache_key(path) if use_cache else None
        fingerprint = settings.fingerprint()
        if use_cache and cache:
            try:
                cached = self._cache[key]
            except KeyError:
                cached = None
            if isinstance(cached, dict) and cached.get("format") == CACHE_FORMAT and cached.get("scan") == fingerprint:
                self.display.vvv("patchpilot.fleet.assets: scan result of %s from the cache" % path)
                return list(cached.get("endpoints") or [])

        targets = scan_targets(settings)
        self.display.vvv("patchpilot.fleet.assets: probing %d addresses, ports %s (%s)"
                         % (len(targets), ", ".join(str(port) for port in settings.ports), settings.probe))
        if settings.probe == "nmap":
            endpoints = nmap_scan(targets, settings.ports, settings.timeout)
        else:
            endpoints = own_scan(targets, settings.ports, settings.timeout, settings.workers)
        if use_cache:
            self._cache[key] = {"format": CACHE_FORMAT, "scan": fingerprint, "endpoints": endpoints}
        return endpoints

    def _populate(self, assets, endpoints):
        """Add the CMDB hosts and the unmanaged endpoints; ``endpoints`` is None when nothing was scanned."""
        strict = self.get_option("strict")
        matched, unmatched = match_endpoints(assets, endpoints or [])
        host_vars = self.get_option("host_vars") or {}

        if assets:
            self.inventory.add_group("managed")
        for asset in assets:
            name = self.inventory.add_host(wrap_var(asset.hostname), group="managed")
            variables = dict(host_vars)
            if asset.address:
                variables["ansible_host"] = wrap_var(asset.address)
            if asset.port is not None:
                variables["ansible_port"] = asset.port
            variables["patchpilot_asset"] = wrap_var(asset.fields)
            variables["patchpilot_unmanaged"] = False
            if endpoints is not None:
                variables["patchpilot_endpoints"] = wrap_var(matched[asset.hostname])
            for key, value in variables.items():
                self.inventory.set_variable(name, key, value)

            self._set_composite_vars(self.get_option("compose"), variables, name, strict=strict)
            self._add_host_to_composed_groups(self.get_option("groups"), variables, name, strict=strict)
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), variables, name, strict=strict)

        if endpoints is not None:
            self.inventory.add_group("unmanaged")
        for endpoint in unmatched:
            name = self.inventory.add_host(unmanaged_name(endpoint), group="unmanaged")
            self.inventory.set_variable(name, "ansible_host", wrap_var(endpoint["address"]))
            self.inventory.set_variable(name, "ansible_port", int(endpoint["port"]))
            if endpoint.get("protocol") == "winrm":
                self.inventory.set_variable(name, "ansible_connection", "winrm")
                self.inventory.set_variable(name, "ansible_winrm_scheme", wrap_var(endpoint.get("scheme", "http")))
            self.inventory.set_variable(name, "patchpilot_endpoint", wrap_var(dict(endpoint)))
            self.inventory.set_variable(name, "patchpilot_unmanaged", True)
