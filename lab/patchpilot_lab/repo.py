"""Build the lab's signed local apt repository with known pending updates.

Layout of DEST (built once, cached by spec hash)::

    DEST/archive/            reprepro's tree; apt reads dists/ and pool/
    DEST/archive/patchpilot-lab.gpg   public key, binary keyring for signed-by=
    DEST/seed/*.deb          the old versions every lab host starts with
    DEST/manifest.json       the truth that scans are compared against
    DEST/../gnupg/           the signing key (kept across rebuilds, never in DEST)

Usage::

    python3 -m patchpilot_lab.repo build DEST [--force]
    python3 -m patchpilot_lab.repo manifest DEST

Stdlib only.  Every external command gets an argv list; every foreseeable
problem becomes a RepoError with a one-line message.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import ctypes.util
import errno
import fcntl
import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Iterator

from . import packages as spec

MANIFEST_FORMAT = 1
KEY_UID = "Patchpilot Lab Archive <lab@patchpilot.invalid>"
KEYRING_NAME = "patchpilot-lab.gpg"
REPO_MOUNT = "/srv/patchpilot-repo"
HOST_KEYRING = "/etc/apt/keyrings/patchpilot-lab.gpg"
ARCHITECTURES = ("amd64", "arm64")
ORIGIN = "Patchpilot Lab"

# Where the security suite publishes its packages' changelogs, as Debian's archive
# does (a Changelogs: field in its Release file, @CHANGEPATH@ filled by apt's rule:
# COMPONENT/PREFIX/SOURCE/SOURCE_VERSION). A file: URL, read on the hosts, which
# mount the repository; the lab suite publishes none (its changelogs are read out
# of the packages), so both ways are tested.
CHANGELOGS_DIR = "changelogs"
CHANGELOGS_URL = f"file:{REPO_MOUNT}/archive/{CHANGELOGS_DIR}/@CHANGEPATH@_changelog"

# Release metadata; the security suite is marked the way Debian marks its own
# (Debian: Origin "Debian", Label "Debian-Security", Suite "stable-security").
DISTRIBUTIONS = (
    {
        "Origin": ORIGIN,
        "Label": ORIGIN,
        "Suite": spec.DIST_LAB,
        "Codename": spec.DIST_LAB,
        "Components": f"{spec.COMPONENT_MAIN} {spec.COMPONENT_FAULTS}",
        "Description": "Patchpilot lab packages (main) and broken updates (faults)",
    },
    {
        "Origin": ORIGIN,
        "Label": f"{ORIGIN}-Security",
        "Suite": spec.DIST_SECURITY,
        "Codename": spec.DIST_SECURITY,
        "Components": spec.COMPONENT_MAIN,
        "Description": "Patchpilot lab security updates",
    },
)

TOOLS = {
    "reprepro": "apt-get install reprepro",
    "gpg": "apt-get install gpg",
    "dpkg-deb": "apt-get install dpkg",
}

# Unix socket paths are limited to 108 bytes; gpg-agent puts its sockets into
# the home directory when /run/user/UID does not exist.
_GNUPG_HOME_MAX = 60


class RepoError(Exception):
    """A foreseeable problem while building or reading the repository."""


# --------------------------------------------------------------------------
# Small helpers.


def _run(argv: list[str], *, env: dict[str, str] | None = None,
         what: str | None = None) -> bytes:
    """Run one command; return stdout, or raise RepoError naming ``what`` failed."""
    try:
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, env=env,
                              check=False)
    except FileNotFoundError:
        raise RepoError(f"required tool {argv[0]!r} not found on PATH") from None
    except OSError as exc:
        raise RepoError(f"cannot run {argv[0]}: {exc.strerror}") from None
    if proc.returncode != 0:
        lines = [line.strip() for line in proc.stderr.decode(errors="replace").splitlines()]
        lines = [line for line in lines if line] or ["no error output"]
        detail = lines[-1]
        for line in lines:  # prefer the first line that says what went wrong
            if "error" in line.lower():
                detail = line
                break
        what = what or Path(argv[0]).name
        raise RepoError(f"{what} failed (exit {proc.returncode}): {detail}")
    return proc.stdout


def _require_tools(env: dict[str, str]) -> dict[str, str]:
    found = {}
    for tool, hint in TOOLS.items():
        path = shutil.which(tool, path=env.get("PATH", os.defpath))
        if path is None:
            raise RepoError(f"required tool {tool!r} not found on PATH ({hint})")
        found[tool] = path
    return found


def _tool_env() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("GNUPG", "GPG_", "DEB", "DPKG"))}
    env["LC_ALL"] = "C.UTF-8"
    env["TZ"] = "UTC"
    return env


def spec_hash() -> str:
    """Hash of the package spec and this builder: a change of either rebuilds."""
    digest = hashlib.sha256(b"patchpilot-lab-repo\0")
    for name in ("packages.py", "repo.py"):
        digest.update(name.encode() + b"\0")
        digest.update((Path(__file__).parent / name).read_bytes())
    return digest.hexdigest()


def _write(path: Path, data: bytes | str, mode: int = 0o644, mtime: int | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    os.chmod(path, mode)
    if mtime is not None:
        os.utime(path, (mtime, mtime))


def _normalise_modes(root: Path) -> None:
    """World-readable tree: apt reads file: sources as the _apt user."""
    for dirpath, dirnames, filenames in os.walk(root):
        os.chmod(dirpath, 0o755)
        for name in filenames:
            path = os.path.join(dirpath, name)
            if not os.path.islink(path):
                os.chmod(path, 0o644)


# --------------------------------------------------------------------------
# Signing key.


@contextlib.contextmanager
def _gnupg_home(path: Path) -> Iterator[str]:
    """The key directory, via a short symlink if its path is too long for sockets."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    if len(str(path)) <= _GNUPG_HOME_MAX:
        yield str(path)
        return
    with tempfile.TemporaryDirectory(prefix="pplab-g") as short:
        link = Path(short) / "h"
        link.symlink_to(path)
        yield str(link)


def _stop_agent(home: str, env: dict[str, str]) -> None:
    """Stop the gpg-agent that gpg or reprepro started for this key directory."""
    gpgconf = shutil.which("gpgconf", path=env.get("PATH", os.defpath))
    if gpgconf:
        subprocess.run([gpgconf, "--homedir", home, "--kill", "gpg-agent"],
                       capture_output=True, env=env, check=False)


def _secret_fingerprint(gpg: str, home: str, env: dict[str, str]) -> str | None:
    out = _run([gpg, "--homedir", home, "--batch", "--with-colons",
                "--list-secret-keys"], env=env, what="gpg --list-secret-keys").decode()
    current = None
    for line in out.splitlines():
        fields = line.split(":")
        if fields[0] == "sec":
            current = "sec"
        elif fields[0] == "fpr" and current == "sec":
            current = fields[9]
        elif fields[0] == "uid" and current and current != "sec" and fields[9] == KEY_UID:
            return current
    return None


def _ensure_key(gpg: str, home: str, env: dict[str, str]) -> str:
    """Fingerprint of the archive key; generate it (once) if there is none."""
    fpr = _secret_fingerprint(gpg, home, env)
    if fpr:
        return fpr
    _run([gpg, "--homedir", home, "--batch", "--pinentry-mode", "loopback",
          "--passphrase", "", "--quick-generate-key", KEY_UID, "ed25519", "sign", "never"],
         env=env, what="gpg key generation")
    fpr = _secret_fingerprint(gpg, home, env)
    if not fpr:
        raise RepoError(f"gpg generated no key with uid {KEY_UID!r} in {home}")
    return fpr


# --------------------------------------------------------------------------
# Package builds.


def _deb_name(name: str, version: str) -> str:
    return f"{name}_{version.split(':')[-1]}_all.deb"


def _build_deb(pkg: spec.Package, ver: spec.Version, work: Path, out_dir: Path,
               tools: dict[str, str], env: dict[str, str]) -> Path:
    """Build one .deb reproducibly (fixed mtimes, root ownership, sorted tar)."""
    root = work / f"{pkg.name}_{ver.version}"
    epoch = ver.epoch
    doc = f"/usr/share/doc/{pkg.name}"
    files: list[tuple[str, bytes, int]] = [
        (f"{doc}/changelog.Debian.gz",
         gzip.compress(spec.changelog_text(pkg, ver).encode(), compresslevel=9, mtime=0),
         0o644),
        (f"{doc}/copyright", spec.copyright_text(pkg).encode(), 0o644),
    ]
    files += [(path, text.encode(), mode) for path, text, mode in ver.files]
    files += [(f"{spec.UNIT_DIR}/{svc.unit}", spec.unit_text(pkg, ver, svc).encode(), 0o644)
              for svc in ver.services]
    md5sums = []
    size_kib = 0
    for path, data, mode in sorted(files):
        _write(root / path.lstrip("/"), data, mode)
        md5sums.append(f"{hashlib.md5(data).hexdigest()}  {path.lstrip('/')}\n")
        size_kib += max(1, -(-len(data) // 1024))
    dirs = {p for path, _, _ in files for p in Path(path).parents if str(p) != "/"}
    size_kib += len(dirs)
    control = root / "DEBIAN"
    _write(control / "control", spec.control_text(pkg, ver, size_kib))
    _write(control / "md5sums", "".join(md5sums))
    for name, text in spec.maintainer_scripts(pkg, ver).items():
        _write(control / name, text, 0o755)
    for dirpath, _, filenames in os.walk(root):
        os.chmod(dirpath, 0o755)
        for name in filenames + [""]:
            os.utime(os.path.join(dirpath, name), (epoch, epoch))
    deb = out_dir / _deb_name(pkg.name, ver.version)
    build_env = dict(env, SOURCE_DATE_EPOCH=str(epoch))
    _run([tools["dpkg-deb"], "--root-owner-group", "-Zxz", "--build", str(root), str(deb)],
         env=build_env, what=f"dpkg-deb --build {deb.name}")
    os.utime(deb, (epoch, epoch))
    return deb


# --------------------------------------------------------------------------
# The archive.


def _distributions_conf(fingerprint: str) -> str:
    blocks = []
    for dist in DISTRIBUTIONS:
        fields = dict(dist)
        fields["Architectures"] = " ".join(ARCHITECTURES)
        fields["SignWith"] = fingerprint
        fields["Signed-By"] = fingerprint
        fields["DebIndices"] = "Packages Release . .gz"
        blocks.append("".join(f"{key}: {value}\n" for key, value in fields.items()))
    return "\n".join(blocks)


def _publish(archive: Path, debs: dict[tuple[str, str], list[Path]], fingerprint: str,
             home: str, tools: dict[str, str], env: dict[str, str]) -> None:
    _write(archive / "conf" / "distributions", _distributions_conf(fingerprint))
    _write(archive / "conf" / "options", "basedir .\n")
    rep_env = dict(env, GNUPGHOME=home)
    base = [tools["reprepro"], "--silent", "--basedir", str(archive)]
    for (dist, component), files in sorted(debs.items()):
        _run(base + ["--export=never", "--component", component, "includedeb", dist]
             + [str(path) for path in files], env=rep_env,
             what=f"reprepro includedeb {dist}/{component}")
    _run(base + ["export"], env=rep_env, what="reprepro export (signing)")
    _publish_changelogs(archive, fingerprint, home, tools, env)
    for dist in DISTRIBUTIONS:
        folder = archive / "dists" / dist["Codename"]
        for name in ("InRelease", "Release.gpg"):
            if not (folder / name).is_file():
                raise RepoError(f"reprepro did not sign {dist['Codename']}: no {name}")


def _change_path(pkg: spec.Package, ver: spec.Version, component: str) -> str:
    """apt's @CHANGEPATH@ (the lab's sources are named as their binaries)."""
    prefix = pkg.name[:4] if pkg.name.startswith("lib") else pkg.name[0]
    return f"{component}/{prefix}/{pkg.name}/{pkg.name}_{ver.version.split(':')[-1]}"


def published_changelogs() -> list[tuple[spec.Package, spec.Version, str]]:
    """(package, version, change path) of every version the security suite publishes a changelog for."""
    return [(pkg, ver, _change_path(pkg, ver, component))
            for pkg in spec.PACKAGES for ver in pkg.versions
            for dist, component in ver.published if dist == spec.DIST_SECURITY]


def _publish_changelogs(archive: Path, fingerprint: str, home: str, tools: dict[str, str],
                        env: dict[str, str]) -> None:
    """The security suite's changelogs and its Release's Changelogs: field, signed again.

    reprepro writes no Changelogs: field: it is added after the export and the
    Release file signed again (InRelease and Release.gpg), as reprepro signs it.
    """
    for pkg, ver, path in published_changelogs():
        _write(archive / CHANGELOGS_DIR / f"{path}_changelog", spec.changelog_text(pkg, ver))
    folder = archive / "dists" / spec.DIST_SECURITY
    release = (folder / "Release").read_text()
    lines = release.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("Codename:")) + 1
    lines.insert(at, f"Changelogs: {CHANGELOGS_URL}")
    _write(folder / "Release", "\n".join(lines) + "\n")
    sign = [tools["gpg"], "--homedir", home, "--batch", "--yes", "--pinentry-mode", "loopback",
            "--passphrase", "", "--local-user", fingerprint, "--digest-algo", "SHA512"]
    _run(sign + ["--clearsign", "--output", str(folder / "InRelease"), str(folder / "Release")],
         env=env, what=f"gpg --clearsign {spec.DIST_SECURITY}/Release")
    _run(sign + ["--armor", "--detach-sign", "--output", str(folder / "Release.gpg"), str(folder / "Release")],
         env=env, what=f"gpg --detach-sign {spec.DIST_SECURITY}/Release")


def _pool_files(archive: Path) -> dict[tuple[str, str], str]:
    """(package, version) -> path of its .deb below DEST, from the published indices."""
    found = {}
    for index in sorted(archive.glob(f"dists/*/*/binary-{ARCHITECTURES[0]}/Packages")):
        fields: dict[str, str] = {}
        for line in index.read_text().splitlines() + [""]:
            if not line.strip():
                if fields:
                    found[(fields["Package"], fields["Version"])] = \
                        f"archive/{fields['Filename']}"
                fields = {}
            elif not line[0].isspace():
                key, _, value = line.partition(":")
                fields[key] = value.strip()
    return found


def _verify(archive: Path, env: dict[str, str]) -> None:
    """Check InRelease against the exported keyring, as apt will."""
    gpgv = shutil.which("gpgv", path=env.get("PATH", os.defpath))
    if gpgv is None:
        return
    for dist in DISTRIBUTIONS:
        _run([gpgv, "--keyring", str(archive / KEYRING_NAME),
              str(archive / "dists" / dist["Codename"] / "InRelease")], env=env,
             what=f"gpgv check of dists/{dist['Codename']}/InRelease")


# --------------------------------------------------------------------------
# Manifest.


def _service_entries(ver: spec.Version | None) -> list[dict]:
    if ver is None:
        return []
    return [
        {
            "unit": svc.unit,
            "port": svc.port,
            "state": svc.state,
            "journal_errors_per_second": svc.journal_errors_per_second,
        }
        for svc in ver.services
    ]


def _dependency_names(ver: spec.Version | None) -> set[str]:
    if ver is None:
        return set()
    return {item.split()[0] for item in ver.depends}


def _breaks_names(ver: spec.Version | None) -> set[str]:
    if ver is None:
        return set()
    return {item.split()[0] for item in ver.breaks}


def _package_entry(pkg: spec.Package, seeded: set[str],
                   pool: dict[tuple[str, str], str]) -> dict:
    seed, cand = pkg.seed, pkg.candidate
    if seed and cand and cand.version != seed.version:
        action = "upgrade"
    elif cand and not seed:
        action = "install"
    else:
        action = None
    new_deps = sorted(name for name in _dependency_names(cand)
                      if name.startswith("pplab-") and name not in seeded)
    removes = sorted(name for name in _breaks_names(cand) if name in seeded)
    removed_by = sorted(
        other.name for other in spec.PACKAGES
        if pkg.name in _breaks_names(other.candidate) and pkg.name in seeded
    )
    if removed_by:
        action = "remove"
    pulled_in_by = sorted(
        other.name for other in spec.PACKAGES
        if pkg.name in _dependency_names(other.candidate) and not seed
    )
    where = cand.published[-1] if cand else (None, None)
    return {
        "name": pkg.name,
        "seed_version": seed.version if seed else None,
        "candidate_version": cand.version if cand else None,
        "candidate_distribution": where[0],
        "candidate_component": where[1],
        "requires_component": where[1] if action else None,
        "action": action,
        "classification": pkg.classification if action in ("upgrade", "install") else None,
        "reboot_required": bool(cand and action and cand.notify_reboot),
        "major_upgrade": pkg.major_upgrade,
        # `apt-get upgrade` never installs or removes packages, so it keeps these back.
        "kept_back_by_apt_get_upgrade": bool(action == "upgrade" and (new_deps or removes)),
        "new_dependencies": new_deps,
        "removes": removes,
        "removed_by": removed_by,
        "pulled_in_by": pulled_in_by,
        "fault": pkg.fault,
        "cves": list(cand.cves) if cand and action else [],
        "services_before": _service_entries(seed),
        "services_after": [] if action == "remove" else _service_entries(cand or seed),
        "versions": [
            {
                "version": ver.version,
                "seed": ver.seed,
                "seed_deb": f"seed/{_deb_name(pkg.name, ver.version)}" if ver.seed else None,
                "pool_deb": pool.get((pkg.name, ver.version)),
                "published": [{"distribution": d, "component": c} for d, c in ver.published],
                "changelog_date": ver.changelog_date,
                "date": ver.date,
                "urgency": ver.urgency,
                "cves": list(ver.cves),
            }
            for ver in pkg.versions
        ],
    }


def _manifest(fingerprint: str, hash_: str, pool: dict[tuple[str, str], str]) -> dict:
    seeded = {pkg.name for pkg in spec.PACKAGES if pkg.seed}
    lines = [
        f"deb [signed-by={HOST_KEYRING}] file:{REPO_MOUNT}/archive {spec.DIST_LAB} "
        f"{spec.COMPONENT_MAIN}",
        f"deb [signed-by={HOST_KEYRING}] file:{REPO_MOUNT}/archive {spec.DIST_SECURITY} "
        f"{spec.COMPONENT_MAIN}",
    ]
    return {
        "format": MANIFEST_FORMAT,
        "spec_hash": hash_,
        # Changes whenever the published content or the signing key changes:
        # the right key for caches of things built from this repository.
        "repo_id": hashlib.sha256(f"{hash_}:{fingerprint}".encode()).hexdigest(),
        "key_fingerprint": fingerprint,
        "key_uid": KEY_UID,
        "keyring": f"archive/{KEYRING_NAME}",
        "mount": REPO_MOUNT,
        "host_keyring": HOST_KEYRING,
        "apt_sources": lines,
        "apt_sources_with_faults": [
            lines[0] + f" {spec.COMPONENT_FAULTS}", lines[1]],
        # The changelogs the security suite publishes (Changelogs: in its Release file).
        "changelogs": {
            "url": CHANGELOGS_URL,
            "published": sorted(f"{pkg.name}={ver.version}" for pkg, ver, _path in published_changelogs()),
        },
        "distributions": [
            dict(dist, Architectures=" ".join(ARCHITECTURES)) for dist in DISTRIBUTIONS
        ],
        "classification_rule": (
            "security: from lab-security (Label 'Patchpilot Lab-Security'); "
            "enhancement: new upstream major version or newly pulled-in package; "
            "bugfix: any other update"
        ),
        "reboot_required_files": ["/run/reboot-required", "/run/reboot-required.pkgs"],
        "kernel_running_version_file": "/run/pplab-kernel/running",
        "seed": sorted(
            f"seed/{_deb_name(pkg.name, pkg.seed.version)}"
            for pkg in spec.PACKAGES if pkg.seed
        ),
        "packages": [_package_entry(pkg, seeded, pool) for pkg in spec.PACKAGES],
    }


def read_manifest(dest: Path) -> dict:
    """The manifest of a built repository."""
    path = Path(dest) / "manifest.json"
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise RepoError(f"no repository at {dest} (missing {path.name}); run 'build' first") \
            from None
    except (OSError, ValueError) as exc:
        raise RepoError(f"cannot read {path}: {exc}") from None


def _is_current(dest: Path, hash_: str) -> dict | None:
    try:
        manifest = json.loads((dest / "manifest.json").read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict) or manifest.get("spec_hash") != hash_:
        return None
    needed = [dest / "archive" / KEYRING_NAME, dest / "seed"]
    needed += [dest / "archive" / "dists" / d["Codename"] / "InRelease" for d in DISTRIBUTIONS]
    if not all(path.exists() for path in needed):
        return None
    return manifest


# --------------------------------------------------------------------------
# Atomic replacement of DEST.


def _exchange(a: Path, b: Path) -> bool:
    """Swap two directories atomically (renameat2 RENAME_EXCHANGE); False if unsupported."""
    libc_name = ctypes.util.find_library("c")
    if not libc_name or not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(libc_name, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    at_fdcwd, rename_exchange = -100, 2
    rc = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    if rc != 0:
        err = ctypes.get_errno()
        if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
            return False
        raise OSError(err, os.strerror(err), str(a))
    return True


def _swap_into_place(new: Path, dest: Path) -> None:
    if not dest.exists():
        os.rename(new, dest)
        return
    if _exchange(new, dest):
        shutil.rmtree(new, ignore_errors=True)  # now holds the old tree
        return
    old = dest.with_name(f".{dest.name}.old-{os.getpid()}")
    os.rename(dest, old)
    try:
        os.rename(new, dest)
    except OSError:
        os.rename(old, dest)
        raise
    shutil.rmtree(old, ignore_errors=True)


# --------------------------------------------------------------------------
# Build.


def _check_dest(dest: Path) -> Path:
    dest = Path(dest).expanduser().absolute()
    if dest.is_symlink():
        raise RepoError(f"destination {dest} is a symlink; give the real directory")
    if dest.exists() and not dest.is_dir():
        raise RepoError(f"destination {dest} exists and is not a directory")
    if dest.parent.exists() and not dest.parent.is_dir():
        raise RepoError(f"parent of {dest} is not a directory")
    return dest


@contextlib.contextmanager
def _locked(dest: Path) -> Iterator[None]:
    """One builder per DEST at a time; the lock file lives beside DEST."""
    lock_path = dest.with_name(f".{dest.name}.lock")
    with open(lock_path, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _build_into(tmp: Path, fingerprint: str, home: str, tools: dict[str, str],
                env: dict[str, str], hash_: str) -> dict:
    work = tmp / ".work"
    built = work / "debs"
    built.mkdir(parents=True)
    seed_dir = tmp / "seed"
    seed_dir.mkdir()
    by_location: dict[tuple[str, str], list[Path]] = {}
    for pkg in spec.PACKAGES:
        for ver in pkg.versions:
            deb = _build_deb(pkg, ver, work / "roots", built, tools, env)
            if ver.seed:
                shutil.copy2(deb, seed_dir / deb.name)
            for location in ver.published:
                by_location.setdefault(location, []).append(deb)
    archive = tmp / "archive"
    _publish(archive, by_location, fingerprint, home, tools, env)
    keyring = _run([tools["gpg"], "--homedir", home, "--batch", "--export",
                    "--export-options", "export-minimal", fingerprint], env=env,
                   what="gpg --export")
    if not keyring:
        raise RepoError(f"gpg exported no public key for {fingerprint}")
    _write(archive / KEYRING_NAME, keyring)
    _verify(archive, env)
    shutil.rmtree(work)
    manifest = _manifest(fingerprint, hash_, _pool_files(archive))
    _write(tmp / "manifest.json", json.dumps(manifest, indent=2, sort_keys=False) + "\n")
    _normalise_modes(tmp)
    return manifest


def build_repo(dest: Path, *, force: bool = False) -> dict:
    """Build the lab repository in DEST (cached by spec hash) and return its manifest."""
    dest = _check_dest(dest)
    hash_ = spec_hash()
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        with _locked(dest):
            if not force:
                current = _is_current(dest, hash_)
                if current is not None:
                    return current
            env = _tool_env()
            tools = _require_tools(env)
            with _gnupg_home(dest.parent / "gnupg") as home:
                try:
                    fingerprint = _ensure_key(tools["gpg"], home, env)
                    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.build-", dir=dest.parent))
                    try:
                        manifest = _build_into(tmp, fingerprint, home, tools, env, hash_)
                        _swap_into_place(tmp, dest)
                    except BaseException:
                        shutil.rmtree(tmp, ignore_errors=True)
                        raise
                finally:
                    _stop_agent(home, env)
    except OSError as exc:
        where = f": {exc.filename}" if exc.filename else ""
        raise RepoError(f"{exc.strerror or exc}{where}") from None
    return manifest


# --------------------------------------------------------------------------
# CLI.


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="repo", description="Build or show the patchpilot lab apt repository.")
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="build DEST (skipped when already current)")
    build.add_argument("dest", type=Path)
    build.add_argument("--force", action="store_true", help="rebuild even if current")
    show = sub.add_parser("manifest", help="print DEST/manifest.json")
    show.add_argument("dest", type=Path)
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            manifest = build_repo(args.dest, force=args.force)
            print(f"repo: {Path(args.dest).absolute()} ready, "
                  f"{len(manifest['packages'])} packages, key {manifest['key_fingerprint']}")
        else:
            json.dump(read_manifest(args.dest), sys.stdout, indent=2)
            sys.stdout.write("\n")
    except RepoError as exc:
        print(f"repo: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("repo: error: interrupted", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
