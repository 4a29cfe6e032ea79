"""Base and host images for the lab, built once and cached in podman's store.

* base image, one per Debian release: a debootstrap minbase root with systemd,
  sshd, python3 and python3-apt, imported into podman. Slow (about a minute
  each), so it is cached under a recipe hash and rebuilt only when the recipe
  changes or ``lab down --purge`` removed it.
* host image: the base plus the lab's own apt source (and nothing else), the
  admin user, sshd settings and the OLD versions of the lab packages installed,
  so every host starts with known pending updates. Cheap; rebuilt whenever the
  repository or the provisioning recipe changes.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import re
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .config import RELEASES, LabConfig
from .system import LabError, log, run

IMAGE_REPO = "localhost/patchpilot-lab"
RECIPE_LABEL = "io.patchpilot.lab.recipe"
KIND_LABEL = "io.patchpilot.lab.image"

#: Packages on top of debootstrap's minbase.
BASE_PACKAGES = (
    "openssh-server", "python3", "python3-apt", "systemd", "systemd-sysv", "dbus",
    "iproute2", "sudo", "procps", "apt-utils", "gpgv",
    # the package snapshot rebuilds installed packages; the btrfs snapshot provider
    "dpkg-repack", "btrfs-progs",
)
BASE_RECIPE_VERSION = "1"

REPO_MOUNT = "/srv/patchpilot-repo"
KEYRING = "/etc/apt/keyrings/patchpilot-lab.gpg"
ADMIN_USER = "patchpilot"


def base_image(release: str) -> str:
    return f"{IMAGE_REPO}/base:debian{release}"


def host_image(release: str, real: bool = False) -> str:
    kind = "host-real" if real else "host"
    return f"{IMAGE_REPO}/{kind}:debian{release}"


def lab_sources(faults: bool = False) -> str:
    """The apt source lines every lab host carries: the lab repository and nothing else."""
    components = "main faults" if faults else "main"
    return (
        f"deb [signed-by={KEYRING}] file:{REPO_MOUNT}/archive lab {components}\n"
        f"deb [signed-by={KEYRING}] file:{REPO_MOUNT}/archive lab-security main\n"
    )


@contextlib.contextmanager
def build_lock(cfg: LabConfig):
    """One image/repository build at a time on this machine, whatever the lab prefix."""
    cfg.cache_dir.mkdir(parents=True, exist_ok=True)
    with open(cfg.cache_dir / ".build.lock", "w", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def image_recipe(image: str) -> str | None:
    proc = run(["podman", "image", "inspect", "--format", "{{json .Labels}}", image], check=False)
    if proc.returncode != 0:
        return None
    try:
        labels = json.loads(proc.stdout.strip() or "null") or {}
    except json.JSONDecodeError:
        return None
    return labels.get(RECIPE_LABEL)


# --- mirrors ---------------------------------------------------------------

def _deb822_entries(text: str):
    for stanza in re.split(r"\n\s*\n", text):
        fields = {}
        for line in stanza.splitlines():
            if line.startswith("#") or ":" not in line or line[:1].isspace():
                continue
            key, _, value = line.partition(":")
            fields[key.strip().lower()] = value.strip()
        if "deb" in fields.get("types", "").split() and fields.get("uris"):
            for uri in fields["uris"].split():
                yield uri, fields.get("suites", "").split(), fields.get("components", "").split()


def _one_line_entries(text: str):
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        match = re.match(r"^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)((?:\s+\S+)*)$", line)
        if match:
            yield match.group(1), [match.group(2)], match.group(3).split()


#: Where this machine's apt sources live (tests point it at sample files).
ETC_APT = Path("/etc/apt")


def machine_mirrors(etc_apt: Path | None = None) -> tuple[str | None, str | None]:
    """The Debian archive and security mirrors this machine's own apt sources use.

    Both from entries of Debian's ``main`` component: the archive's suite is a codename
    the lab knows (``bookworm``, ``bookworm-updates``), the security mirror's ends in
    ``-security`` (or ``/updates`` before Debian 11). Other repositories are ignored.
    """
    etc_apt = ETC_APT if etc_apt is None else etc_apt
    entries = []
    for path in sorted((etc_apt / "sources.list.d").glob("*.sources")):
        entries += list(_deb822_entries(path.read_text(encoding="utf-8", errors="replace")))
    for path in [etc_apt / "sources.list", *sorted((etc_apt / "sources.list.d").glob("*.list"))]:
        if path.is_file():
            entries += list(_one_line_entries(path.read_text(encoding="utf-8", errors="replace")))
    archive = security = None
    codenames = set(RELEASES.values())
    for uri, suites, components in entries:
        if not uri.startswith(("http://", "https://", "file:")) or "main" not in components:
            continue
        if any(s.endswith("-security") or s.endswith("/updates") for s in suites):
            security = security or uri
        elif any(s.split("-")[0] in codenames for s in suites):
            archive = archive or uri
    return archive, security


def debian_mirror(cfg: LabConfig) -> str:
    """The Debian archive the lab builds from: LAB_MIRROR, else the one this machine's apt uses."""
    mirror = cfg.mirror or machine_mirrors()[0]
    if not mirror:
        raise LabError(
            f"no Debian mirror found in {ETC_APT}/sources.list{{,.d}}; set LAB_MIRROR to one "
            "(e.g. the http URL your machine installs Debian packages from)"
        )
    return mirror


# --- base images -------------------------------------------------------------

def _base_recipe(release: str) -> str:
    text = json.dumps([BASE_RECIPE_VERSION, release, RELEASES[release], BASE_PACKAGES])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _build_base(cfg: LabConfig, release: str, mirror: str) -> None:
    image = base_image(release)
    recipe = _base_recipe(release)
    workdir = Path(tempfile.mkdtemp(prefix=f"base-{release}-", dir=cfg.cache_dir))
    root = workdir / "root"
    try:
        log(f"bootstrapping Debian {release} ({RELEASES[release]}) from {mirror}; about a minute")
        run(["debootstrap", "--variant=minbase", f"--include={','.join(BASE_PACKAGES)}",
             RELEASES[release], str(root), mirror],
            what=f"debootstrap {RELEASES[release]}", timeout=1800)
        tarball = workdir / "root.tar"
        run(["tar", "-C", str(root), "--numeric-owner", "-cf", str(tarball), "."],
            what="tar of the base root")
        run(["podman", "import", "--change", "CMD=/sbin/init",
             "--change", f"LABEL {RECIPE_LABEL}={recipe}",
             "--change", f"LABEL {KIND_LABEL}=base",
             str(tarball), image], what=f"podman import {image}", timeout=600)
        if image_recipe(image) != recipe:
            raise LabError(f"podman import of {image} did not record its recipe label")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def ensure_base_images(cfg: LabConfig, releases: set[str]) -> None:
    todo = [r for r in sorted(releases) if image_recipe(base_image(r)) != _base_recipe(r)]
    if not todo:
        return
    mirror = debian_mirror(cfg)
    with ThreadPoolExecutor(max_workers=3) as pool:
        for future in [pool.submit(_build_base, cfg, r, mirror) for r in todo]:
            future.result()


# --- host images -----------------------------------------------------------

def _provision_script(real_sources: str) -> str:
    """Shell run once inside a container of the base image to make the host image."""
    return f"""set -eu
export DEBIAN_FRONTEND=noninteractive LANG=C
rm -f /etc/apt/sources.list /etc/apt/sources.list.d/*
install -d -m 0755 /etc/apt/keyrings
install -m 0644 {REPO_MOUNT}/archive/patchpilot-lab.gpg {KEYRING}
cat > /etc/apt/sources.list.d/patchpilot-lab.list <<'EOF'
{lab_sources().rstrip()}
EOF
{real_sources}
apt-get update -q
apt-get install -y -q --no-install-recommends {REPO_MOUNT}/seed/*.deb
apt-get clean
id {ADMIN_USER} >/dev/null 2>&1 || useradd --create-home --shell /bin/bash --comment 'patchpilot lab admin' {ADMIN_USER}
install -d -m 0700 -o {ADMIN_USER} -g {ADMIN_USER} /home/{ADMIN_USER}/.ssh
printf '%s\\n' '{ADMIN_USER} ALL=(ALL:ALL) NOPASSWD: ALL' > /etc/sudoers.d/{ADMIN_USER}
chmod 0440 /etc/sudoers.d/{ADMIN_USER}
install -d -m 0755 /etc/ssh/sshd_config.d
cat > /etc/ssh/sshd_config.d/patchpilot-lab.conf <<'EOF'
# The lab mounts each host's own ed25519 key here; the controller knows it in advance.
HostKey /etc/ssh/ssh_host_ed25519_key
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
UseDNS no
EOF
rm -f /etc/ssh/ssh_host_*
# Each container gets its own machine id at boot.
: > /etc/machine-id
rm -f /var/lib/dbus/machine-id
"""


def _real_sources(cfg: LabConfig, release: str) -> str:
    security = machine_mirrors()[1]
    if not security:
        raise LabError("real mode needs a Debian security mirror in this machine's apt sources")
    codename = RELEASES[release]
    archive = debian_mirror(cfg)
    return (
        "cat > /etc/apt/sources.list.d/debian-real.list <<'EOF'\n"
        f"deb {archive} {codename} main\n"
        f"deb {security} {codename}-security main\n"
        "EOF"
    )


def _host_recipe(cfg: LabConfig, release: str, repo_hash: str, script: str) -> str:
    base_id = run(["podman", "image", "inspect", "--format", "{{.Id}}", base_image(release)],
                  what="podman image inspect").stdout.strip()
    text = json.dumps([base_id, repo_hash, script, cfg.real])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _build_host(cfg: LabConfig, release: str, repo_hash: str) -> None:
    image = host_image(release, cfg.real)
    script = _provision_script(_real_sources(cfg, release) if cfg.real else "")
    recipe = _host_recipe(cfg, release, repo_hash, script)
    if image_recipe(image) == recipe:
        return
    log(f"building host image {image}")
    builder = f"patchpilot-lab-build-{release}{'-real' if cfg.real else ''}"
    run(["podman", "rm", "-f", builder], check=False)
    network = [] if cfg.real else ["--network", "none"]
    try:
        run(["podman", "run", "--name", builder, *network,
             "-v", f"{cfg.repo_dir}:{REPO_MOUNT}:ro", "--systemd", "false",
             base_image(release), "/bin/sh", "-c", script],
            what=f"provisioning {image}", timeout=1200)
        run(["podman", "commit", "-q", "--change", "CMD=/sbin/init",
             "--change", f"LABEL {RECIPE_LABEL}={recipe}",
             "--change", f"LABEL {KIND_LABEL}=host",
             builder, image], what=f"podman commit {image}", timeout=600)
    finally:
        run(["podman", "rm", "-f", builder], check=False)


def ensure_images(cfg: LabConfig, releases: set[str], repo_hash: str) -> None:
    with build_lock(cfg):
        ensure_base_images(cfg, releases)
        for release in sorted(releases):
            _build_host(cfg, release, repo_hash)


def remove_images() -> list[str]:
    proc = run(["podman", "images", "--format", "{{.Repository}}:{{.Tag}}",
                "--filter", f"reference={IMAGE_REPO}/*"], check=False)
    images = [line for line in proc.stdout.split() if line.startswith(IMAGE_REPO)]
    if images:
        run(["podman", "rmi", "-f", *images], check=False)
    return images
