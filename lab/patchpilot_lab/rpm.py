"""The RPM lab host: a local RPM repository with advisories, and the image that uses it.

Debian carries dnf 4.14, zypper 1.14, rpm 4.18 and createrepo-c, so an RPM
"host" is a Debian 12 lab host with those tools, its own RPM database, and a
``file://`` repository whose updateinfo holds advisories. The real dnf and
zypper then report real pending advisories that the dnf and zypper backends
parse.

Layout of the repository (built on the controller, cached by spec hash)::

    DEST/repo/                 rpm-md repository: every package at its old
                               and its new version, repodata/ with updateinfo
    DEST/repo/updateinfo.xml   the advisories, as added with modifyrepo_c
    DEST/manifest.json         what a scan of an RPM host must find

The host image (``localhost/patchpilot-lab/host-rpm:debian12``) is the lab's
Debian 12 host image plus Debian's RPM tools, ``%_dbpath /var/lib/rpm`` (one
database for rpm, dnf and zypper), the OLD version of every package installed,
the repository configured for dnf and zypper at ``RPM_MOUNT``, and their
metadata caches filled. Hosts carry no package source but the lab's own: the
Debian mirror that provides the RPM tools is added for the build only.

Usage (the lab calls :func:`ensure`)::

    python3 -m patchpilot_lab.rpm build DEST [--force]
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import hashlib
import json
import os
import shutil
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

from . import images
from .config import RELEASES, RPM_RELEASE
from .system import LabError, log, run

RPM_MOUNT = "/srv/patchpilot-rpm"
REPO_ID = "patchpilot-lab"
REPO_NAME = "Patchpilot Lab RPM repository"
VENDOR = "Patchpilot Lab"
PACKAGER = "Patchpilot Lab <lab@patchpilot.invalid>"
ADVISORY_FROM = "security@patchpilot.invalid"
MANIFEST_FORMAT = 1
RELEASE = RPM_RELEASE  # the Debian release the RPM variant is built on

#: Debian packages every RPM host carries (LAB-NOTES: "RPM tools on a Debian host").
HOST_PACKAGES = ("dnf", "rpm", "createrepo-c", "zypper", "python3-dnf")
#: Commands the controller needs to build the repository, by Debian package.
BUILD_TOOLS = {"rpmbuild": "rpm", "createrepo_c": "createrepo-c", "modifyrepo_c": "createrepo-c"}

SECURITY, BUGFIX, ENHANCEMENT = "security", "bugfix", "enhancement"


@dataclasses.dataclass(frozen=True)
class RpmPackage:
    """A noarch package built at its old (installed) and its new (pending) version."""

    name: str
    summary: str
    old: tuple[str, str]  # (version, release)
    new: tuple[str, str]
    old_date: str  # YYYY-MM-DD, changelog date of the old build
    new_date: str
    change: str  # the new version's changelog entry
    epoch: int = 0

    def evr(self, which: str) -> str:
        version, release = self.old if which == "old" else self.new
        return f"{self.epoch}:{version}-{release}" if self.epoch else f"{version}-{release}"

    def filename(self, which: str) -> str:
        version, release = self.old if which == "old" else self.new
        return f"{self.name}-{version}-{release}.noarch.rpm"


@dataclasses.dataclass(frozen=True)
class Advisory:
    """One updateinfo entry: it names the new version of each of its packages."""

    id: str
    type: str  # security | bugfix | enhancement
    severity: str | None  # Red Hat's words: Critical, Important, Moderate, Low
    title: str
    issued: str  # YYYY-MM-DD
    description: str
    packages: tuple[str, ...]
    cves: tuple[str, ...] = ()
    reboot_suggested: bool = False


#: Installed at the old version on every RPM host; the repository has both versions.
#: pprpm-tools-libs carries an epoch, so versions appear as E:V-R somewhere.
PACKAGES = (
    RpmPackage(
        name="pprpm-seclib", summary="lab stand-in for a shared library with a security fix",
        old=("1.0", "1"), new=("1.0", "2"), old_date="2025-11-03", new_date="2026-03-02",
        change="Fix two memory safety bugs (CVE-2026-91001, CVE-2026-91002)",
    ),
    RpmPackage(
        name="pprpm-tools", summary="lab command-line tools with a bug fix",
        old=("1.0", "1"), new=("1.1", "1"), old_date="2025-11-03", new_date="2026-02-16",
        change="Fix the exit status of pprpm-tools check",
    ),
    RpmPackage(
        name="pprpm-tools-libs", summary="library of the lab command-line tools",
        old=("1.0", "1"), new=("1.1", "1"), old_date="2025-11-03", new_date="2026-02-16",
        change="Fix the exit status of pprpm-tools check", epoch=1,
    ),
    RpmPackage(
        name="pprpm-kernel", summary="lab stand-in for a kernel: its update suggests a reboot",
        old=("1.0", "1"), new=("1.1", "1"), old_date="2025-11-03", new_date="2026-03-09",
        change="Add support for the lab's new hardware",
    ),
    RpmPackage(
        name="pprpm-extra", summary="lab package updated without an advisory",
        old=("1.0", "1"), new=("1.0", "2"), old_date="2025-11-03", new_date="2026-01-20",
        change="Rebuild",
    ),
)

#: The advisories of the new versions. CVE ids are in the CVE-2026-9xxxx range
#: no real advisory uses; pprpm-extra's update has no advisory at all.
ADVISORIES = (
    Advisory(
        id="PPRPM-SA-2026-0001", type=SECURITY, severity="Important",
        title="Important: pprpm-seclib security update", issued="2026-03-02",
        description="pprpm-seclib 1.0-2 fixes two memory safety bugs in the lab library.",
        packages=("pprpm-seclib",), cves=("CVE-2026-91001", "CVE-2026-91002"),
    ),
    Advisory(
        id="PPRPM-BA-2026-0002", type=BUGFIX, severity="Moderate",
        title="pprpm-tools bug fix update", issued="2026-02-16",
        description="pprpm-tools 1.1-1 returns the right exit status.",
        packages=("pprpm-tools", "pprpm-tools-libs"),
    ),
    Advisory(
        id="PPRPM-EA-2026-0003", type=ENHANCEMENT, severity=None,
        title="pprpm-kernel enhancement update", issued="2026-03-09",
        description="pprpm-kernel 1.1-1 adds support for new lab hardware; reboot to use it.",
        packages=("pprpm-kernel",), reboot_suggested=True,
    ),
)


def advisory_of(name: str) -> Advisory | None:
    return next((adv for adv in ADVISORIES if name in adv.packages), None)


def host_image() -> str:
    return f"{images.IMAGE_REPO}/host-rpm:debian{RELEASE}"


def spec_hash() -> str:
    """Hash of this module (the package spec and the builder): a change rebuilds."""
    digest = hashlib.sha256(b"patchpilot-lab-rpm\0")
    digest.update(Path(__file__).read_bytes())
    return digest.hexdigest()


# --- the repository ---------------------------------------------------------------

def _spec_text(pkg: RpmPackage, which: str) -> str:
    version, release = pkg.old if which == "old" else pkg.new
    day = datetime.datetime.strptime(pkg.old_date if which == "old" else pkg.new_date, "%Y-%m-%d")
    change = "First lab build" if which == "old" else pkg.change
    epoch = f"Epoch: {pkg.epoch}\n" if pkg.epoch else ""
    return f"""Name: {pkg.name}
{epoch}Version: {version}
Release: {release}
Summary: {pkg.summary}
License: GPL-3.0-or-later
Vendor: {VENDOR}
Packager: {PACKAGER}
BuildArch: noarch

%description
{pkg.summary[0].upper() + pkg.summary[1:]}. Test fixture built by the patchpilot lab.

%install
mkdir -p %{{buildroot}}/usr/share/pprpm/%{{name}}
echo '%{{name}} %{{version}}-%{{release}}' > %{{buildroot}}/usr/share/pprpm/%{{name}}/VERSION

%files
/usr/share/pprpm/%{{name}}

%changelog
* {day.strftime('%a %b %d %Y')} {PACKAGER} - {version}-{release}
- {change}
"""


def _updateinfo_xml() -> bytes:
    by_name = {pkg.name: pkg for pkg in PACKAGES}
    root = ET.Element("updates")
    for adv in ADVISORIES:
        update = ET.SubElement(root, "update", {"from": ADVISORY_FROM, "status": "final",
                                                "type": adv.type, "version": "1"})
        ET.SubElement(update, "id").text = adv.id
        ET.SubElement(update, "title").text = adv.title
        if adv.severity:
            ET.SubElement(update, "severity").text = adv.severity
        ET.SubElement(update, "release").text = REPO_NAME
        ET.SubElement(update, "issued", {"date": f"{adv.issued} 00:00:00"})
        ET.SubElement(update, "updated", {"date": f"{adv.issued} 00:00:00"})
        ET.SubElement(update, "summary").text = adv.title
        ET.SubElement(update, "description").text = adv.description
        refs = ET.SubElement(update, "references")
        for cve in adv.cves:
            ET.SubElement(refs, "reference", {"href": f"https://cve.patchpilot.invalid/{cve}",
                                              "id": cve, "title": cve, "type": "cve"})
        collection = ET.SubElement(ET.SubElement(update, "pkglist"), "collection", {"short": REPO_ID})
        ET.SubElement(collection, "name").text = REPO_NAME
        for name in adv.packages:
            pkg = by_name[name]
            version, release = pkg.new
            entry = ET.SubElement(collection, "package", {
                "name": pkg.name, "epoch": str(pkg.epoch), "version": version, "release": release,
                "arch": "noarch", "src": f"{pkg.name}-{version}-{release}.src.rpm"})
            ET.SubElement(entry, "filename").text = pkg.filename("new")
            if adv.reboot_suggested:
                ET.SubElement(entry, "reboot_suggested").text = "True"
    ET.indent(root)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8") + b"\n"


def manifest_data(hash_: str) -> dict:
    """What a scan of an RPM host must find (written to DEST/manifest.json)."""
    return {
        "format": MANIFEST_FORMAT,
        "spec_hash": hash_,
        "repo_id": hash_,
        "mount": RPM_MOUNT,
        "repository": {"id": REPO_ID, "name": REPO_NAME, "baseurl": f"file://{RPM_MOUNT}/repo"},
        "vendor": VENDOR,
        "releasever": RELEASE,
        "seed": [f"repo/Packages/{pkg.filename('old')}" for pkg in PACKAGES],
        "packages": [
            {
                "name": pkg.name,
                "arch": "noarch",
                "seed_version": pkg.evr("old"),
                "candidate_version": pkg.evr("new"),
                "advisory": advisory_of(pkg.name).id if advisory_of(pkg.name) else None,
            }
            for pkg in PACKAGES
        ],
        "advisories": [
            {
                "id": adv.id,
                "type": adv.type,
                "severity": adv.severity,
                "issued": adv.issued,
                "cves": list(adv.cves),
                "reboot_suggested": adv.reboot_suggested,
                "packages": list(adv.packages),
            }
            for adv in ADVISORIES
        ],
    }


def read_manifest(dest: Path) -> dict | None:
    try:
        data = json.loads((Path(dest) / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _is_current(dest: Path, hash_: str) -> dict | None:
    manifest = read_manifest(dest)
    if not manifest or manifest.get("spec_hash") != hash_:
        return None
    needed = [dest / "repo" / "repodata" / "repomd.xml", *(dest / path for path in manifest.get("seed") or ())]
    return manifest if all(path.is_file() for path in needed) else None


def ensure_build_tools(install: bool = True) -> None:
    """rpmbuild, createrepo_c and modifyrepo_c on the controller, from Debian's packages."""
    missing = [tool for tool in BUILD_TOOLS if shutil.which(tool) is None]
    if not missing:
        return
    packages = sorted({BUILD_TOOLS[tool] for tool in missing})
    if not install:
        raise LabError(f"missing tools for the RPM repository: {', '.join(missing)}; install them with "
                       f"'apt-get install --no-install-recommends {' '.join(packages)}' (LAB_NO_INSTALL is set)")
    log(f"installing Debian packages for the RPM repository: {' '.join(packages)}")
    env = {"DEBIAN_FRONTEND": "noninteractive"}
    run(["apt-get", "update", "-q"], env=env, what="apt-get update", timeout=900)
    run(["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages], env=env,
        what="apt-get install", timeout=1800)
    still = [tool for tool in BUILD_TOOLS if shutil.which(tool) is None]
    if still:
        raise LabError(f"still missing after installing {' '.join(packages)}: {', '.join(still)}")


def _build_into(tmp: Path, hash_: str) -> dict:
    top = tmp / ".rpmbuild"
    packages = tmp / "repo" / "Packages"
    packages.mkdir(parents=True)
    env = {"LC_ALL": "C.UTF-8", "TZ": "UTC", "HOME": str(top)}  # rpm keeps its database in HOME
    for pkg in PACKAGES:
        for which in ("old", "new"):
            spec = top / "SPECS" / f"{pkg.name}-{which}.spec"
            spec.parent.mkdir(parents=True, exist_ok=True)
            spec.write_text(_spec_text(pkg, which), encoding="utf-8")
            run(["rpmbuild", "-bb", "--quiet",
                 "--define", f"_topdir {top}",
                 "--define", "_buildhost patchpilot-lab",
                 "--define", "debug_package %{nil}",
                 "--define", "source_date_epoch_from_changelog 1",
                 "--define", "use_source_date_epoch_as_buildtime 1",
                 "--define", "clamp_mtime_to_source_date_epoch 1",
                 str(spec)], env=env, what=f"rpmbuild {pkg.filename(which)}", timeout=300)
            built = top / "RPMS" / "noarch" / pkg.filename(which)
            if not built.is_file():
                raise LabError(f"rpmbuild did not make {built.name}")
            shutil.move(str(built), packages / built.name)
    repo = tmp / "repo"
    run(["createrepo_c", "--quiet", "--no-database", "--simple-md-filenames", str(repo)],
        env=env, what="createrepo_c", timeout=300)
    updateinfo = repo / "updateinfo.xml"
    updateinfo.write_bytes(_updateinfo_xml())
    run(["modifyrepo_c", "--mdtype=updateinfo", "--simple-md-filenames",
         str(updateinfo), str(repo / "repodata")], env=env, what="modifyrepo_c updateinfo", timeout=300)
    shutil.rmtree(top)
    manifest = manifest_data(hash_)
    (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    for dirpath, _, filenames in os.walk(tmp):  # world-readable: dnf and zypper read it as root, tools as others
        os.chmod(dirpath, 0o755)
        for name in filenames:
            os.chmod(os.path.join(dirpath, name), 0o644)
    return manifest


def build_rpm_repo(dest: Path, *, force: bool = False, install: bool = True) -> dict:
    """Build the RPM repository in DEST (cached by spec hash); return its manifest."""
    dest = Path(dest).absolute()
    hash_ = spec_hash()
    if not force:
        current = _is_current(dest, hash_)
        if current is not None:
            return current
    ensure_build_tools(install)
    log(f"building the lab RPM repository in {dest}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.build-", dir=dest.parent))
    old = dest.with_name(f".{dest.name}.old-{os.getpid()}")
    try:
        manifest = _build_into(tmp, hash_)
        if dest.exists():
            os.rename(dest, old)
        try:
            os.rename(tmp, dest)
        except OSError:
            if old.exists():
                os.rename(old, dest)
            raise
    except OSError as exc:
        raise LabError(f"building the RPM repository in {dest} failed: {exc}") from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)
    return manifest


# --- the host image ----------------------------------------------------------------

def dnf_repo_file() -> str:
    return f"""[{REPO_ID}]
name={REPO_NAME}
baseurl=file://{RPM_MOUNT}/repo
enabled=1
gpgcheck=0
repo_gpgcheck=0
"""


def zypper_repo_file() -> str:
    return f"""[{REPO_ID}]
name={REPO_NAME}
enabled=1
autorefresh=1
baseurl=file://{RPM_MOUNT}/repo
type=rpm-md
gpgcheck=0
repo_gpgcheck=0
pkg_gpgcheck=0
"""


def provision_script(mirror: str, manifest: dict) -> str:
    """Shell run once in a container of the Debian 12 host image to make the RPM host image."""
    seed = " ".join(f"{RPM_MOUNT}/{path}" for path in manifest["seed"])
    return f"""set -eu
export DEBIAN_FRONTEND=noninteractive LANG=C
# Debian's RPM tools come from this machine's Debian mirror, for this build only.
echo 'deb {mirror} {RELEASES[RELEASE]} main' > /etc/apt/sources.list.d/patchpilot-build.list
apt-get update -q
apt-get install -y -q --no-install-recommends {' '.join(HOST_PACKAGES)}
rm -f /etc/apt/sources.list.d/patchpilot-build.list
find /var/lib/apt/lists -maxdepth 1 -type f ! -name lock -delete
apt-get update -q
apt-get clean
# One rpm database for rpm, dnf and zypper (Debian's rpm keeps one per user otherwise).
install -d -m 0755 /etc/rpm /var/lib/rpm
echo '%_dbpath /var/lib/rpm' > /etc/rpm/macros.patchpilot-lab
rpm --initdb
# Debian's rpm refuses to install packages unless told it is meant.
rpm -i --force-debian {seed}
install -d -m 0755 /etc/yum.repos.d /etc/zypp/repos.d
cat > /etc/yum.repos.d/{REPO_ID}.repo <<'EOF'
{dnf_repo_file().rstrip()}
EOF
cat > /etc/zypp/repos.d/{REPO_ID}.repo <<'EOF'
{zypper_repo_file().rstrip()}
EOF
# Fill the metadata caches, as a host's last refresh would have.
dnf -q --releasever={RELEASE} makecache
zypper --non-interactive --quiet refresh
"""


def _recipe(base_id: str, manifest: dict, script: str) -> str:
    text = json.dumps([base_id, manifest["repo_id"], script])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def ensure_image(cfg, manifest: dict) -> None:
    """Build the RPM host image unless it is current (the caller holds the build lock)."""
    base = images.host_image(RELEASE)
    base_id = run(["podman", "image", "inspect", "--format", "{{.Id}}", base],
                  what=f"podman image inspect {base}").stdout.strip()
    mirror = images.debian_mirror(cfg)
    if not mirror.startswith(("http://", "https://")):
        raise LabError("the RPM host image needs Debian's RPM tools from an http(s) Debian mirror: set "
                       "LAB_MIRROR or add one to this machine's apt sources")
    script = provision_script(mirror, manifest)
    image = host_image()
    recipe = _recipe(base_id, manifest, script)
    if images.image_recipe(image) == recipe:
        return
    log(f"building host image {image} (Debian's dnf, zypper and rpm from {mirror}; under a minute)")
    builder = f"patchpilot-lab-build-rpm{RELEASE}"
    run(["podman", "rm", "-f", builder], check=False)
    try:
        # On podman's default network: the build, unlike the hosts, reaches the Debian mirror.
        run(["podman", "run", "--name", builder,
             "-v", f"{cfg.repo_dir}:{images.REPO_MOUNT}:ro",
             "-v", f"{cfg.rpm_repo_dir}:{RPM_MOUNT}:ro", "--systemd", "false",
             base, "/bin/sh", "-c", script], what=f"provisioning {image}", timeout=1800)
        run(["podman", "commit", "-q", "--change", "CMD=/sbin/init",
             "--change", f"LABEL {images.RECIPE_LABEL}={recipe}",
             "--change", f"LABEL {images.KIND_LABEL}=host-rpm",
             builder, image], what=f"podman commit {image}", timeout=600)
    finally:
        run(["podman", "rm", "-f", builder], check=False)


def ensure(cfg) -> dict:
    """The RPM repository and the RPM host image, built when missing or outdated."""
    with images.build_lock(cfg):
        manifest = build_rpm_repo(cfg.rpm_repo_dir, install=cfg.install)
        ensure_image(cfg, manifest)
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="rpm", description="Build the patchpilot lab RPM repository.")
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="build DEST (skipped when already current)")
    build.add_argument("dest", type=Path)
    build.add_argument("--force", action="store_true", help="rebuild even if current")
    args = parser.parse_args(argv)
    try:
        manifest = build_rpm_repo(args.dest, force=args.force)
    except LabError as exc:
        print(f"rpm: error: {exc}", file=sys.stderr)
        return 2
    print(f"rpm: {args.dest.absolute()} ready, {len(manifest['packages'])} packages, "
          f"{len(manifest['advisories'])} advisories")
    return 0


if __name__ == "__main__":
    sys.exit(main())
