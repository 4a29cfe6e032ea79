"""Lab hosts carry no apt source but the project's repository and cannot reach outside mirrors."""

from __future__ import annotations

import contextlib
import subprocess
import time
import urllib.request

import pytest

pytestmark = pytest.mark.lab

# A stand-in "outside mirror": our own network namespace, outside the lab subnet.
OUTSIDE_NS = "pptest-outside"
OUTSIDE_IP = "10.213.250.2"
HOST_SIDE_IP = "10.213.250.1"
PORT = 8099


def sh(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True, text=True, timeout=60)


@pytest.fixture
def outside_mirror(tmp_path):
    """An HTTP server that looks like a Debian mirror, in a network namespace we create."""
    for argv in (["ip", "netns", "del", OUTSIDE_NS], ["ip", "link", "del", "pptest-o0"]):
        subprocess.run(argv, capture_output=True, check=False)
    (tmp_path / "debian" / "dists" / "stable").mkdir(parents=True)
    (tmp_path / "debian" / "dists" / "stable" / "Release").write_text("Origin: Outside\n", encoding="utf-8")
    sh("ip", "netns", "add", OUTSIDE_NS)
    server = None
    try:
        sh("ip", "link", "add", "pptest-o0", "type", "veth", "peer", "name", "pptest-o1")
        sh("ip", "link", "set", "pptest-o1", "netns", OUTSIDE_NS)
        sh("ip", "addr", "add", f"{HOST_SIDE_IP}/30", "dev", "pptest-o0")
        sh("ip", "link", "set", "pptest-o0", "up")
        sh("ip", "netns", "exec", OUTSIDE_NS, "ip", "addr", "add", f"{OUTSIDE_IP}/30", "dev", "pptest-o1")
        sh("ip", "netns", "exec", OUTSIDE_NS, "ip", "link", "set", "pptest-o1", "up")
        # A route back to the lab subnets (not a default route: nothing else is reachable from here,
        # and http.server's reverse lookup of its own address then fails at once).
        sh("ip", "netns", "exec", OUTSIDE_NS, "ip", "route", "add", "10.213.0.0/16", "via", HOST_SIDE_IP)
        server = subprocess.Popen(
            ["ip", "netns", "exec", OUTSIDE_NS, "python3", "-m", "http.server", "--bind", OUTSIDE_IP,
             str(PORT), "--directory", str(tmp_path)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        url = f"http://{OUTSIDE_IP}:{PORT}/debian/dists/stable/Release"
        for _ in range(50):
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(url, timeout=2) as resp:
                    # The controller reaches it: so a host that cannot is blocked, not misconfigured.
                    assert resp.status == 200
                    break
            time.sleep(0.2)
        else:
            server.terminate()
            pytest.fail(f"the stand-in outside mirror did not start: {server.communicate(timeout=10)[1]}")
        yield f"http://{OUTSIDE_IP}:{PORT}/debian"
    finally:
        if server:
            server.terminate()
            server.wait(timeout=10)
        subprocess.run(["ip", "netns", "del", OUTSIDE_NS], capture_output=True, check=False)
        subprocess.run(["ip", "link", "del", "pptest-o0"], capture_output=True, check=False)


def test_only_the_lab_repository_is_configured(lab):
    for host in lab.hosts:
        out = lab.ssh(host, "apt-get indextargets --format '$(URI)' 'Created-By: Packages'").stdout
        uris = {u for u in out.split() if u}
        assert uris, f"{host['name']}: no package index targets"
        assert all(u.startswith("file:/srv/patchpilot-repo/archive/") for u in uris), uris
        policy = lab.ssh(host, "LANG=C apt-cache policy").stdout
        assert "http://" not in policy and "https://" not in policy, policy


def test_host_cannot_reach_an_outside_mirror(lab, outside_mirror):
    host = lab.hosts[0]
    fetch = (f"python3 -c \"import urllib.request;"
             f"urllib.request.urlopen('{outside_mirror}/dists/stable/Release', timeout=5)\"")
    proc = lab.ssh(host, fetch, check=False)
    assert proc.returncode != 0
    assert "timed out" in proc.stderr or "unreachable" in proc.stderr.lower(), proc.stderr
    # apt itself, given that mirror as a source, fails to fetch it.
    lab.ssh(host, f"echo 'deb [trusted=yes] {outside_mirror} stable main' | "
                  "sudo tee /etc/apt/sources.list.d/outside.list >/dev/null")
    try:
        proc = lab.ssh(host, "sudo LANG=C apt-get -o Acquire::http::Timeout=5 -o Acquire::Retries=0 update",
                       check=False)
        assert f"{outside_mirror} stable" in proc.stdout + proc.stderr
        assert "Failed to fetch" in proc.stderr or "Could not connect" in proc.stdout + proc.stderr, proc.stdout
    finally:
        lab.ssh(host, "sudo rm -f /etc/apt/sources.list.d/outside.list && sudo apt-get update -q")


def test_hosts_reach_each_other(lab):
    """The block is for the outside world only: hosts of the lab still talk to each other."""
    a, b = lab.hosts[0], lab.hosts[-1]
    probe = (f"python3 -c \"import urllib.request;"
             f"print(urllib.request.urlopen('http://{b['ip']}:8080/', timeout=5).status)\"")
    assert lab.ssh(a, probe).stdout.strip() == "200"
