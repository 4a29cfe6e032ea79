"""Running commands on the lab machine, with one error type and no tracebacks.

Every external command goes through :func:`run` with an argv list (never a
shell string); a failure raises :class:`LabError` carrying the command's own
last words so the CLI can print one clear line.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from typing import Iterable, Mapping, Sequence


class LabError(Exception):
    """A foreseeable problem: printed as one line by the CLI, exit code 2."""


#: Debian packages the lab needs on the controller, by the command that
#: proves each is installed.
REQUIRED_TOOLS: Mapping[str, str] = {
    "podman": "podman",
    "runc": "runc",
    "debootstrap": "debootstrap",
    "reprepro": "reprepro",
    "gpg": "gpg",
    "gpgv": "gpgv",
    "dpkg-deb": "dpkg",
    "iptables": "iptables",
    "ssh": "openssh-client",
    "ssh-keygen": "openssh-client",
    "sshd": "openssh-server",
    "ip": "iproute2",
    "netavark": "netavark",
}

#: Installed alongside, without a command of their own to look for.
EXTRA_PACKAGES = ("aardvark-dns", "slirp4netns", "uidmap", "fuse-overlayfs", "ca-certificates")

#: Where netavark lives on Debian (not on PATH).
_NETAVARK_PATHS = ("/usr/lib/podman/netavark", "/usr/libexec/podman/netavark")

VERBOSE = bool(os.environ.get("LAB_VERBOSE"))


def log(message: str) -> None:
    print(f"lab: {message}", file=sys.stderr, flush=True)


def _tail(text: str | bytes | None, lines: int = 6) -> str:
    if not text:
        return ""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    kept = [line for line in text.strip().splitlines() if line.strip()]
    return " | ".join(kept[-lines:])


def run(
    argv: Sequence[str],
    *,
    check: bool = True,
    input: str | bytes | None = None,
    capture: bool = True,
    timeout: float | None = None,
    env: Mapping[str, str] | None = None,
    what: str | None = None,
    stdin=None,
    stdout=None,
) -> subprocess.CompletedProcess:
    """Run ``argv``; on failure raise LabError naming ``what`` and the tool's message."""
    argv = [str(a) for a in argv]
    if VERBOSE:
        log("+ " + " ".join(argv))
    full_env = None
    if env is not None:
        full_env = dict(os.environ)
        full_env.update(env)
    try:
        proc = subprocess.run(
            argv,
            input=input,
            stdin=stdin,
            stdout=stdout if stdout is not None else (subprocess.PIPE if capture else None),
            stderr=subprocess.PIPE if capture else None,
            timeout=timeout,
            env=full_env,
            text=not isinstance(input, bytes) and stdout is None,
            check=False,
        )
    except FileNotFoundError as exc:
        raise LabError(f"{what or argv[0]}: command not found: {argv[0]}") from exc
    except subprocess.TimeoutExpired as exc:
        raise LabError(f"{what or argv[0]}: timed out after {timeout:.0f}s") from exc
    if check and proc.returncode != 0:
        detail = _tail(proc.stderr) or _tail(proc.stdout) or "no output"
        raise LabError(f"{what or ' '.join(argv[:3])} failed (exit {proc.returncode}): {detail}")
    return proc


def have(tool: str) -> bool:
    if tool == "sshd":
        return os.access("/usr/sbin/sshd", os.X_OK)
    if tool == "netavark":
        return any(os.access(p, os.X_OK) for p in _NETAVARK_PATHS) or shutil.which(tool) is not None
    return shutil.which(tool) is not None


def require_root() -> None:
    if os.geteuid() != 0:
        raise LabError(
            "the lab must run as root (it installs Debian packages and runs rootful podman "
            "with per-host networks); re-run with sudo"
        )


def missing_tools() -> list[str]:
    return [tool for tool in REQUIRED_TOOLS if not have(tool)]


def ensure_tools(install: bool = True) -> None:
    """Install what the lab needs from Debian's packages, if it is missing."""
    missing = missing_tools()
    if not missing:
        return
    packages = sorted({REQUIRED_TOOLS[t] for t in missing} | set(EXTRA_PACKAGES))
    if not install:
        raise LabError(
            f"missing tools: {', '.join(missing)}; install them with "
            f"'apt-get install {' '.join(packages)}' (LAB_NO_INSTALL is set)"
        )
    if not have("apt-get"):
        raise LabError(f"missing tools: {', '.join(missing)} and apt-get is not available to install them")
    log(f"installing Debian packages: {' '.join(packages)}")
    env = {"DEBIAN_FRONTEND": "noninteractive"}
    try:
        run(["apt-get", "update", "-q"], env=env, what="apt-get update", timeout=900)
        run(["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages],
            env=env, what="apt-get install", timeout=1800)
    except LabError as exc:
        raise LabError(f"missing tools: {', '.join(missing)}; installing them failed: {exc}") from exc
    still = missing_tools()
    if still:
        raise LabError(f"still missing after installing packages: {', '.join(still)}")


def first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return ""


def chunks(items: Sequence, size: int) -> Iterable[Sequence]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
