"""The patchpilot.fleet.assets inventory plugin end to end, through ansible-inventory, ansible and ansible-doc.

Needs no lab: every scan here is of 127.0.0.1 only, where the tests start their own
sshd on a random free port that no file lists, and the plugin must find it.
Needs root (sshd) and /usr/sbin/sshd; `probe: nmap` cases need the nmap command.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from labkit import ROOT, VENV_BIN
from support.skips import require, require_tools

SSHD = Path("/usr/sbin/sshd")  # sshd re-executes itself, so it must be started by its absolute path

CMDB_CSV = """\
hostname,fqdn,ip_address,mac_address,os_family,os_distribution,os_version,os_codename,role,location,owner,criticality,data_sensitivity,internet_exposed,ansible_host,ansible_port
web01,web01.lab.patchpilot.test,10.213.9.11,02:50:0a:d5:09:0b,Debian,Debian,11,bullseye,web,dc-east,team-web,medium,public,yes,127.0.0.1,{web01_port}
db01,db01.lab.patchpilot.test,10.213.9.12,02:50:0a:d5:09:0c,Debian,Debian,12,bookworm,db,dc-east,team-data,high,confidential,no,127.0.0.1,{db01_port}
app01,app01.lab.patchpilot.test,10.213.9.13,02:50:0a:d5:09:0d,Debian,Debian,13,trixie,app,dc-west,team-apps,low,internal,no,127.0.0.1,{app01_port}
"""

KEYED_GROUPS = [
    {"key": "patchpilot_asset.role", "prefix": "role"},
    {"key": "patchpilot_asset.location", "prefix": "location"},
    {"key": "patchpilot_asset.criticality", "prefix": "criticality"},
    {"key": "patchpilot_asset.os_codename"},
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ssh_banner(port: int) -> bytes:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            return sock.recv(64)
    except OSError:
        return b""


@contextlib.contextmanager
def loopback_sshd(directory: Path):
    """Run an sshd on 127.0.0.1 on a random free port (nobody can log in); yields the port."""
    require(os.geteuid() == 0, "starting sshd needs root")
    require(SSHD.exists(), "needs %s (Debian package openssh-server)" % SSHD)
    directory.mkdir(parents=True, exist_ok=True)
    key = directory / "ssh_host_ed25519_key"
    if not key.exists():
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation directory
    for _attempt in range(5):  # another process may take the free port before sshd binds it
        port = free_port()
        config = directory / "sshd_config"
        config.write_text("\n".join([
            "ListenAddress 127.0.0.1", "Port %d" % port, "HostKey %s" % key, "PidFile %s" % (directory / "sshd.pid"),
            "UsePAM no", "PasswordAuthentication no", "KbdInteractiveAuthentication no",
            "AuthenticationMethods publickey", "AuthorizedKeysFile none", "PermitRootLogin no", "LogLevel ERROR", "",
        ]), encoding="utf-8")
        proc = subprocess.Popen([str(SSHD), "-D", "-e", "-f", str(config)],  # pylint: disable=consider-using-with
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and proc.poll() is None and not ssh_banner(port).startswith(b"SSH-"):
            time.sleep(0.05)
        if proc.poll() is None and ssh_banner(port).startswith(b"SSH-"):
            break
        proc.kill()
        _out, err = proc.communicate(timeout=10)
    else:
        pytest.fail("sshd did not start: %s" % err.decode(errors="replace"))
    try:
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        if proc.stderr:
            proc.stderr.close()


@pytest.fixture(scope="module")
def sshd_ports(tmp_path_factory):
    """Two sshds: one the CMDB lists (app01's ansible_port), one that no file lists."""
    base = tmp_path_factory.mktemp("sshd")
    with loopback_sshd(base / "listed") as listed, loopback_sshd(base / "unlisted") as unlisted:
        yield listed, unlisted


def ansible_env(**extra: str) -> dict:
    env = dict(os.environ)
    env.update({
        "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),  # resolves patchpilot.fleet from this checkout
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "1",  # a source that fails to parse fails the command
    })
    env.update(extra)
    return env


def run(tool: str, *args: str, **extra_env: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(VENV_BIN / tool), *args], cwd=ROOT, env=ansible_env(**extra_env),
                          capture_output=True, text=True, timeout=300, check=False)


def plain(value):
    """ansible-inventory --list output without its unsafe markers ({"__ansible_unsafe": text} -> text)."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def inventory_list(config: Path, *args: str, **extra_env: str) -> dict:
    proc = run("ansible-inventory", "-i", str(config), "--list", *args, **extra_env)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def hosts_of(listing: dict, group: str) -> list:
    return sorted(listing.get(group, {}).get("hosts", []))


@pytest.fixture
def write_config(tmp_path):
    def write(config: dict, cmdb: str | None = None, name: str = "fleet.assets.yml") -> Path:
        if cmdb is not None:
            (tmp_path / "cmdb.csv").write_text(cmdb, encoding="utf-8")
        path = tmp_path / name
        path.write_text(yaml.safe_dump(dict({"plugin": "patchpilot.fleet.assets"}, **config), sort_keys=False),
                        encoding="utf-8")
        return path
    return write


def cmdb_for(app01_port: int) -> str:
    # web01 and db01 name ports that nothing listens on; they are not scanned.
    return CMDB_CSV.format(web01_port=1, db01_port=2, app01_port=app01_port)


@pytest.mark.parametrize("probe", ["own", "nmap"])
def test_groups_from_cmdb_and_scan_finds_an_unlisted_sshd(sshd_ports, write_config, probe):
    listed, unlisted = sshd_ports
    if probe == "nmap":
        require_tools("nmap", hint="probe: nmap; Debian package nmap")
    cmdb = cmdb_for(listed)
    assert str(unlisted) not in cmdb
    config = write_config({
        "cmdb": "cmdb.csv",
        "strict": True,
        "keyed_groups": KEYED_GROUPS,
        "groups": {"internet_exposed": "patchpilot_asset.internet_exposed"},
        "host_vars": {"ansible_user": "patchpilot"},
        "scan": {"ranges": ["127.0.0.1/32"], "ports": [listed, unlisted], "timeout": 2, "probe": probe},
    }, cmdb=cmdb)

    listing = inventory_list(config)
    hostvars = plain(listing["_meta"]["hostvars"])

    # Groups built from CMDB metadata by keyed_groups and groups.
    assert hosts_of(listing, "managed") == ["app01", "db01", "web01"]
    assert hosts_of(listing, "role_web") == ["web01"]
    assert hosts_of(listing, "role_db") == ["db01"]
    assert hosts_of(listing, "location_dc_east") == ["db01", "web01"]
    assert hosts_of(listing, "location_dc_west") == ["app01"]
    assert hosts_of(listing, "criticality_high") == ["db01"]
    assert hosts_of(listing, "_trixie") == ["app01"]
    assert hosts_of(listing, "internet_exposed") == ["web01"]
    assert hostvars["db01"]["ansible_user"] == "patchpilot"
    assert hostvars["db01"]["patchpilot_asset"]["data_sensitivity"] == "confidential"

    # The sshd no file lists is found and reported as unmanaged.
    name = "unmanaged_127_0_0_1_%d" % unlisted
    assert hosts_of(listing, "unmanaged") == [name]
    found = hostvars[name]
    assert (found["ansible_host"], found["ansible_port"], found["patchpilot_unmanaged"]) == ("127.0.0.1", unlisted, True)
    assert found["patchpilot_endpoint"]["protocol"] == "ssh"
    assert "OpenSSH" in found["patchpilot_endpoint"]["banner"]
    assert name not in json.dumps({group: data for group, data in listing.items() if group not in ("_meta", "all", "unmanaged")})

    # The sshd the CMDB lists is recorded on its asset, not reported as unmanaged.
    assert [(e["port"], e["protocol"]) for e in hostvars["app01"]["patchpilot_endpoints"]] == [(listed, "ssh")]
    assert hostvars["web01"]["patchpilot_endpoints"] == []


@pytest.mark.slow
def test_cache_keeps_the_scan_until_flushed(tmp_path, write_config):
    cache_dir = tmp_path / "inventory-cache"
    with loopback_sshd(tmp_path / "sshd") as port:
        config = write_config({
            "cmdb": "cmdb.csv",
            "scan": {"ranges": ["127.0.0.1"], "ports": [port]},
            "cache": True, "cache_plugin": "ansible.builtin.jsonfile", "cache_connection": str(cache_dir),
            "cache_timeout": 600,
        }, cmdb=cmdb_for(1))
        name = "unmanaged_127_0_0_1_%d" % port
        assert hosts_of(inventory_list(config), "unmanaged") == [name]
        assert len(list(cache_dir.iterdir())) == 1
    assert not ssh_banner(port)  # sshd is gone

    # Read from the cache: still listed. The CMDB is read afresh each time.
    (tmp_path / "cmdb.csv").write_text(cmdb_for(1) + "new01,,10.213.9.99,,,,,,,,,,,,,\n", encoding="utf-8")
    listing = inventory_list(config)
    assert hosts_of(listing, "unmanaged") == [name]
    assert "new01" in hosts_of(listing, "managed")

    # --flush-cache scans again: gone.
    assert hosts_of(inventory_list(config, "--flush-cache"), "unmanaged") == []
    assert hosts_of(inventory_list(config), "unmanaged") == []


def test_strict(write_config):
    config = {"cmdb": "cmdb.csv", "keyed_groups": [{"key": "patchpilot_asset.no_such_column", "prefix": "x"}]}
    lenient = write_config(dict(config, strict=False), cmdb=cmdb_for(1))
    assert hosts_of(inventory_list(lenient), "managed") == ["app01", "db01", "web01"]

    strict = write_config(dict(config, strict=True))
    proc = run("ansible-inventory", "-i", str(strict), "--list")
    assert proc.returncode != 0
    assert "Could not generate group for host web01 from patchpilot_asset.no_such_column entry" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.slow
def test_cmdb_templates_are_never_evaluated(tmp_path, write_config):
    marker = tmp_path / "pwned"
    payload = "{{ lookup('pipe', 'touch %s') }}" % marker
    cmdb = "hostname,ip_address,owner,role\nweb01,127.0.0.1,\"%s\",\"%s\"\n" % (payload, payload)
    config = write_config({"cmdb": "cmdb.csv", "compose": {"owner_copy": "patchpilot_asset.owner"},
                           "keyed_groups": [{"key": "patchpilot_asset.role", "prefix": "role"}]}, cmdb=cmdb)

    listing = inventory_list(config)
    raw = listing["_meta"]["hostvars"]["web01"]
    assert raw["patchpilot_asset"]["owner"] == {"__ansible_unsafe": payload}  # marked unsafe
    assert raw["owner_copy"] == {"__ansible_unsafe": payload}
    assert not marker.exists()

    for var in ("patchpilot_asset.owner", "owner_copy"):
        proc = run("ansible", "-i", str(config), "web01", "-m", "ansible.builtin.debug", "-a", "var=%s" % var,
                   ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", ANSIBLE_LOAD_CALLBACK_PLUGINS="1")
        assert proc.returncode == 0, proc.stderr + proc.stdout
        result = json.loads(proc.stdout)["plays"][0]["tasks"][0]["hosts"]["web01"]
        assert result[var] == payload
    proc = run("ansible", "-i", str(config), "web01", "-m", "ansible.builtin.debug", "-a", "msg={{ owner_copy }}",
               ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", ANSIBLE_LOAD_CALLBACK_PLUGINS="1")
    assert json.loads(proc.stdout)["plays"][0]["tasks"][0]["hosts"]["web01"]["msg"] == payload
    assert not marker.exists()


def test_malformed_cmdb_fails_with_file_line_and_reason(tmp_path, write_config):
    cmdb = ("hostname,ip_address,mac_address,criticality\n"
            "web01,10.0.0.1,02:50:0a:d5:00:0b,high\n"
            "web01,10.0.0.2,02:50:0a:d5:00:0c,low\n"
            "db01,10.0.0.300,02:50:0a:d5:00,urgent\n")
    config = write_config({"cmdb": "cmdb.csv"}, cmdb=cmdb)
    path = tmp_path / "cmdb.csv"
    expected = [
        "CMDB %s has 4 problems:" % path,
        "%s:3: duplicate hostname web01 (first on line 2)" % path,
        "%s:4: ip_address: '10.0.0.300' is not a valid IP address" % path,
        "%s:4: mac_address: '02:50:0a:d5:00' is not a valid MAC address (xx:xx:xx:xx:xx:xx)" % path,
        "%s:4: criticality: 'urgent' is not one of critical, high, medium, low" % path,
    ]
    proc = run("ansible-inventory", "-i", str(config), "--list")
    assert proc.returncode != 0
    for line in expected:
        assert line in proc.stderr
    assert "Traceback" not in proc.stderr

    missing = write_config({"cmdb": "export.csv"}, name="missing.assets.yml")
    (tmp_path / "export.csv").write_text("fqdn,owner\nweb01.example.org,me\n", encoding="utf-8")
    proc = run("ansible-inventory", "-i", str(missing), "--list")
    assert proc.returncode != 0
    assert "%s:1: missing columns: hostname, ansible_host or ip_address" % (tmp_path / "export.csv") in proc.stderr

    # Ansible's default is to warn about a source that fails and go on; the reasons are shown either way.
    proc = run("ansible-inventory", "-i", str(config), "--list", ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED="0")
    assert proc.returncode == 0
    assert expected[1] in proc.stderr


def test_ansible_doc_renders():
    proc = run("ansible-doc", "-t", "inventory", "patchpilot.fleet.assets")
    assert proc.returncode == 0, proc.stderr
    for word in ("cmdb", "scan", "host_vars", "keyed_groups", "cache_plugin", "unmanaged"):
        assert word in proc.stdout
    doc = json.loads(run("ansible-doc", "--json", "-t", "inventory", "patchpilot.fleet.assets").stdout)
    options = doc["patchpilot.fleet.assets"]["doc"]["options"]
    assert options["plugin"]["required"] is True and options["plugin"]["choices"] == ["patchpilot.fleet.assets"]
    assert set(options["scan"]["suboptions"]) == {"ranges", "ports", "timeout", "max_hosts", "probe", "workers"}
