"""The patchpilot.fleet.assets inventory plugin, driven the way Ansible drives it: parse(inventory, loader, path).

Scans here are faked (own_scan replaced) except in the probe tests, which talk only to
servers these tests start on 127.0.0.1. The end-to-end run with a real sshd and
ansible-inventory is tests/lab/test_inventory_plugin.py.
"""

import http.server
import socket
import ssl
import subprocess
import threading

import pytest
import yaml
from ansible import constants as C
from ansible.errors import AnsibleError, AnsibleParserError
from ansible.inventory.data import InventoryData
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import fragment_loader, inventory_loader
from ansible.template import Templar, is_trusted_as_template, trust_as_template
from ansible.utils.plugin_docs import add_fragments

from ansible_collections.patchpilot.fleet.plugins.inventory import assets as assets_plugin
from ansible_collections.patchpilot.fleet.plugins.module_utils import cmdb
from support.skips import require_tools

NAME = "patchpilot.fleet.assets"

CMDB_CSV = """\
hostname,fqdn,ip_address,mac_address,os_family,os_distribution,os_version,os_codename,role,location,owner,criticality,data_sensitivity,internet_exposed,ansible_host,ansible_port
web01,web01.lab.patchpilot.test,10.213.0.11,02:50:0a:d5:00:0b,Debian,Debian,11,bullseye,web,dc-east,team-web,medium,public,yes,127.0.0.1,2201
db01,db01.lab.patchpilot.test,10.213.0.12,02:50:0a:d5:00:0c,Debian,Debian,12,bookworm,db,dc-east,team-data,high,confidential,no,127.0.0.1,2202
app02,app02.lab.patchpilot.test,10.213.0.16,02:50:0a:d5:00:10,Debian,Debian,11,bullseye,app,dc-west,team-apps,low,internal,no,127.0.0.1,2206
"""

KEYED_GROUPS = [
    {"key": "patchpilot_asset.role", "prefix": "role"},
    {"key": "patchpilot_asset.location", "prefix": "location"},
    {"key": "'debian' ~ patchpilot_asset.os_version", "separator": ""},
]


@pytest.fixture(scope="module", autouse=True)
def plugin_options():
    """Register the plugin's documented options, as the plugin loader does when it loads a plugin.

    Outside ansible's CLI the collection loader is not installed, so the builtin doc
    fragments are named here without their ansible.builtin prefix.
    """
    doc = yaml.safe_load(assets_plugin.DOCUMENTATION)
    doc["extends_documentation_fragment"] = [name.split(".")[-1] for name in doc["extends_documentation_fragment"]]
    add_fragments(doc, assets_plugin.__file__, fragment_loader=fragment_loader)
    C.config.initialize_plugin_configuration_definitions("inventory", NAME, doc["options"])


def new_plugin():
    plugin = assets_plugin.InventoryModule()
    inventory_loader._update_object(obj=plugin, name=NAME, path=assets_plugin.__file__, resolved=NAME)
    return plugin


@pytest.fixture
def run(tmp_path):
    """Write a config (and cmdb.csv beside it) and parse it; returns the InventoryData."""
    (tmp_path / "cmdb.csv").write_text(CMDB_CSV, encoding="utf-8")

    def parse(config, cache=True, name="fleet.assets.yml"):
        path = tmp_path / name
        path.write_text(yaml.safe_dump(dict({"plugin": NAME}, **config)), encoding="utf-8")
        inventory = InventoryData()
        plugin = new_plugin()
        plugin.parse(inventory, DataLoader(), str(path), cache=cache)
        try:  # what ansible's InventoryManager does after parse()
            plugin.update_cache_if_changed()
        except AttributeError:  # no cache plugin: the cache is off
            pass
        return inventory

    return parse


@pytest.fixture
def scanned(monkeypatch):
    """Replace the network scan with a list of endpoints; records each call's targets and ports."""
    calls = []
    found = []

    def fake_scan(targets, ports, timeout, workers):
        calls.append((targets, ports))
        return [dict(endpoint) for endpoint in found]

    monkeypatch.setattr(assets_plugin, "own_scan", fake_scan)
    return found, calls


def groups_of(inventory):
    return {name: sorted(host.name for host in group.get_hosts()) for name, group in inventory.groups.items()
            if name not in ("all", "ungrouped")}


def hostvars(inventory, host):
    return inventory.get_host(host).get_vars()


# --- files the plugin accepts ---------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "accepted"), [
    ("fleet.assets.yml", True), ("assets.yaml", True), ("lab.assets.yaml", True),
    ("fleet.yml", False), ("assets.json", False), ("fleet.assets.yml.bak", False), ("missing.assets.yml", False),
])
def test_verify_file(tmp_path, name, accepted):
    path = tmp_path / name
    if not name.startswith("missing"):
        path.write_text("plugin: %s\n" % NAME, encoding="utf-8")
    assert new_plugin().verify_file(str(path)) is accepted


def test_plugin_key_must_name_the_plugin(run):
    with pytest.raises(AnsibleParserError, match="Incorrect plugin name in file: community.general.nmap"):
        run({"plugin": "community.general.nmap", "cmdb": "cmdb.csv"})


def test_needs_cmdb_or_scan(run, tmp_path):
    with pytest.raises(AnsibleParserError, match="set cmdb, scan.ranges or both"):
        run({"strict": True})


# --- hosts and groups from the CMDB -------------------------------------------------------------------

def test_cmdb_hosts_groups_and_vars(run):
    inventory = run({"cmdb": "cmdb.csv", "keyed_groups": KEYED_GROUPS, "strict": True,
                     "groups": {"internet_exposed": "patchpilot_asset.internet_exposed",
                                "critical_data": "patchpilot_asset.data_sensitivity in ['confidential', 'restricted']"}})
    assert groups_of(inventory) == {
        "managed": ["app02", "db01", "web01"],
        "role_web": ["web01"], "role_db": ["db01"], "role_app": ["app02"],
        "location_dc_east": ["db01", "web01"], "location_dc_west": ["app02"],
        "debian11": ["app02", "web01"], "debian12": ["db01"],
        "internet_exposed": ["web01"], "critical_data": ["db01"],
    }
    web01 = hostvars(inventory, "web01")
    assert web01["ansible_host"] == "127.0.0.1" and web01["ansible_port"] == 2201
    assert web01["patchpilot_unmanaged"] is False
    assert "patchpilot_endpoints" not in web01  # nothing was scanned
    assert web01["patchpilot_asset"] == {
        "hostname": "web01", "fqdn": "web01.lab.patchpilot.test", "ip_address": "10.213.0.11",
        "mac_address": "02:50:0a:d5:00:0b", "os_family": "Debian", "os_distribution": "Debian", "os_version": "11",
        "os_codename": "bullseye", "role": "web", "location": "dc-east", "owner": "team-web", "criticality": "medium",
        "data_sensitivity": "public", "internet_exposed": True, "ansible_host": "127.0.0.1", "ansible_port": 2201,
    }


def test_yaml_cmdb_and_path_relative_to_config(run, tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "export.yaml").write_text(
        "assets:\n  - {hostname: win01, ip_address: 10.0.0.7, os_family: Windows, role: ad}\n", encoding="utf-8")
    inventory = run({"cmdb": "sub/export.yaml"})
    assert groups_of(inventory) == {"managed": ["win01"]}
    assert hostvars(inventory, "win01")["ansible_host"] == "10.0.0.7"
    assert "ansible_port" not in hostvars(inventory, "win01")


def test_host_vars_compose_and_precedence(run):
    inventory = run({
        "cmdb": "cmdb.csv",
        "host_vars": {"ansible_user": "patchpilot", "ansible_become": True, "ansible_port": 22,
                      "ansible_python_interpreter": "/usr/bin/python3"},
        "compose": {"patchpilot_tier": "patchpilot_asset.criticality | upper",
                    "ansible_user": "'svc_' ~ patchpilot_asset.role"},
    })
    web01 = hostvars(inventory, "web01")
    assert web01["ansible_become"] is True and web01["ansible_python_interpreter"] == "/usr/bin/python3"
    assert web01["ansible_port"] == 2201  # the CMDB's port wins over host_vars
    assert web01["ansible_user"] == "svc_web"  # compose wins over host_vars
    assert web01["patchpilot_tier"] == "MEDIUM"


@pytest.mark.parametrize(("option", "value", "error"), [
    ("keyed_groups", [{"key": "patchpilot_asset.no_such_column", "prefix": "x"}],
     "Could not generate group for host web01 from patchpilot_asset.no_such_column entry: "
     "object of type 'dict' has no attribute 'no_such_column'"),
    ("keyed_groups", [{"key": "no_such_variable", "prefix": "x"}],
     "Could not generate group for host web01 from no_such_variable entry: 'no_such_variable' is undefined"),
    ("groups", {"g": "no_such_variable"}, "Could not add host web01 to group g: Error while evaluating conditional: 'no_such_variable' is undefined"),
    ("compose", {"y": "no_such_variable + 1"}, "Could not set y for host web01: 'no_such_variable' is undefined"),
])
def test_strict(run, option, value, error):
    config = {"cmdb": "cmdb.csv", option: value}
    inventory = run(dict(config, strict=False))
    assert groups_of(inventory) == {"managed": ["app02", "db01", "web01"]}
    assert "y" not in hostvars(inventory, "web01")
    with pytest.raises(AnsibleError) as info:
        run(dict(config, strict=True))
    assert info.value.message.startswith(error)


def test_strict_keyed_group_on_an_empty_column_needs_default_value(run, tmp_path):
    (tmp_path / "cmdb.csv").write_text("hostname,ip_address,owner\nweb01,10.0.0.1,team-web\ndb01,10.0.0.2,\n", encoding="utf-8")
    keyed = {"key": "patchpilot_asset.owner", "prefix": "owner"}
    with pytest.raises(AnsibleParserError, match="No key or key resulted empty for patchpilot_asset.owner in host db01"):
        run({"cmdb": "cmdb.csv", "strict": True, "keyed_groups": [keyed]})
    inventory = run({"cmdb": "cmdb.csv", "strict": True, "keyed_groups": [dict(keyed, default_value="unknown")]})
    assert groups_of(inventory) == {"managed": ["db01", "web01"], "owner_team_web": ["web01"], "owner_unknown": ["db01"]}


def test_bad_cmdb_fails_with_file_line_and_reason(run, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("hostname,ip_address,mac_address\nweb01,10.0.0.300,02:50:0a:d5:00:0b\nweb01,10.0.0.2,nope\n",
                   encoding="utf-8")
    with pytest.raises(AnsibleParserError) as info:
        run({"cmdb": "bad.csv"})
    assert str(info.value.message) == (
        "CMDB %s has 3 problems:\n"
        "  %s:2: ip_address: '10.0.0.300' is not a valid IP address\n"
        "  %s:3: mac_address: 'nope' is not a valid MAC address (xx:xx:xx:xx:xx:xx)\n"
        "  %s:3: duplicate hostname web01 (first on line 2)" % ((bad,) * 4)
    )


def test_bad_scan_settings_fail(run, tmp_path):
    with pytest.raises(AnsibleParserError, match=r"fleet\.assets\.yml: scan\.ranges cover 65536 addresses, "
                                                 r"more than scan\.max_hosts \(256\)"):
        run({"cmdb": "cmdb.csv", "scan": {"ranges": ["10.1.0.0/16"]}})


# --- outside data is never a template ----------------------------------------------------------------------

def test_cmdb_and_banner_text_is_not_trusted_as_template(run, scanned, monkeypatch):
    """Even if a reader handed over text marked as template, the plugin strips the mark (wrap_var)."""
    payload = "{{ lookup('pipe', 'touch /tmp/patchpilot-pwned') }}"
    read_cmdb = cmdb.read_cmdb

    def trusting_reader(path):
        records = read_cmdb(path)
        for record in records:
            record.fields["owner"] = trust_as_template(payload)
        return records

    monkeypatch.setattr(assets_plugin, "read_cmdb", trusting_reader)
    found, _calls = scanned
    found.append({"address": "127.0.0.1", "port": 2222, "protocol": "ssh", "banner": trust_as_template("SSH-2.0-{{ 7 * 7 }}")})
    inventory = run({"cmdb": "cmdb.csv", "scan": {"ranges": ["127.0.0.1"]}, "compose": {"owner_copy": "patchpilot_asset.owner"}})

    owner = hostvars(inventory, "web01")["patchpilot_asset"]["owner"]
    banner = hostvars(inventory, "unmanaged_127_0_0_1_2222")["patchpilot_endpoint"]["banner"]
    copy = hostvars(inventory, "web01")["owner_copy"]
    assert (owner, copy, banner) == (payload, payload, "SSH-2.0-{{ 7 * 7 }}")
    assert not any(is_trusted_as_template(value) for value in (owner, copy, banner))
    templar = Templar(loader=DataLoader(), variables={"owner": owner, "banner": banner})
    assert templar.template(trust_as_template("{{ owner }} {{ banner }}")) == payload + " SSH-2.0-{{ 7 * 7 }}"


# --- scanned endpoints ---------------------------------------------------------------------------------

def test_scan_merges_endpoints(run, scanned):
    found, calls = scanned
    found.extend([
        {"address": "127.0.0.1", "port": 2201, "protocol": "ssh", "banner": "SSH-2.0-OpenSSH_8.4p1 Debian-5+deb11u3"},
        {"address": "127.0.0.1", "port": 40222, "protocol": "ssh", "banner": "SSH-2.0-OpenSSH_9.2p1"},
        {"address": "127.0.0.2", "port": 5986, "protocol": "winrm", "scheme": "https", "banner": "HTTP/1.1 404 Not Found"},
    ])
    inventory = run({"cmdb": "cmdb.csv", "keyed_groups": KEYED_GROUPS, "strict": True,
                     "scan": {"ranges": ["127.0.0.1", "127.0.0.2/32"], "ports": [2201, 40222, 5986]}})
    assert calls == [(["127.0.0.1", "127.0.0.2"], [2201, 40222, 5986])]
    groups = groups_of(inventory)
    assert groups["unmanaged"] == ["unmanaged_127_0_0_1_40222", "unmanaged_127_0_0_2_5986"]
    assert groups["managed"] == ["app02", "db01", "web01"]
    assert not any(name.startswith("role_") and "unmanaged" in str(hosts) for name, hosts in groups.items())

    assert hostvars(inventory, "web01")["patchpilot_endpoints"] == [found[0]]
    assert hostvars(inventory, "db01")["patchpilot_endpoints"] == []  # scanned, not seen
    ssh_host = hostvars(inventory, "unmanaged_127_0_0_1_40222")
    assert {key: ssh_host[key] for key in ("ansible_host", "ansible_port", "patchpilot_endpoint", "patchpilot_unmanaged")} == {
        "ansible_host": "127.0.0.1", "ansible_port": 40222, "patchpilot_unmanaged": True,
        "patchpilot_endpoint": {"address": "127.0.0.1", "port": 40222, "protocol": "ssh", "banner": "SSH-2.0-OpenSSH_9.2p1"},
    }
    assert "ansible_connection" not in ssh_host
    winrm_host = hostvars(inventory, "unmanaged_127_0_0_2_5986")
    assert (winrm_host["ansible_connection"], winrm_host["ansible_winrm_scheme"]) == ("winrm", "https")


def test_scan_without_cmdb(run, scanned):
    found, _calls = scanned
    found.append({"address": "127.0.0.1", "port": 22, "protocol": "ssh", "banner": "SSH-2.0-x"})
    inventory = run({"scan": {"ranges": ["127.0.0.1"]}})
    assert groups_of(inventory) == {"unmanaged": ["unmanaged_127_0_0_1_22"]}


def test_cache(run, scanned, tmp_path):
    found, calls = scanned
    found.append({"address": "127.0.0.1", "port": 40222, "protocol": "ssh", "banner": "SSH-2.0-x"})
    config = {"cmdb": "cmdb.csv", "scan": {"ranges": ["127.0.0.1"], "ports": [40222]}, "cache": True,
              "cache_plugin": "jsonfile", "cache_connection": str(tmp_path / "cache")}

    assert "unmanaged_127_0_0_1_40222" in run(config).hosts
    assert len(calls) == 1 and len(list((tmp_path / "cache").iterdir())) == 1

    found.clear()  # the endpoint is gone, but the cached scan still lists it
    assert "unmanaged_127_0_0_1_40222" in run(config).hosts
    assert len(calls) == 1

    assert "unmanaged_127_0_0_1_40222" not in run(config, cache=False).hosts  # --flush-cache
    assert len(calls) == 2

    found.append({"address": "127.0.0.1", "port": 40222, "protocol": "ssh", "banner": "SSH-2.0-x"})
    assert "unmanaged_127_0_0_1_40222" not in run(config).hosts  # the new (empty) result was cached
    assert len(calls) == 2

    changed = dict(config, scan={"ranges": ["127.0.0.1"], "ports": [40222, 22]})
    assert "unmanaged_127_0_0_1_40222" in run(changed).hosts  # other ports: the cached scan does not apply
    assert len(calls) == 3


def test_cmdb_is_read_even_with_a_cached_scan(run, scanned, tmp_path):
    config = {"cmdb": "cmdb.csv", "scan": {"ranges": ["127.0.0.1"]}, "cache": True,
              "cache_plugin": "jsonfile", "cache_connection": str(tmp_path / "cache")}
    run(config)
    (tmp_path / "cmdb.csv").write_text(CMDB_CSV + "new01,,10.213.0.99,,,,,,,,,,,,,\n", encoding="utf-8")
    assert "new01" in run(config).hosts
    assert len(scanned[1]) == 1


# --- the own probe, against servers on 127.0.0.1 -----------------------------------------------------------

def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LoopbackServer:
    """A TCP server on 127.0.0.1 that greets each connection with ``greeting`` (maybe nothing) and closes."""

    def __init__(self, greeting=b"", wrap=None):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.greeting = greeting
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn = self.sock.accept()[0]
            except OSError:
                return
            with conn:
                try:
                    if self.greeting:
                        conn.sendall(self.greeting)
                    conn.settimeout(2)
                    conn.recv(1024)
                except OSError:
                    pass

    def close(self):
        self.sock.close()


@pytest.fixture
def http_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def https_server(tmp_path, http_server):
    openssl = require_tools("openssl", hint="to make a certificate")["openssl"]
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-subj", "/CN=localhost", "-days", "1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert), str(key))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_probe_ssh_banner():
    server = LoopbackServer(b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u7\r\n")
    try:
        assert assets_plugin.probe_endpoint("127.0.0.1", server.port, 2.0) == {
            "address": "127.0.0.1", "port": server.port, "protocol": "ssh", "banner": "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u7",
        }
    finally:
        server.close()


def test_probe_winrm_over_http(http_server):
    port = http_server.server_address[1]
    endpoint = assets_plugin.probe_endpoint("127.0.0.1", port, 0.5)
    assert (endpoint["protocol"], endpoint["scheme"]) == ("winrm", "http")
    assert endpoint["banner"].startswith("HTTP/1.0 501 Unsupported method ('GET'); Server: BaseHTTP/")


def test_probe_winrm_over_https(https_server):
    endpoint = assets_plugin.probe_endpoint("127.0.0.1", https_server.server_address[1], 0.5)
    assert (endpoint["protocol"], endpoint["scheme"]) == ("winrm", "https")


@pytest.mark.parametrize("greeting", [b"220 mail.example ESMTP\r\n", b""])
def test_probe_ignores_other_services(greeting):
    server = LoopbackServer(greeting)
    try:
        assert assets_plugin.probe_endpoint("127.0.0.1", server.port, 0.3) is None
    finally:
        server.close()


def test_probe_closed_port():
    assert assets_plugin.probe_endpoint("127.0.0.1", free_port(), 0.5) is None


def test_own_scan_over_loopback_ports(http_server):
    ssh_server = LoopbackServer(b"SSH-2.0-test\r\n")
    closed = free_port()
    try:
        found = assets_plugin.own_scan(["127.0.0.1"], [closed, ssh_server.port, http_server.server_address[1]], 0.5, 4)
    finally:
        ssh_server.close()
    assert sorted((e["port"], e["protocol"]) for e in found) == sorted(
        [(ssh_server.port, "ssh"), (http_server.server_address[1], "winrm")])


def test_nmap_missing(monkeypatch):
    monkeypatch.setattr(assets_plugin.shutil, "which", lambda name: None)
    with pytest.raises(AnsibleParserError, match="the nmap command is not installed"):
        assets_plugin.nmap_scan(["127.0.0.1"], [22], 1.0)
