# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""apt backend: what ``apt-get dist-upgrade`` would do, as update records.

Resolves in-process with python3-apt where it is importable (one cache, no
round trip per package), else runs ``apt-get -s dist-upgrade`` and parses it.
Both paths give the same records: upgrades, newly pulled-in dependencies,
removals and packages apt keeps back.
"""

from __future__ import annotations

import email.utils
import fnmatch
import gzip
import io
import os
import re
import tarfile
import time

from ansible_collections.patchpilot.fleet.plugins.module_utils.apt_simulation import (
    AptSimulationError,
    parse_apt_simulation,
)
from ansible_collections.patchpilot.fleet.plugins.module_utils.candidates import CandidatesError, parse_apt_policy
from ansible_collections.patchpilot.fleet.plugins.module_utils.records import (
    BackendError,
    classify_release,
    make_index,
    make_update,
    upstream_major,
)

APT_ENV = {"LANG": "C", "LC_ALL": "C", "DEBIAN_FRONTEND": "noninteractive"}
ARCHIVES = "/var/cache/apt/archives"
LISTS = "/var/lib/apt/lists"
_TRAILER_RE = re.compile(r"^ -- .+?  (\S.*)$", re.M)


def changelog_date(text: str) -> str | None:
    """The date of the newest entry of a Debian changelog (its first trailer line), ISO."""
    match = _TRAILER_RE.search(text)
    if not match:
        return None
    try:
        return email.utils.parsedate_to_datetime(match.group(1).strip()).date().isoformat()
    except (TypeError, ValueError):
        return None


def staged_deb(name: str, version: str | None, arch: str | None, archives: str = ARCHIVES) -> str | None:
    """The candidate's .deb if it is already downloaded (staged) in apt's archive cache."""
    if not version or not arch:
        return None
    path = os.path.join(archives, f"{name}_{version.replace(':', '%3a')}_{arch}.deb")
    return path if os.path.isfile(path) else None


def staged_release_date(run, name: str, version: str | None, arch: str | None, archives: str = ARCHIVES) -> str | None:
    """The changelog date of a staged candidate: read from the .deb on the host, no network."""
    path = staged_deb(name, version, arch, archives)
    if not path:
        return None
    rc, out, _err = run(["dpkg-deb", "--fsys-tarfile", "--", path], binary=True)
    if rc != 0 or not out:
        return None
    try:
        with tarfile.open(fileobj=io.BytesIO(out)) as tar:
            for member in tar.getmembers():
                if member.name.lstrip("./") == f"usr/share/doc/{name}/changelog.Debian.gz" and member.isfile():
                    handle = tar.extractfile(member)
                    return changelog_date(gzip.decompress(handle.read()).decode("utf-8", "replace"))
    except (tarfile.TarError, OSError, EOFError):
        return None
    return None


def reboot_hint(name: str, patterns) -> bool | None:
    """True when the package matches a reboot pattern; apt itself carries no reboot data."""
    if not patterns:
        return None
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


def classify(origins: list[dict], vendor_origins, installed: str | None, candidate: str | None) -> tuple[str, dict]:
    """Pick the origin that decides the classification and return (classification, source).

    A candidate offered by several archives (Debian publishes a security fix
    in the security suite and, later, in the point release) is security when
    any of them is a security archive.
    """
    best = None
    best_class = None
    for origin in origins:
        cls = classify_release(origin.get("origin"), origin.get("label"), origin.get("suite"), vendor_origins)
        if best is None or (cls == "security" and best_class != "security"):
            best, best_class = origin, cls
    if best is None:
        return "other", {}
    if best_class == "bugfix" and installed and candidate and upstream_major(installed) != upstream_major(candidate):
        best_class = "enhancement"
    return best_class, best


def _record(name, arch, installed, candidate, origins, effect, options, run=None):
    classification, source = classify(origins, options.get("vendor_origins") or (), installed, candidate)
    released = None
    if run and candidate:
        released = staged_release_date(run, name, candidate, arch, options.get("apt_archives") or ARCHIVES)
    return make_update(
        released=released, name=name, installed_version=installed, candidate_version=candidate, arch=arch,
        source={k: source.get(k) for k in ("repository", "origin", "label", "suite")},
        classification=classification, reboot=reboot_hint(name, options.get("reboot_packages")),
        effect=effect, backend="apt",
    )


# --- python3-apt -----------------------------------------------------------------

def _repository_of(uri: str | None) -> str | None:
    if not uri:
        return None
    return uri.split("/pool/", 1)[0] if "/pool/" in uri else uri.rsplit("/", 1)[0]


def _version_origins(version) -> list[dict]:
    found = []
    uri = None
    try:
        uri = version.uri
    except Exception:  # pylint: disable=broad-except  # a version with no downloadable file
        uri = None
    for origin in version.origins:
        if origin.archive == "now":  # dpkg's status file, not an archive
            continue
        found.append({"repository": _repository_of(uri), "origin": origin.origin or None,
                      "label": origin.label or None, "suite": origin.archive or origin.codename or None})
    return found


def collect_python_apt(apt, options, run=None) -> list:
    """Resolve with python3-apt (``apt`` is the imported module) from the index as it is."""
    try:
        cache = apt.Cache()  # the index is refreshed before, by refresh_index
        if cache.broken_count:
            raise BackendError(f"apt: {cache.broken_count} broken package(s); run 'dpkg --audit' and 'apt-get -f install'")
        cache.upgrade(dist_upgrade=True)
    except BackendError:
        raise
    except Exception as exc:  # pylint: disable=broad-except  # python3-apt raises many types
        raise BackendError(f"apt: {type(exc).__name__}: {exc}") from exc
    records = []
    for pkg in cache.get_changes():
        arch = pkg.candidate.architecture if pkg.candidate else None
        if pkg.marked_delete:
            records.append(_record(pkg.shortname, pkg.installed.architecture if pkg.installed else arch,
                                   pkg.installed.version if pkg.installed else None, None, [], "removal", options))
        elif pkg.marked_install:
            records.append(_record(pkg.shortname, arch, None, pkg.candidate.version,
                                   _version_origins(pkg.candidate), "new_dependency", options, run))
        elif pkg.marked_upgrade or pkg.marked_downgrade:
            records.append(_record(pkg.shortname, arch, pkg.installed.version, pkg.candidate.version,
                                   _version_origins(pkg.candidate), "upgrade", options, run))
    changed = {pkg.name for pkg in cache.get_changes()}
    for pkg in cache:
        if pkg.is_upgradable and pkg.name not in changed:
            records.append(_record(pkg.shortname, pkg.candidate.architecture, pkg.installed.version,
                                   pkg.candidate.version, _version_origins(pkg.candidate), "kept_back", options))
    return records


# --- apt-get -s fallback ------------------------------------------------------------

def _sim_origins(sources: list[dict]) -> list[dict]:
    # apt-get prints the Release file's Label before the colon; it has no Origin.
    return [{"repository": None, "origin": s.get("origin"), "label": s.get("origin"), "suite": s.get("suite")}
            for s in sources]


def collect_apt_get(run, options) -> list:
    """Resolve with ``apt-get -s dist-upgrade`` (no python3-apt) from the index as it is."""
    rc, out, err = run(["apt-get", "-s", "-q", "dist-upgrade"], environ_update=APT_ENV)
    try:
        parsed = parse_apt_simulation((out or "") + ("\n" + err if rc != 0 and err else ""))
    except AptSimulationError as exc:
        raise BackendError(f"apt-get -s dist-upgrade: {exc}") from exc
    if rc != 0:
        raise BackendError(f"apt-get -s dist-upgrade failed (exit {rc}): {_last_error(err or out)}")
    records = []
    for item in parsed["upgrades"]:
        records.append(_record(item["name"], item["arch"], item["installed_version"], item["candidate_version"],
                               _sim_origins(item["sources"]), "upgrade", options, run))
    for item in parsed["new"]:
        records.append(_record(item["name"], item["arch"], None, item["candidate_version"],
                               _sim_origins(item["sources"]), "new_dependency", options, run))
    for item in parsed["removals"]:
        records.append(_record(item["name"], item["arch"], item["installed_version"], None, [], "removal", options))
    if parsed["kept_back"]:
        records += _kept_back(run, parsed["kept_back"], options)
    return records


def _kept_back(run, names, options) -> list:
    """Versions of kept-back packages, from one ``apt-cache policy`` call for all of them."""
    rc, out, _err = run(["apt-cache", "policy", "--", *names], environ_update=APT_ENV)
    if rc != 0:
        return []
    try:
        found = parse_apt_policy(out or "")
    except CandidatesError:
        return []
    return [_record(name.split(":")[0], None, item["installed"], item["candidate"], [], "kept_back", options)
            for name, item in found.items() if item["installed"] and item["candidate"]]


def _last_error(text: str) -> str:
    lines = [ln.strip() for ln in (text or "").splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith(("E:", "Error:", "W:"))]
    return (errors or lines or ["no output"])[-1]


# --- the index refresh ----------------------------------------------------------------

_PROGRESS_RE = re.compile(r"^(Err|Ign|Get|Hit):\d+ (.*)$")
_NOTICE_RE = re.compile(r"^([EWN]): (.*)$")
_FETCH_RE = re.compile(r"^Failed to fetch (\S+)\s+(.*)$")
_REPOSITORY_RE = re.compile(r"^The repository '([^']+)' ")
_GPG_RE = re.compile(r"^GPG error: (\S+ \S+) \S+: ")
#: apt's closing line after failed downloads: it names no source, the lines before it do.
_SUMMARY = "Some index files failed to download."


def _source_of_description(description: str) -> str:
    """``URI SUITE`` from apt's item description (``http://example.org/debian stable InRelease``,
    ``http://example.org/debian stable/main amd64 Packages``)."""
    words = description.split()
    if len(words) < 2:
        return description.strip()
    suite = words[1] if words[1].startswith(".") else words[1].split("/", 1)[0]
    return f"{words[0]} {suite}"


def _source_of_url(url: str) -> str:
    """``URI SUITE`` from the URL of an index file (``.../debian/dists/stable/InRelease``)."""
    if "/dists/" in url:
        base, rest = url.split("/dists/", 1)
        return f"{base} {rest.split('/', 1)[0]}"
    return url.rsplit("/", 1)[0] + " ./"


def parse_apt_update(text: str) -> dict:
    """What ``apt-get update`` said went wrong, from its output (stdout and stderr, LANG=C).

    Returns ``{"errors": [{"source", "message"}], "fatal": [lines]}``: ``errors``
    has one entry per failing source (``URI SUITE`` as apt names it) with apt's
    own words (several joined by "; "), in the order apt reported them;
    ``fatal`` the E: lines that name no source (a held lock, a broken
    sources.list): with a non-zero exit they stop the scan.
    """
    found: dict = {}
    fatal = []

    def add(source, message):
        message = " ".join(message.split())
        messages = found.setdefault(source, [])
        if message and not any(message in said for said in messages):  # the W: line repeats the Err: one
            messages.append(message)

    lines = (text or "").splitlines()
    index = 0
    while index < len(lines):
        line = lines[index].rstrip()
        index += 1
        progress = _PROGRESS_RE.match(line)
        if progress:
            detail = []
            while index < len(lines) and lines[index].startswith("  "):
                detail.append(lines[index].strip())
                index += 1
            if progress.group(1) == "Err":
                add(_source_of_description(progress.group(2)), " ".join(detail))
            continue
        notice = _NOTICE_RE.match(line)
        if not notice or notice.group(1) == "N":
            continue
        kind, words = notice.groups()
        fetch = _FETCH_RE.match(words)
        repository = _REPOSITORY_RE.match(words) or _GPG_RE.match(words)
        if fetch:
            add(_source_of_url(fetch.group(1)), fetch.group(2))
        elif repository:
            add(_source_of_description(repository.group(1)), words)
        elif kind == "E" and not words.startswith(_SUMMARY):
            fatal.append(words)
    errors = [{"source": source, "message": "; ".join(messages) or "failed"} for source, messages in found.items()]
    return {"errors": errors, "fatal": fatal}


def index_age(lists_dir: str = LISTS, now: float | None = None) -> int | None:
    """Seconds since the newest index file under ``lists_dir`` changed; None with no index at all.

    apt gives each downloaded index file the server's modification time, so
    this is the age of the newest index data the host holds.
    """
    newest = None
    try:
        names = os.listdir(lists_dir)
    except OSError:
        return None
    for name in names:
        if name in ("lock", "partial", "auxfiles"):
            continue
        path = os.path.join(lists_dir, name)
        try:
            if os.path.isfile(path) and (newest is None or os.stat(path).st_mtime > newest):
                newest = os.stat(path).st_mtime
        except OSError:
            continue
    if newest is None:
        return None
    return max(0, int((time.time() if now is None else now) - newest))


def refresh_index(run, options, lists_dir: str = LISTS) -> dict:
    """Refresh the index with ``apt-get update`` unless told not to; the index record (records.make_index).

    A source that cannot be refreshed (404, connection refused, bad
    signature) leaves the index stale, not the scan failed: its errors are
    returned with the index's age before the attempt, and the host is
    scanned from the index it has. Anything else apt-get update stops on (a
    held lock) is a BackendError.
    """
    age = index_age(lists_dir)
    if not options.get("update_cache"):
        return make_index(refreshed=False, age_seconds=age)
    rc, out, err = run(["apt-get", "update", "-q"], environ_update=APT_ENV)
    parsed = parse_apt_update((out or "") + "\n" + (err or ""))
    if rc != 0 and (parsed["fatal"] or not parsed["errors"]):
        raise BackendError(f"apt-get update failed (exit {rc}): "
                           f"{'; '.join(parsed['fatal']) or _last_error(err or out)}")
    if parsed["errors"]:
        return make_index(refreshed=False, age_seconds=age, errors=parsed["errors"])
    return make_index(refreshed=True, age_seconds=index_age(lists_dir))


def scan(run, options, apt_module=None, lists_dir: str = LISTS) -> tuple:
    """Entry point for the module: ``(records, index)``; python3-apt if given, else apt-get."""
    index = refresh_index(run, options, lists_dir)
    if apt_module is not None:
        return collect_python_apt(apt_module, options, run), index
    return collect_apt_get(run, options), index


def collect(run, options, apt_module=None) -> list:
    """The records alone (see scan)."""
    return scan(run, options, apt_module)[0]
