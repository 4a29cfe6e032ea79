"""CMDB parsing and checks (module_utils/cmdb.py); scan settings, nmap output and endpoint matching (module_utils/netscan.py)."""

import ipaddress
from pathlib import Path

import pytest

from ansible_collections.patchpilot.fleet.plugins.module_utils import cmdb as cmdb_module
from ansible_collections.patchpilot.fleet.plugins.module_utils.cmdb import (
    HOSTNAME_MAX,
    COLUMNS,
    Asset,
    CmdbError,
    column_name,
    parse_csv,
    parse_yaml,
    read_cmdb,
)
from ansible_collections.patchpilot.fleet.plugins.module_utils.netscan import (
    ConfigError,
    banner_text,
    classify_response,
    http_banner,
    match_endpoints,
    parse_nmap_xml,
    scan_settings,
    scan_targets,
    unmanaged_name,
)

# The CMDB `lab up` writes (inventories/lab/cmdb.csv), two of its six rows.
LAB_CSV = """\
hostname,fqdn,ip_address,mac_address,os_family,os_distribution,os_version,os_codename,role,location,owner,criticality,data_sensitivity,internet_exposed,ansible_host,ansible_port
web01,web01.lab.patchpilot.test,10.213.0.11,02:50:0a:d5:00:0b,Debian,Debian,11,bullseye,web,dc-east,team-web,medium,public,yes,127.0.0.1,2201
db01,db01.lab.patchpilot.test,10.213.0.12,02:50:0a:d5:00:0c,Debian,Debian,12,bookworm,db,dc-east,team-data,high,confidential,no,127.0.0.1,2202
"""

# The same two assets as YAML; YAML's own types (numbers, yes/no) are normalised the same way.
LAB_YAML = """\
assets:
  - hostname: web01
    fqdn: web01.lab.patchpilot.test
    ip_address: 10.213.0.11
    mac_address: 02:50:0A:D5:00:0B
    os_family: Debian
    os_distribution: Debian
    os_version: 11
    os_codename: bullseye
    role: web
    location: dc-east
    owner: team-web
    criticality: Medium
    data_sensitivity: public
    internet_exposed: yes
    ansible_host: 127.0.0.1
    ansible_port: 2201
  - hostname: db01
    fqdn: db01.lab.patchpilot.test
    ip_address: 10.213.0.12
    mac_address: 02-50-0a-d5-00-0c
    os_family: Debian
    os_distribution: Debian
    os_version: "12"
    os_codename: bookworm
    role: db
    location: dc-east
    owner: team-data
    criticality: high
    data_sensitivity: confidential
    internet_exposed: "no"
    ansible_host: 127.0.0.1
    ansible_port: "2202"
"""

WEB01 = {
    "hostname": "web01", "fqdn": "web01.lab.patchpilot.test", "ip_address": "10.213.0.11",
    "mac_address": "02:50:0a:d5:00:0b", "os_family": "Debian", "os_distribution": "Debian", "os_version": "11",
    "os_codename": "bullseye", "role": "web", "location": "dc-east", "owner": "team-web", "criticality": "medium",
    "data_sensitivity": "public", "internet_exposed": True, "ansible_host": "127.0.0.1", "ansible_port": 2201,
}


def problems_of(parse, text, source="cmdb"):
    with pytest.raises(CmdbError) as info:
        parse(text, source)
    return info.value.problems


# --- reading good files ----------------------------------------------------------------------------

def test_lab_csv():
    assets = parse_csv(LAB_CSV, "cmdb.csv")
    assert [asset.hostname for asset in assets] == ["web01", "db01"]
    assert assets[0].fields == WEB01
    assert (assets[0].source, assets[0].line, assets[1].line) == ("cmdb.csv", 2, 3)
    assert (assets[0].address, assets[0].port) == ("127.0.0.1", 2201)
    assert assets[1].fields["internet_exposed"] is False


def test_yaml_gives_the_same_records_as_csv():
    from_csv = [asset.fields for asset in parse_csv(LAB_CSV, "cmdb.csv")]
    from_yaml = [asset.fields for asset in parse_yaml(LAB_YAML, "cmdb.yml")]
    assert from_yaml == from_csv
    assert [asset.line for asset in parse_yaml(LAB_YAML, "cmdb.yml")] == [2, 18]


def test_yaml_top_level_list():
    assets = parse_yaml("- hostname: a\n  ip_address: 10.0.0.1\n- {hostname: b, ansible_host: b.example.org}\n", "c.yml")
    assert [(asset.hostname, asset.address, asset.port) for asset in assets] == [("a", "10.0.0.1", None), ("b", "b.example.org", None)]


@pytest.mark.parametrize("text", ["", "[]", "assets: []", "assets:\n"])
def test_yaml_without_assets(text):
    assert parse_yaml(text, "c.yml") == []


def test_every_known_column_is_present_and_empty_cells_are_none():
    (asset,) = parse_csv("hostname,ip_address,owner\nweb01,10.0.0.1,  \n", "c.csv")
    assert set(asset.fields) == set(COLUMNS)
    assert asset.fields["owner"] is None and asset.fields["fqdn"] is None


def test_extra_columns_are_kept_and_headers_normalised():
    (asset,) = parse_csv(" HostName ,IP-Address,Rack Unit,patch window\nweb01,10.0.0.1,12, sun 02:00 \n", "c.csv")
    assert asset.hostname == "web01"
    assert asset.fields["ip_address"] == "10.0.0.1"
    assert asset.fields["rack_unit"] == "12" and asset.fields["patch_window"] == "sun 02:00"


def test_csv_with_bom_crlf_blank_lines_and_quoted_newline():
    text = "\r\nhostname,ip_address,owner\r\nweb01,10.0.0.1,\"team\r\nweb\"\r\n\r\ndb01,10.0.0.2,x\r\n"
    assets = parse_csv(text, "c.csv")
    assert [(asset.hostname, asset.line) for asset in assets] == [("web01", 3), ("db01", 6)]
    assert assets[0].fields["owner"] == "team\r\nweb"


def test_read_cmdb_by_suffix(tmp_path):
    csv_file = tmp_path / "export.CSV"
    csv_file.write_bytes(b"\xef\xbb\xbf" + LAB_CSV.encode())  # spreadsheet exports start with a BOM
    yaml_file = tmp_path / "export.yaml"
    yaml_file.write_text(LAB_YAML, encoding="utf-8")
    assert [a.fields for a in read_cmdb(str(csv_file))] == [a.fields for a in read_cmdb(str(yaml_file))]


def test_ipv6_and_dns_addresses():
    (asset,) = parse_csv("hostname,ip_address,ansible_host\nv6,2001:DB8::0:1,host-1.example.org.\n", "c.csv")
    assert asset.fields["ip_address"] == "2001:db8::1"
    assert asset.address == "host-1.example.org."


# --- bad files: every problem at once, as FILE:LINE: reason ---------------------------------------

BAD_CSV = """\
hostname,ip_address,mac_address,criticality,data_sensitivity,internet_exposed,ansible_port
web01,10.0.0.1,02:50:0a:d5:00:0b,high,public,yes,22
web01,10.0.0.300,02:50:0a:d5:00,urgent,secret,maybe,70000
,10.0.0.3,,,,,
db01,,,,,,
web 02,10.0.0.5,,,,,
app01,10.0.0.6,gg:50:0a:d5:00:0b,low,internal,no,ssh
app02,10.0.0.7
"""


def test_bad_csv_reports_every_problem_with_its_line():
    assert problems_of(parse_csv, BAD_CSV, "bad.csv") == [
        "bad.csv:3: ip_address: '10.0.0.300' is not a valid IP address",
        "bad.csv:3: mac_address: '02:50:0a:d5:00' is not a valid MAC address (xx:xx:xx:xx:xx:xx)",
        "bad.csv:3: criticality: 'urgent' is not one of critical, high, medium, low",
        "bad.csv:3: data_sensitivity: 'secret' is not one of public, internal, confidential, restricted",
        "bad.csv:3: internet_exposed: 'maybe' is not one of yes, true, no, false",
        "bad.csv:3: ansible_port: 70000 is not a port number (1-65535)",
        "bad.csv:3: duplicate hostname web01 (first on line 2)",
        "bad.csv:4: no hostname",
        "bad.csv:5: no address: set ansible_host or ip_address",
        "bad.csv:6: hostname: 'web 02' is not a valid host name (letters, digits, '.', '-', '_')",
        "bad.csv:7: mac_address: 'gg:50:0a:d5:00:0b' is not a valid MAC address (xx:xx:xx:xx:xx:xx)",
        "bad.csv:7: ansible_port: 'ssh' is not a port number",
        "bad.csv:8: 2 fields, the header has 7",
    ]


def test_error_message_names_file_count_and_problems():
    with pytest.raises(CmdbError) as info:
        parse_csv("hostname,ip_address\na,1.2.3\na,1.2.3.4\n", "/srv/cmdb.csv")
    assert str(info.value) == (
        "CMDB /srv/cmdb.csv has 2 problems:\n"
        "  /srv/cmdb.csv:2: ip_address: '1.2.3' is not a valid IP address\n"
        "  /srv/cmdb.csv:3: duplicate hostname a (first on line 2)"
    )


@pytest.mark.parametrize(("text", "problems"), [
    ("fqdn,owner\nweb01.example.org,me\n", ["c.csv:1: missing columns: hostname, ansible_host or ip_address"]),
    ("hostname,owner\nweb01,me\n", ["c.csv:1: missing column: ansible_host or ip_address"]),
    ("ip_address\n10.0.0.1\n", ["c.csv:1: missing column: hostname"]),
    ("\n\nip_address,owner\n", ["c.csv:3: missing column: hostname"]),
    ("hostname,IP Address,ip_address\n", ["c.csv:1: column 3 (ip_address) repeats column 2"]),
    ("hostname,,ip_address\n", ["c.csv:1: column 2 has no name"]),
    ("", ["c.csv:1: empty file, expected a header row"]),
    ("hostname,ip_address\n\"web01,10.0.0.1\n", ["c.csv:2: not valid CSV: unexpected end of data"]),
    ("hostname,ip_address\nWEB01,10.0.0.1\nweb01,10.0.0.2\n", ["c.csv:3: duplicate hostname web01 (first on line 2)"]),
    ("hostname,ansible_host\nweb01,{{ lookup('env','HOME') }}\n",
     ["c.csv:2: 3 fields, the header has 2"]),
    ("hostname,ansible_host\nweb01,\"{{ lookup('env','HOME') }}\"\n",
     ["c.csv:2: ansible_host: \"{{ lookup('env','HOME') }}\" is neither an IP address nor a DNS name"]),
    ("hostname,ip_address,fqdn\nweb01,10.0.0.1,-bad-.example\n", ["c.csv:2: fqdn: '-bad-.example' is not a valid DNS name"]),
    ("hostname,ip_address,ansible_port\nweb01,10.0.0.1,0\n", ["c.csv:2: ansible_port: 0 is not a port number (1-65535)"]),
])
def test_bad_csv(text, problems):
    assert problems_of(parse_csv, text, "c.csv") == problems


BAD_YAML = """\
assets:
  - hostname: web01
    ip_address: 10.0.0.1
  - hostname: web01
    ansible_host: 127.0.0.1
  - ip_address: 10.0.0.3
  - [not, a, mapping]
  - hostname: db01
    owner: team-data

    mac_address: 02:50:0a:d5:00
    internet_exposed: 3
    tags: [a, b]
    ip_address: 10.0.0.4
  - hostname: app01
    ip_address: 10.0.0.5
    criticality: {level: high}
"""


def test_bad_yaml_reports_index_key_and_line():
    assert problems_of(parse_yaml, BAD_YAML, "bad.yml") == [
        "bad.yml:4: assets[1] (web01): duplicate hostname web01 (first on line 2)",
        "bad.yml:6: assets[2]: no hostname",
        "bad.yml:7: assets[3]: expected a mapping of column names to values, got list",
        "bad.yml:11: assets[4] (db01): mac_address: '02:50:0a:d5:00' is not a valid MAC address (xx:xx:xx:xx:xx:xx)",
        "bad.yml:12: assets[4] (db01): internet_exposed: 3 is not one of yes, true, no, false",
        "bad.yml:13: assets[4] (db01): tags: must be a single value, got list",
        "bad.yml:17: assets[5] (app01): criticality: must be text, got dict",
    ]


@pytest.mark.parametrize(("text", "problems"), [
    ("assets: [", ["c.yml:1: not valid YAML: expected the node content, but found '<stream end>'"]),
    ("hostname: web01\n", ["c.yml:1: expected a list of assets, or a mapping with an 'assets' list"]),
    ("assets: {web01: {}}\n", ["c.yml:1: expected a list of assets, or a mapping with an 'assets' list"]),
    ("- hostname:\n  ip_address: 10.0.0.1\n", ["c.yml:1: assets[0]: no hostname"]),
    ("- hostname: web01\n", ["c.yml:1: assets[0] (web01): no address: set ansible_host or ip_address"]),
    ("- hostname: web01\n  ip_address: 10.0.0.1\n  1: x\n", ["c.yml:3: assets[0] (web01): 1 is not a column name"]),
    ("- hostname: web01\n  ip_address: 10.0.0.1\n  Owner: a\n  owner: b\n", ["c.yml:4: assets[0] (web01): key 'owner' repeats owner"]),
    ("- hostname: web01\n  ip_address: !!python/name:os.system\n",
     ["c.yml:2: not valid YAML: could not determine a constructor for the tag 'tag:yaml.org,2002:python/name:os.system'"]),
])
def test_bad_yaml(text, problems):
    assert problems_of(parse_yaml, text, "c.yml") == problems


def test_read_cmdb_file_problems(tmp_path):
    unknown = tmp_path / "cmdb.json"
    unknown.write_text("[]", encoding="utf-8")
    latin1 = tmp_path / "cmdb.csv"
    latin1.write_bytes(b"hostname,ip_address,owner\nweb01,10.0.0.1,M\xfcller\n")
    for path, problem in [
        (unknown, "%s: unknown CMDB format: the file name must end in .csv, .yml or .yaml" % unknown),
        (tmp_path / "missing.csv", "%s: cannot read: No such file or directory" % (tmp_path / "missing.csv")),
        (latin1, "%s:2: not UTF-8 text" % latin1),
    ]:
        with pytest.raises(CmdbError) as info:
            read_cmdb(str(path))
        assert info.value.problems == [problem]


def test_column_name():
    assert [column_name(raw) for raw in (" Data Sensitivity ", "IP-Address", "os_version", "  ")] == [
        "data_sensitivity", "ip_address", "os_version", "",
    ]


# --- scan settings and targets -----------------------------------------------------------------------

def test_scan_defaults():
    settings = scan_settings({"ranges": ["127.0.0.1"]})
    assert settings.ranges == [ipaddress.ip_network("127.0.0.1/32")]
    assert (settings.ports, settings.timeout, settings.max_hosts, settings.probe, settings.workers) == ([22, 5985, 5986], 1.0, 256, "own", 64)
    assert settings.fingerprint() == {"ranges": ["127.0.0.1/32"], "ports": [22, 5985, 5986], "probe": "own"}


@pytest.mark.parametrize("raw", [None, {}, {"ranges": []}, {"ranges": None, "ports": [22]}])
def test_nothing_to_scan(raw):
    assert scan_settings(raw) is None


def test_scan_settings_are_normalised():
    settings = scan_settings({"ranges": "127.0.0.9/30", "ports": ["2222", 22, 22], "timeout": "0.5", "max_hosts": 4,
                              "probe": "nmap", "workers": 8})
    assert settings.ranges == [ipaddress.ip_network("127.0.0.8/30")]
    assert (settings.ports, settings.timeout, settings.max_hosts, settings.probe, settings.workers) == ([2222, 22], 0.5, 4, "nmap", 8)


def test_bad_scan_settings_all_reported():
    with pytest.raises(ConfigError) as info:
        scan_settings({"ranges": ["127.0.0.1", "localhost", "10.0.0.0/33"], "ports": [22, 0, "ssh"], "timeout": -1,
                       "max_hosts": True, "probe": "masscan", "workers": 2.5, "rate": 10})
    assert info.value.problems == [
        "scan: unknown key rate (known: ranges, ports, timeout, max_hosts, probe, workers)",
        "scan.ranges: 'localhost' is not an IP address or CIDR range",
        "scan.ranges: '10.0.0.0/33' is not an IP address or CIDR range",
        "scan.ports: 0 is not a port number (1-65535)",
        "scan.ports: 'ssh' is not a port number",
        "scan.timeout: -1 is out of range (0.01-600)",
        "scan.max_hosts: True is not a number",
        "scan.workers: 2.5 is not a whole number",
        "scan.probe: 'masscan' is not one of own, nmap",
    ]


@pytest.mark.parametrize(("raw", "problem"), [
    ("127.0.0.1", "scan: expected a mapping, got str"),
    ({"ranges": {"a": 1}}, "scan.ranges: expected a list of addresses or CIDR ranges"),
    ({"ranges": ["127.0.0.1"], "ports": []}, "scan.ports: expected a list of port numbers"),
    ({"ranges": ["10.0.0.0/8"]}, "scan.ranges cover 16777216 addresses, more than scan.max_hosts (256)"),
    ({"ranges": ["127.0.0.0/24", "127.0.1.0/24"], "max_hosts": 300}, "scan.ranges cover 512 addresses, more than scan.max_hosts (300)"),
])
def test_bad_scan_setting(raw, problem):
    with pytest.raises(ConfigError) as info:
        scan_settings(raw)
    assert info.value.problems == [problem]


def test_scan_targets():
    settings = scan_settings({"ranges": ["127.0.0.1", "127.0.0.0/30", "127.0.0.2/31", "::1"]})
    assert scan_targets(settings) == ["127.0.0.1", "127.0.0.2", "127.0.0.3", "::1"]


# --- what a probe or nmap saw --------------------------------------------------------------------------

def test_banners():
    assert classify_response(b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u7\r\n") == "ssh"
    assert classify_response(b"220 mail ESMTP\r\n") is None
    assert classify_response(b"") is None
    assert banner_text(b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u7\r\nrest") == "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u7"
    assert banner_text(b"SSH-2.0-x\x00\x1b[31m{{ x }}\r\n") == "SSH-2.0-x??[31m{{ x }}"
    assert http_banner(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nServer: Microsoft-HTTPAPI/2.0\r\n\r\nbody") == \
        "HTTP/1.1 404 Not Found; Server: Microsoft-HTTPAPI/2.0"
    assert http_banner(b"HTTP/1.0 405 Method Not Allowed\r\n\r\n") == "HTTP/1.0 405 Method Not Allowed"
    assert http_banner(b"\x15\x03\x01\x00\x02\x02\x50") is None


FIXTURES = Path(__file__).parent / "fixtures" / "nmap"


def test_parse_nmap_xml():
    assert parse_nmap_xml((FIXTURES / "loopback-ssh-http.xml").read_text(encoding="utf-8")) == [
        {"address": "127.0.0.1", "port": 2201, "protocol": "ssh", "banner": "OpenSSH 8.4p1 Debian 5+deb11u3 (protocol 2.0)"},
        {"address": "127.0.0.1", "port": 18080, "protocol": "winrm", "scheme": "http",
         "banner": "SimpleHTTPServer 0.6 (Python 3.11.7)"},
    ]


def test_parse_nmap_xml_tls_and_other_services():
    text = ("<nmaprun><host><address addr='::1' addrtype='ipv6'/><address addr='00:11:22:33:44:55' addrtype='mac'/><ports>"
            "<port protocol='tcp' portid='5986'><state state='open'/><service name='http' tunnel='ssl' product='Microsoft HTTPAPI httpd'/></port>"
            "<port protocol='tcp' portid='25'><state state='open'/><service name='smtp'/></port>"
            "<port protocol='tcp' portid='22'><state state='filtered'/><service name='ssh'/></port>"
            "</ports></host></nmaprun>")
    assert parse_nmap_xml(text) == [
        {"address": "::1", "port": 5986, "protocol": "winrm", "scheme": "https", "banner": "Microsoft HTTPAPI httpd"},
    ]


@pytest.mark.parametrize(("text", "message"), [
    ("Starting Nmap", "nmap printed no valid XML"),
    ("<html/>", "nmap printed XML that is not an nmap run"),
])
def test_parse_nmap_xml_rejects(text, message):
    with pytest.raises(ValueError, match=message):
        parse_nmap_xml(text)


# --- matching endpoints to assets ------------------------------------------------------------------------

def asset(hostname, **fields):
    record = dict.fromkeys(COLUMNS)
    record.update(hostname=hostname, **fields)
    return Asset(hostname=hostname, fields=record, source="c.csv", line=2)


def ssh(address, port):
    return {"address": address, "port": port, "protocol": "ssh", "banner": "SSH-2.0-x"}


ASSETS = [
    asset("web01", ip_address="10.0.0.11", ansible_host="127.0.0.1", ansible_port=2201),
    asset("db01", ip_address="10.0.0.12", ansible_host="127.0.0.1", ansible_port=2202),
    asset("app01", ansible_host="10.0.0.13"),  # no port: any port on its address
    asset("dns01", ansible_host="dns01.example.org", ansible_port=22),  # names are never resolved
]


@pytest.mark.parametrize(("endpoint", "owners"), [
    (ssh("127.0.0.1", 2201), ["web01"]),  # ansible_host + ansible_port
    (ssh("127.0.0.1", 2202), ["db01"]),
    (ssh("10.0.0.11", 22), ["web01"]),  # the asset's own ip_address, any port
    (ssh("10.0.0.12", 5986), ["db01"]),
    (ssh("10.0.0.13", 22), ["app01"]),  # ansible_host without a port
    (ssh("127.0.0.1", 22), []),  # same address as web01's ansible_host, other port: not web01's
    (ssh("10.0.0.14", 22), []),
])
def test_match_endpoints(endpoint, owners):
    matched, unmatched = match_endpoints(ASSETS, [endpoint])
    assert [hostname for hostname, found in matched.items() if found] == owners
    assert unmatched == ([] if owners else [endpoint])
    assert set(matched) == {"web01", "db01", "app01", "dns01"}


def test_match_endpoints_sorted_and_ipv6_normalised():
    assets = [asset("v6", ip_address="2001:db8::1")]
    endpoints = [ssh("127.0.0.2", 22), ssh("2001:db8:0::1", 22), ssh("127.0.0.1", 2222), ssh("127.0.0.1", 22)]
    matched, unmatched = match_endpoints(assets, endpoints)
    assert matched == {"v6": [ssh("2001:db8:0::1", 22)]}
    assert [(e["address"], e["port"]) for e in unmatched] == [("127.0.0.1", 22), ("127.0.0.1", 2222), ("127.0.0.2", 22)]


def test_unmanaged_name():
    assert unmanaged_name(ssh("127.0.0.1", 40222)) == "unmanaged_127_0_0_1_40222"
    assert unmanaged_name(ssh("fe80::1", 22)) == "unmanaged_fe80_1_22"


# --- hostile input (issue #10) ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["all", "ungrouped", "managed", "unmanaged", "localhost", "127.0.0.1",
                                  "ALL", "Localhost", "localhost.", "managed."])
def test_a_host_cannot_take_a_reserved_name(name):
    text = "hostname,ip_address\nweb01,10.0.0.1\n%s,10.0.0.2\n" % name
    [problem] = problems_of(parse_csv, text, "c.csv")
    assert problem.startswith("c.csv:3: hostname: %r is " % name)
    assert problem.endswith(": a host cannot have that name")
    [problem] = problems_of(parse_yaml, "- {hostname: web01, ip_address: 10.0.0.1}\n- {hostname: %s, ip_address: 10.0.0.2}\n"
                            % name, "c.yml")
    assert problem.startswith("c.yml:2: assets[1]")


def test_hostname_longest_is_what_a_run_record_file_name_holds():
    assert HOSTNAME_MAX == 250
    fits = "h" * HOSTNAME_MAX
    assert [asset.hostname for asset in parse_csv("hostname,ip_address\n%s,10.0.0.1\n" % fits, "c.csv")] == [fits]
    [problem] = problems_of(parse_csv, "hostname,ip_address\n%s,10.0.0.1\n" % (fits + "h"), "c.csv")
    assert problem.startswith("c.csv:2: hostname: 'hhhhh")
    assert problem.endswith("is 251 characters long, more than the 250 a run record can name a file after")
    assert len(problem) < 200  # a short prefix of the name, not all of it


def test_a_name_with_a_final_newline_is_not_a_name():
    for pattern in (cmdb_module._HOSTNAME_RE, cmdb_module._DNS_LABEL_RE):
        assert pattern.match("web01") and not pattern.match("web01\n")
    assert cmdb_module._MAC_RE.match("02:50:0a:d5:00:0b") and not cmdb_module._MAC_RE.match("02:50:0a:d5:00:0b\n")


def test_a_final_dot_does_not_make_another_host():
    assert problems_of(parse_csv, "hostname,ip_address\nweb01,10.0.0.1\nWEB01.,10.0.0.2\n", "c.csv") == [
        "c.csv:3: duplicate hostname WEB01. (first on line 2)"]


@pytest.mark.parametrize(("address", "accepted"), [
    ("fe80::1%eth0", True), ("fe80::1%2", True), ("fe80::1%br-lan.10", True),
    ("fe80::1%$(reboot)", False), ("fe80::1%a b", False), ("fe80::1%", False), ("fe80::1%;x", False),
    ("fe80::1%\u00e9th0", False),
])
def test_ipv6_zone_is_an_interface_name(address, accepted):
    text = "hostname,ip_address,ansible_host\nweb01,%s,%s\n" % (address, address)
    if accepted:
        [asset] = parse_csv(text, "c.csv")
        assert asset.fields["ip_address"] == asset.address == address
    else:
        assert problems_of(parse_csv, text, "c.csv") == [
            "c.csv:2: ip_address: %r is not a valid IP address" % address,
            "c.csv:2: ansible_host: %r is neither an IP address nor a DNS name" % address]


@pytest.mark.parametrize("port", ["2\u0662", "\uff12\uff12", "\x1c22", "+22", "-0"])
def test_port_is_ascii_digits(port):
    problems = problems_of(parse_csv, "hostname,ip_address,ansible_port\nweb01,10.0.0.1,%s\n" % port, "c.csv")
    assert problems == ["c.csv:2: ansible_port: %r is not a port number" % port]


def test_port_from_yaml_is_the_number_written():
    [asset] = parse_yaml("- {hostname: web01, ip_address: 10.0.0.1, ansible_port: 2201}\n", "c.yml")
    assert asset.port == 2201
    assert problems_of(parse_yaml, "- {hostname: web01, ip_address: 10.0.0.1, ansible_port: 0x16}\n", "c.yml") == [
        "c.yml:1: assets[0] (web01): ansible_port: '0x16' is not a port number"]


def test_yaml_text_columns_keep_the_text_as_written():
    text = ("- hostname: 0x1F\n  ip_address: 10.0.0.1\n  os_version: 1.10\n  os_codename: no\n"
            "  mac_address: 10:20:30:40:50:60\n  internet_exposed: yes\n  rack: 0x10\n")
    [asset] = parse_yaml(text, "c.yml")
    assert asset.hostname == "0x1F"
    assert (asset.fields["os_version"], asset.fields["os_codename"], asset.fields["mac_address"]) == (
        "1.10", "no", "10:20:30:40:50:60")
    assert asset.fields["internet_exposed"] is True
    assert asset.fields["rack"] == 16  # a column patchpilot does not know is kept as YAML reads it


@pytest.mark.parametrize(("text", "problems"), [
    ("- hostname: web01\n  ip_address: 10.0.0.1\n  hostname: db01\n", ["c.yml:3: duplicate key 'hostname'"]),
    ("assets: []\nassets:\n  - {hostname: web01, ip_address: 10.0.0.1}\n", ["c.yml:2: duplicate key 'assets'"]),
    ("- &a {hostname: web01, ip_address: 10.0.0.1, x: &b [*a]}\n",
     ["c.yml:1: the alias *a refers to the node it is in (a recursive structure)"]),
    ("[" * 65 + "]" * 65 + "\n", ["c.yml:1: nested more than 64 levels deep"]),
    ("- " * 2000 + "x\n", ["c.yml:1: nested more than 64 levels deep"]),
])
def test_hostile_yaml_is_refused_with_the_line(text, problems):
    assert problems_of(parse_yaml, text, "c.yml") == problems


def test_yaml_alias_bomb_is_refused_before_it_is_expanded():
    lines = ["- {hostname: web01, ip_address: 10.0.0.1, x: &l0 [a, a, a, a, a, a, a, a, a, a]}"]
    lines += ["- {hostname: web%02d, ip_address: 10.0.0.1, x: &l%d [%s]}" % (level + 1, level, ", ".join(["*l%d" % (level - 1)] * 10))
              for level in range(1, 9)]
    problems = problems_of(parse_yaml, "\n".join(lines) + "\n", "c.yml")
    assert len(problems) == 1 and problems[0].endswith(": aliases would expand the document by more than 10000 nodes")
