"""The packages of the lab's apt repository, as data.

Every lab host starts with the *seed* version of each package installed; the
repository publishes newer versions, so each host has a known set of pending
updates.  This module is the single description of that set: ``repo.py``
builds the .deb files and the manifest from it, and tests compare scans against
the manifest.

Conventions the manifest relies on:

* ``classification`` follows from what a scanner can see: an update from the
  ``lab-security`` suite (Label "Patchpilot Lab-Security") is *security* and
  its changelog names the CVEs; an update to a new upstream major version, or
  a package newly pulled in, is an *enhancement*; any other update is a
  *bugfix*.
* CVE ids are in the ``CVE-2026-9xxxx`` range, which no real advisory uses.
* A version with ``published=()`` exists only as a seed .deb (the host has it
  installed, the archive no longer carries it).

Everything here is stdlib only and free of side effects.
"""

from __future__ import annotations

import dataclasses
import datetime
import email.utils
import textwrap

MAINTAINER = "Patchpilot Lab <lab@patchpilot.invalid>"
FIXTURE_NOTE = "Test fixture built by the patchpilot lab (lab/patchpilot_lab)."

# Suites (distributions) and components of the archive.
DIST_LAB = "lab"
DIST_SECURITY = "lab-security"
COMPONENT_MAIN = "main"
COMPONENT_FAULTS = "faults"

PYTHON_DEPENDS = "python3 (>= 3.9)"

# Services run as this system user, made by the postinst.  Not "nobody"
# (systemd warns about it on every reload) and not DynamicUser= (its
# namespacing fails with 226/NAMESPACE in the lab's podman containers).
SERVICE_USER = "pplab"

SECURITY = "security"
BUGFIX = "bugfix"
ENHANCEMENT = "enhancement"


@dataclasses.dataclass(frozen=True)
class Service:
    """A systemd unit shipped by one package version.

    ``port`` is the TCP port the unit listens on when it behaves as designed,
    None when it does not listen.  ``state`` is what ``systemctl is-active``
    reports once the unit settled ("active" or "failed").
    """

    unit: str
    description: str
    exec_start: str
    port: int | None
    state: str = "active"
    service_type: str = "simple"
    restart: str = "on-failure"
    remain_after_exit: bool = False
    user: str | None = SERVICE_USER  # None: runs as root
    restart_on_upgrade: bool = True
    journal_errors_per_second: int = 0


@dataclasses.dataclass(frozen=True)
class Version:
    """One version of a package."""

    version: str
    date: str  # ISO 8601 with offset; the changelog trailer date
    changes: tuple[str, ...]
    published: tuple[tuple[str, str], ...] = ()  # (distribution, component)
    seed: bool = False
    urgency: str = "medium"
    depends: tuple[str, ...] = ()
    breaks: tuple[str, ...] = ()
    replaces: tuple[str, ...] = ()
    cves: tuple[str, ...] = ()
    services: tuple[Service, ...] = ()
    files: tuple[tuple[str, str, int], ...] = ()  # (path, text, mode)
    fails_configure: str = ""  # non-empty: postinst configure prints it and exits 1
    notify_reboot: bool = False

    @property
    def changelog_date(self) -> str:
        """The date as written in a Debian changelog trailer (RFC 2822)."""
        return email.utils.format_datetime(datetime.datetime.fromisoformat(self.date))

    @property
    def epoch(self) -> int:
        """SOURCE_DATE_EPOCH of this version: its changelog date."""
        return int(datetime.datetime.fromisoformat(self.date).timestamp())


@dataclasses.dataclass(frozen=True)
class Package:
    """A package and the versions the lab knows of it, oldest first."""

    name: str
    summary: str
    description: str
    section: str
    versions: tuple[Version, ...]
    fault: str | None = None  # what breaks in the candidate, for faults only

    def version(self, version: str) -> Version:
        for item in self.versions:
            if item.version == version:
                return item
        raise KeyError(f"{self.name} has no version {version}")

    @property
    def seed(self) -> Version | None:
        seeds = [item for item in self.versions if item.seed]
        return seeds[-1] if seeds else None

    @property
    def candidate(self) -> Version | None:
        """The highest published version (what apt would install), if any."""
        published = [item for item in self.versions if item.published]
        return published[-1] if published else None

    @property
    def major_upgrade(self) -> bool:
        """True when the pending update changes the upstream major version."""
        seed, cand = self.seed, self.candidate
        if seed is None or cand is None:
            return False
        return _upstream_major(seed.version) != _upstream_major(cand.version)

    @property
    def classification(self) -> str | None:
        """security, enhancement or bugfix (see the module docstring); None if
        nothing is pending."""
        seed, cand = self.seed, self.candidate
        if cand is None or (seed is not None and seed.version == cand.version):
            return None
        if any(dist == DIST_SECURITY for dist, _ in cand.published):
            return SECURITY
        if seed is None or self.major_upgrade:
            return ENHANCEMENT
        return BUGFIX


def _upstream_major(version: str) -> str:
    upstream = version.split(":", 1)[-1].rsplit("-", 1)[0]
    return upstream.split(".", 1)[0]


# --------------------------------------------------------------------------
# Helpers for the spec below.


def _http_service(name: str, port: int, version: str) -> Service:
    return Service(
        unit=f"{name}.service",
        description=f"Patchpilot lab service {name} {version}",
        exec_start=(
            "/usr/bin/python3 -m http.server --bind 0.0.0.0 "
            f"--directory /usr/share/{name} {port}"
        ),
        port=port,
    )


def _index_html(name: str, version: str) -> tuple[str, str, int]:
    text = (
        "<!DOCTYPE html>\n"
        f"<html><head><meta charset=\"utf-8\"><title>{name}</title></head>\n"
        f"<body><h1>{name}</h1><p id=\"version\">{version}</p></body></html>\n"
    )
    return (f"/usr/share/{name}/index.html", text, 0o644)


def _version_file(name: str, version: str) -> tuple[str, str, int]:
    return (f"/usr/share/{name}/VERSION", f"{version}\n", 0o644)


def _script(path: str, text: str) -> tuple[str, str, int]:
    return (path, text, 0o755)


_CRASH_SCRIPT = '''#!/usr/bin/python3
"""pplab-fault-crash 1.1-1: the service no longer starts (lab fault)."""
import sys

# "<3>" is the journal's priority prefix for "err".
print("<3>pplab-fault-crash: fatal: cannot parse /usr/share/pplab-fault-crash/"
      "settings (lab fault injection: this version never starts)",
      file=sys.stderr, flush=True)
sys.exit(1)
'''

_IDLE_SCRIPT = '''#!/usr/bin/python3
"""pplab-fault-port 1.1-1: runs, but no longer listens on its port (lab fault)."""
import sys
import time

print("<4>pplab-fault-port: listener disabled, port 8082 stays closed "
      "(lab fault injection)", file=sys.stderr, flush=True)
while True:
    time.sleep(3600)
'''

_NOISY_SCRIPT = '''#!/usr/bin/python3
"""pplab-fault-noisy 1.1-1: serves its port, but floods the journal (lab fault)."""
import functools
import http.server
import sys
import threading
import time

PORT = 8083
RATE = 20  # error lines per second, forever

handler = functools.partial(http.server.SimpleHTTPRequestHandler,
                            directory="/usr/share/pplab-fault-noisy")
server = http.server.ThreadingHTTPServer(("0.0.0.0", PORT), handler)
threading.Thread(target=server.serve_forever, daemon=True).start()
count = 0
while True:
    count += 1
    # "<3>" is the journal's priority prefix for "err".
    print(f"<3>pplab-fault-noisy: error: upstream check {count} failed "
          "(lab fault injection: journal flood)", file=sys.stderr, flush=True)
    time.sleep(1.0 / RATE)
'''

_HTTP_500_SCRIPT = '''#!/usr/bin/python3
"""pplab-fault-http 1.1-1: runs and listens, but answers every request with 500 (lab fault)."""
import http.server

PORT = 8084


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's name)
        body = b"internal error (lab fault injection: this version answers 500)\\n"
        self.send_response(500)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_HEAD = do_GET

    def log_message(self, *_args):  # nothing in the journal: only the HTTP answer is wrong
        pass


http.server.ThreadingHTTPServer(("0.0.0.0", PORT), Handler).serve_forever()
'''

_KERNEL_ACTIVATE = '''#!/bin/sh
# Record the installed pplab-kernel version as the "running" one.  Runs once
# per boot, so after an upgrade the running version changes only on reboot.
set -e
mkdir -p /run/pplab-kernel
cp /usr/share/pplab-kernel/VERSION /run/pplab-kernel/running
'''


def _kernel_service() -> Service:
    return Service(
        unit="pplab-kernel.service",
        description="Patchpilot lab kernel stand-in: record the running version",
        exec_start="/usr/lib/pplab-kernel/activate",
        port=None,
        service_type="oneshot",
        restart="no",
        remain_after_exit=True,
        user=None,
        restart_on_upgrade=False,
    )


_LAB_MAIN = ((DIST_LAB, COMPONENT_MAIN),)
_LAB_FAULTS = ((DIST_LAB, COMPONENT_FAULTS),)
_LAB_SECURITY = ((DIST_SECURITY, COMPONENT_MAIN),)

_SEED_DATE = "2025-06-02T09:00:00+00:00"
_SEED_CHANGE = ("Initial lab release.",)


def _seed(name: str, version: str = "1.0-1", **kwargs) -> Version:
    """The version every lab host starts with (a seed .deb)."""
    kwargs.setdefault("changes", _SEED_CHANGE)
    files = (_version_file(name, version),) + tuple(kwargs.pop("files", ()))
    return Version(version=version, date=kwargs.pop("date", _SEED_DATE), seed=True,
                   files=files, **kwargs)


def _web_version(version: str) -> tuple[tuple[str, str, int], ...]:
    return (_version_file("pplab-web", version), _index_html("pplab-web", version))


def _healthy_service_files(name: str, version: str) -> tuple[tuple[str, str, int], ...]:
    return (_index_html(name, version),)


# --------------------------------------------------------------------------
# The spec.

PACKAGES: tuple[Package, ...] = (
    Package(
        name="pplab-seclib",
        summary="lab stand-in for a shared library with a security fix",
        description="A library-like package whose pending update comes from the\n"
        "lab-security suite and fixes two (lab-only) CVEs.",
        section="libs",
        versions=(
            _seed("pplab-seclib", published=_LAB_MAIN),
            Version(
                version="1.0-1+lab1sec1",
                date="2026-01-20T14:30:00+00:00",
                urgency="high",
                published=_LAB_SECURITY,
                cves=("CVE-2026-90001", "CVE-2026-90002"),
                changes=(
                    "Non-maintainer upload by the Security Team.",
                    "CVE-2026-90001: heap buffer overflow in the record parser "
                    "(lab fixture, not a real vulnerability).",
                    "CVE-2026-90002: out-of-bounds read on truncated input "
                    "(lab fixture, not a real vulnerability).",
                ),
                files=(_version_file("pplab-seclib", "1.0-1+lab1sec1"),),
            ),
        ),
    ),
    Package(
        name="pplab-web",
        summary="lab web service on port 8080",
        description="Serves /usr/share/pplab-web on 0.0.0.0:8080 with python3's\n"
        "http.server; the index page names the installed version.",
        section="web",
        versions=(
            _seed(
                "pplab-web",
                depends=(PYTHON_DEPENDS,),
                services=(_http_service("pplab-web", 8080, "1.0-1"),),
                files=(_index_html("pplab-web", "1.0-1"),),
            ),
            Version(
                version="1.0-2",
                date="2026-01-27T10:00:00+00:00",
                published=_LAB_MAIN,
                depends=(PYTHON_DEPENDS,),
                services=(_http_service("pplab-web", 8080, "1.0-2"),),
                changes=(
                    "Fix the charset declaration of the index page.",
                    "Restart the service on upgrade so the new page is served.",
                ),
                files=_web_version("1.0-2"),
            ),
        ),
    ),
    Package(
        name="pplab-kernel",
        summary="lab stand-in for a kernel: its update needs a reboot",
        description="Its postinst flags /run/reboot-required the way Debian's\n"
        "notify-reboot-required does; pplab-kernel.service writes the version\n"
        "seen at boot to /run/pplab-kernel/running.",
        section="kernel",
        versions=(
            _seed(
                "pplab-kernel",
                services=(_kernel_service(),),
                files=(_script("/usr/lib/pplab-kernel/activate", _KERNEL_ACTIVATE),),
            ),
            Version(
                version="1.1-1",
                date="2026-02-03T08:15:00+00:00",
                published=_LAB_MAIN,
                services=(_kernel_service(),),
                notify_reboot=True,
                changes=(
                    "New upstream release 1.1.",
                    "A reboot is required to run the new version.",
                ),
                files=(
                    _version_file("pplab-kernel", "1.1-1"),
                    _script("/usr/lib/pplab-kernel/activate", _KERNEL_ACTIVATE),
                ),
            ),
        ),
    ),
    Package(
        name="pplab-agent",
        summary="lab agent whose upgrade pulls in a new package",
        description="Version 1.1 moves its plugins into the new package\n"
        "pplab-agent-plugins and depends on it.",
        section="admin",
        versions=(
            _seed("pplab-agent"),
            Version(
                version="1.1-1",
                date="2026-02-10T11:00:00+00:00",
                urgency="low",
                published=_LAB_MAIN,
                depends=("pplab-agent-plugins (>= 1.1-1)",),
                changes=(
                    "New upstream release 1.1 with a plugin interface.",
                    "Plugins now ship in the new package pplab-agent-plugins.",
                ),
                files=(_version_file("pplab-agent", "1.1-1"),),
            ),
        ),
    ),
    Package(
        name="pplab-agent-plugins",
        summary="plugins for pplab-agent 1.1 (new package)",
        description="Not installed on any lab host at first: upgrading pplab-agent\n"
        "to 1.1 installs it.",
        section="admin",
        versions=(
            Version(
                version="1.1-1",
                date="2026-02-10T11:00:00+00:00",
                urgency="low",
                published=_LAB_MAIN,
                changes=("Initial release, split out of pplab-agent.",),
                files=(_version_file("pplab-agent-plugins", "1.1-1"),),
            ),
        ),
    ),
    Package(
        name="pplab-legacy",
        summary="lab package with a pending major upgrade",
        description="Its pending update goes from 1.0 to 2.0, which patchpilot's\n"
        "default policy holds back.",
        section="misc",
        versions=(
            _seed("pplab-legacy"),
            Version(
                version="2.0-1",
                date="2026-02-17T16:45:00+00:00",
                urgency="low",
                published=_LAB_MAIN,
                changes=(
                    "New upstream major release 2.0.",
                    "Incompatible change: the 1.x data format is no longer read.",
                ),
                files=(_version_file("pplab-legacy", "2.0-1"),),
            ),
        ),
    ),
    Package(
        name="pplab-monitor",
        summary="lab monitor whose upgrade removes another package",
        description="Version 1.1 absorbs pplab-monitor-compat (Breaks and\n"
        "Replaces it), so a dist-upgrade removes that package.",
        section="admin",
        versions=(
            _seed("pplab-monitor"),
            Version(
                version="1.1-1",
                date="2026-02-24T13:20:00+00:00",
                published=_LAB_MAIN,
                breaks=("pplab-monitor-compat (<< 1.1~)",),
                replaces=("pplab-monitor-compat (<< 1.1~)",),
                changes=(
                    "Merge the compatibility layer of pplab-monitor-compat.",
                    "Breaks and Replaces pplab-monitor-compat, which is obsolete.",
                ),
                files=(
                    _version_file("pplab-monitor", "1.1-1"),
                    ("/usr/lib/pplab-monitor/compat.conf", "compat = builtin\n", 0o644),
                ),
            ),
        ),
    ),
    Package(
        name="pplab-monitor-compat",
        summary="obsolete compatibility layer for pplab-monitor 1.0",
        description="Installed on lab hosts at first; no longer in the archive.\n"
        "pplab-monitor 1.1 breaks it, so a dist-upgrade removes it.",
        section="oldlibs",
        versions=(
            _seed(
                "pplab-monitor-compat",
                files=(("/usr/lib/pplab-monitor/compat.conf", "compat = legacy\n", 0o644),),
            ),
        ),
    ),
    # ---- faults component: the seed versions are healthy, the new ones broken.
    Package(
        name="pplab-fault-postinst",
        summary="lab fault: the update's postinst fails",
        description="Version 1.1-1 fails in its postinst configure step, which\n"
        "leaves the package half-configured.",
        section="misc",
        fault="postinst-fails",
        versions=(
            _seed("pplab-fault-postinst"),
            Version(
                version="1.1-1",
                date="2026-03-02T09:00:00+00:00",
                published=_LAB_FAULTS,
                fails_configure=(
                    "pplab-fault-postinst: error: configure of 1.1-1 failed on purpose "
                    "(lab fault injection: this postinst always exits 1)"
                ),
                changes=("Rework the configure step (lab fault: postinst exits 1).",),
                files=(_version_file("pplab-fault-postinst", "1.1-1"),),
            ),
        ),
    ),
    Package(
        name="pplab-fault-crash",
        summary="lab fault: the updated service does not start",
        description="Serves port 8081 in 1.0-1; the service of 1.1-1 exits at once\n"
        "and ends in the failed state.",
        section="misc",
        fault="service-fails",
        versions=(
            _seed(
                "pplab-fault-crash",
                depends=(PYTHON_DEPENDS,),
                services=(_http_service("pplab-fault-crash", 8081, "1.0-1"),),
                files=_healthy_service_files("pplab-fault-crash", "1.0-1"),
            ),
            Version(
                version="1.1-1",
                date="2026-03-02T09:10:00+00:00",
                published=_LAB_FAULTS,
                depends=(PYTHON_DEPENDS,),
                services=(
                    Service(
                        unit="pplab-fault-crash.service",
                        description="Patchpilot lab service pplab-fault-crash 1.1-1",
                        exec_start="/usr/bin/python3 /usr/lib/pplab-fault-crash/server.py",
                        port=None,
                        state="failed",
                        restart="no",
                    ),
                ),
                changes=("New settings parser (lab fault: the service exits 1 at start).",),
                files=(
                    _version_file("pplab-fault-crash", "1.1-1"),
                    _index_html("pplab-fault-crash", "1.1-1"),
                    _script("/usr/lib/pplab-fault-crash/server.py", _CRASH_SCRIPT),
                ),
            ),
        ),
    ),
    Package(
        name="pplab-fault-port",
        summary="lab fault: the updated service stops listening",
        description="Serves port 8082 in 1.0-1; the service of 1.1-1 keeps running\n"
        "but no longer listens.",
        section="misc",
        fault="port-closed",
        versions=(
            _seed(
                "pplab-fault-port",
                depends=(PYTHON_DEPENDS,),
                services=(_http_service("pplab-fault-port", 8082, "1.0-1"),),
                files=_healthy_service_files("pplab-fault-port", "1.0-1"),
            ),
            Version(
                version="1.1-1",
                date="2026-03-02T09:20:00+00:00",
                published=_LAB_FAULTS,
                depends=(PYTHON_DEPENDS,),
                services=(
                    Service(
                        unit="pplab-fault-port.service",
                        description="Patchpilot lab service pplab-fault-port 1.1-1",
                        exec_start="/usr/bin/python3 /usr/lib/pplab-fault-port/server.py",
                        port=None,
                    ),
                ),
                changes=("New listener setup (lab fault: the port stays closed).",),
                files=(
                    _version_file("pplab-fault-port", "1.1-1"),
                    _index_html("pplab-fault-port", "1.1-1"),
                    _script("/usr/lib/pplab-fault-port/server.py", _IDLE_SCRIPT),
                ),
            ),
        ),
    ),
    Package(
        name="pplab-fault-http",
        summary="lab fault: the updated service answers HTTP 500",
        description="Serves port 8084 in both versions; the service of 1.1-1 stays\n"
        "active and listening, but answers every request with status 500.",
        section="misc",
        fault="http-500",
        versions=(
            _seed(
                "pplab-fault-http",
                depends=(PYTHON_DEPENDS,),
                services=(_http_service("pplab-fault-http", 8084, "1.0-1"),),
                files=_healthy_service_files("pplab-fault-http", "1.0-1"),
            ),
            Version(
                version="1.1-1",
                date="2026-03-02T09:40:00+00:00",
                published=_LAB_FAULTS,
                depends=(PYTHON_DEPENDS,),
                services=(
                    Service(
                        unit="pplab-fault-http.service",
                        description="Patchpilot lab service pplab-fault-http 1.1-1",
                        exec_start="/usr/bin/python3 /usr/lib/pplab-fault-http/server.py",
                        port=8084,
                    ),
                ),
                changes=("New request router (lab fault: every answer is a 500).",),
                files=(
                    _version_file("pplab-fault-http", "1.1-1"),
                    _index_html("pplab-fault-http", "1.1-1"),
                    _script("/usr/lib/pplab-fault-http/server.py", _HTTP_500_SCRIPT),
                ),
            ),
        ),
    ),
    Package(
        name="pplab-fault-noisy",
        summary="lab fault: the updated service floods the journal",
        description="Serves port 8083 in both versions; the service of 1.1-1 also\n"
        "logs 20 error-priority lines per second for as long as it runs.",
        section="misc",
        fault="journal-flood",
        versions=(
            _seed(
                "pplab-fault-noisy",
                depends=(PYTHON_DEPENDS,),
                services=(_http_service("pplab-fault-noisy", 8083, "1.0-1"),),
                files=_healthy_service_files("pplab-fault-noisy", "1.0-1"),
            ),
            Version(
                version="1.1-1",
                date="2026-03-02T09:30:00+00:00",
                published=_LAB_FAULTS,
                depends=(PYTHON_DEPENDS,),
                services=(
                    Service(
                        unit="pplab-fault-noisy.service",
                        description="Patchpilot lab service pplab-fault-noisy 1.1-1",
                        exec_start="/usr/bin/python3 /usr/lib/pplab-fault-noisy/server.py",
                        port=8083,
                        journal_errors_per_second=20,
                    ),
                ),
                changes=("Add upstream health checks (lab fault: floods the journal).",),
                files=(
                    _version_file("pplab-fault-noisy", "1.1-1"),
                    _index_html("pplab-fault-noisy", "1.1-1"),
                    _script("/usr/lib/pplab-fault-noisy/server.py", _NOISY_SCRIPT),
                ),
            ),
        ),
    ),
)


def package(name: str) -> Package:
    """The spec of one package by name."""
    for item in PACKAGES:
        if item.name == name:
            return item
    raise KeyError(name)


# --------------------------------------------------------------------------
# Rendering: control file, changelog, copyright, unit and maintainer scripts.


def control_text(pkg: Package, ver: Version, installed_size_kib: int) -> str:
    """DEBIAN/control of one package version."""
    fields = [
        ("Package", pkg.name),
        ("Version", ver.version),
        ("Architecture", "all"),
        ("Maintainer", MAINTAINER),
        ("Installed-Size", str(installed_size_kib)),
    ]
    for name, values in (("Depends", ver.depends), ("Breaks", ver.breaks),
                         ("Replaces", ver.replaces)):
        if values:
            fields.append((name, ", ".join(values)))
    fields += [("Section", pkg.section), ("Priority", "optional")]
    lines = [f"{key}: {value}" for key, value in fields]
    body = [line if line.strip() else "." for line in pkg.description.splitlines()]
    body.append(FIXTURE_NOTE)
    lines.append(f"Description: {pkg.summary}")
    lines += [f" {line}" for line in body]
    return "\n".join(lines) + "\n"


def changelog_text(pkg: Package, ver: Version) -> str:
    """debian/changelog as shipped with ``ver``: its entry and all older ones."""
    entries = []
    for item in pkg.versions:
        dist = item.published[0][0] if item.published else DIST_LAB
        changes = "\n".join(
            textwrap.fill(line, width=79, initial_indent="  * ", subsequent_indent="    ")
            for line in item.changes
        )
        entries.append(
            f"{pkg.name} ({item.version}) {dist}; urgency={item.urgency}\n\n"
            f"{changes}\n\n"
            f" -- {MAINTAINER}  {item.changelog_date}\n"
        )
        if item.version == ver.version:
            break
    return "\n".join(reversed(entries))


def copyright_text(pkg: Package) -> str:
    return (
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"
        f"Upstream-Name: {pkg.name}\n"
        f"Upstream-Contact: {MAINTAINER}\n"
        f"Comment: {FIXTURE_NOTE}\n"
        "\n"
        "Files: *\n"
        "Copyright: 2025-2026 patchpilot developers\n"
        "License: GPL-3.0-or-later\n"
        " On Debian systems, the full text of the GNU General Public License\n"
        " version 3 can be found in the file '/usr/share/common-licenses/GPL-3'.\n"
    )


def unit_text(pkg: Package, ver: Version, svc: Service) -> str:
    """The systemd unit file of one service."""
    service = [f"Type={svc.service_type}"]
    if svc.user:
        service += [f"User={svc.user}", f"Group={svc.user}"]
    service += [
        "Environment=PYTHONUNBUFFERED=1",
        f"ExecStart={svc.exec_start}",
        f"Restart={svc.restart}",
    ]
    if svc.restart != "no":
        service.append("RestartSec=2")
    if svc.remain_after_exit:
        service.append("RemainAfterExit=yes")
    service += ["MemoryMax=64M", "TasksMax=32", "NoNewPrivileges=yes"]
    return (
        "[Unit]\n"
        f"Description={svc.description}\n"
        f"Documentation=file:/usr/share/doc/{pkg.name}/changelog.Debian.gz\n"
        "After=network.target\n"
        "\n"
        "[Service]\n" + "\n".join(service) + "\n"
        "\n"
        "[Install]\n"
        "WantedBy=multi-user.target\n"
    )


UNIT_DIR = "/usr/lib/systemd/system"


def _sh_add_user(user: str) -> str:
    return (
        f'if [ "$1" = "configure" ] && ! getent passwd {user} >/dev/null; then\n'
        "    useradd --system --user-group --no-create-home --home-dir /nonexistent \\\n"
        f'        --shell /usr/sbin/nologin --comment "Patchpilot lab services" {user}\n'
        "fi\n"
    )


_SH_CAN_START = """\
# Start or restart units only under a running systemd, and not when an image
# builder's policy-rc.d forbids it (exit status 101).
can_start() {
    [ -d /run/systemd/system ] || return 1
    if [ -x /usr/sbin/policy-rc.d ]; then
        rc=0
        /usr/sbin/policy-rc.d "$1" start >/dev/null 2>&1 || rc=$?
        [ "$rc" -ne 101 ] || return 1
    fi
    return 0
}
"""


def maintainer_scripts(pkg: Package, ver: Version) -> dict[str, str]:
    """DEBIAN/{postinst,prerm,postrm} of one version; empty if none needed."""
    scripts: dict[str, str] = {}
    head = (f"#!/bin/sh\n# {{name}} of {pkg.name} {ver.version} (patchpilot lab package).\n"
            "set -e\n\n")
    post: list[str] = []
    if ver.services:
        enable = "".join(f'    systemctl enable {svc.unit} >/dev/null\n' for svc in ver.services)
        start = "".join(
            f"        if systemctl is-enabled --quiet {svc.unit} && can_start {svc.unit}; then\n"
            f"            systemctl {'restart' if svc.restart_on_upgrade else 'start'} "
            f"{svc.unit} || true\n"
            "        fi\n"
            for svc in ver.services
        )
        post.append(_SH_CAN_START)
        post += [_sh_add_user(user) for user in sorted({s.user for s in ver.services if s.user})]
        post.append(
            'if [ "$1" = "configure" ] && [ -z "$2" ] \\\n'
            "        && command -v systemctl >/dev/null 2>&1; then\n"
            "    # First install: enable.  This works without a running systemd (the\n"
            "    # units then start on boot).  Upgrades keep the admin's choice.\n"
            f"{enable}"
            "fi\n"
            'case "$1" in\n'
            "configure|abort-upgrade|abort-deconfigure|abort-remove)\n"
            "    if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then\n"
            "        systemctl daemon-reload || true\n"
            f"{start}"
            "    fi\n"
            "    ;;\n"
            "esac\n"
        )
    if ver.notify_reboot:
        post.append(
            'if [ "$1" = "configure" ]; then\n'
            "    # As Debian's notify-reboot-required does.\n"
            "    mkdir -p /run\n"
            "    echo '*** System restart required ***' > /run/reboot-required\n"
            f"    if ! grep -qsx '{pkg.name}' /run/reboot-required.pkgs; then\n"
            f"        echo '{pkg.name}' >> /run/reboot-required.pkgs\n"
            "    fi\n"
            "fi\n"
        )
    if ver.fails_configure:
        post.append(
            'if [ "$1" = "configure" ]; then\n'
            f"    echo '{ver.fails_configure}' >&2\n"
            "    exit 1\n"
            "fi\n"
        )
    if post:
        scripts["postinst"] = head.format(name="postinst") + "\n".join(post) + "\nexit 0\n"
    if ver.services:
        stop = "".join(f"    systemctl stop {svc.unit} || true\n" for svc in ver.services)
        scripts["prerm"] = head.format(name="prerm") + (
            'if [ "$1" = "remove" ] && [ -d /run/systemd/system ] \\\n'
            "        && command -v systemctl >/dev/null 2>&1; then\n"
            f"{stop}"
            "fi\n"
            "exit 0\n"
        )
        links = " ".join(
            f"/etc/systemd/system/multi-user.target.wants/{svc.unit}" for svc in ver.services
        )
        scripts["postrm"] = head.format(name="postrm") + (
            'case "$1" in\n'
            "remove)\n"
            "    if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then\n"
            "        systemctl daemon-reload || true\n"
            "    fi\n"
            "    ;;\n"
            "purge)\n"
            f"    rm -f {links}\n"
            "    ;;\n"
            "esac\n"
            "exit 0\n"
        )
    return scripts
