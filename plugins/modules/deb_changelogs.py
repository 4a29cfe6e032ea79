#!/usr/bin/python
# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ansible module: where an apt host's updates come from, and their Debian changelogs."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: deb_changelogs
short_description: Find the source package and changelog of apt updates
version_added: 0.2.0
description:
  - "With O(state=resolve) (the default), says for each package version its Debian source package
    and version, the archive component, the repository that offers it, and the URL of its
    changelog when that repository publishes changelogs (a C(Changelogs:) field in its Release
    file, as Debian's archive has). Reads apt's index only: C(apt-cache show) and C(apt-cache policy)."
  - "With O(state=extracted), reads each package version's changelog from its repository when the
    package has a C(changelog_url) (http, https with the host's proxy settings, or file; 15 s
    timeout); otherwise, or when that fails, downloads the package's .deb into a temporary folder
    (C(apt-get download)), reads C(/usr/share/doc/PACKAGE/changelog.Debian.gz) out of it and
    returns the changelog's entries (CVE ids, urgency, date, DSA/DLA ids). Where that folder is a
    symlink to another binary package of the same source (library packages), that package's .deb
    is read instead. The temporary folder is removed; nothing is installed."
  - Both states change nothing on the host and support check mode. The controller keeps what was
    learned in its changelog cache, so a changelog is read once per source version for a whole fleet.
options:
  packages:
    description:
      - The package versions, each with C(name) and C(version); for O(state=extracted) also C(source),
        C(source_version) and C(changelog_url) when known (what O(state=resolve) returned).
      - Update records of M(patchpilot.fleet.missing_updates) may be passed as they are - their
        C(candidate_version) is the version; records other than upgrades are left out.
    type: list
    elements: dict
    required: true
  state:
    description:
      - V(resolve) to find sources and changelog URLs, V(extracted) to read changelogs out of .debs.
    type: str
    choices: [resolve, extracted]
    default: resolve
  max_entries:
    description:
      - The most changelog entries returned per package (the newest).
    type: int
    default: 400
extends_documentation_fragment:
  - action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: debian
author:
  - patchpilot developers (@patchpilot)
"""

EXAMPLES = r"""
- name: Find the sources and changelog URLs of the pending updates
  patchpilot.fleet.deb_changelogs:
    packages: "{{ scan_updates.updates }}"
  register: sources

- name: Read two changelogs out of their packages
  patchpilot.fleet.deb_changelogs:
    state: extracted
    packages:
      - {name: libssl3, version: 3.0.15-1~deb12u1, source: openssl, source_version: 3.0.15-1~deb12u1}
"""

RETURN = r"""
packages:
  description: With O(state=resolve), one entry per package version apt knows.
  returned: state is resolve
  type: list
  elements: dict
  sample:
    - name: libssl3
      version: 3.0.15-1~deb12u1
      source: openssl
      source_version: 3.0.15-1~deb12u1
      component: main
      repository: http://deb.example.org/debian bookworm
      changelog_url: https://metadata.example.org/changelogs/main/o/openssl/openssl_3.0.15-1~deb12u1_changelog
unknown:
  description: With O(state=resolve), the package versions apt does not know, each with the reason.
  returned: state is resolve
  type: list
  elements: dict
changelogs:
  description:
    - With O(state=extracted), one entry per package version, with C(entries) (newest first, see
      the debian_changelog module_utils) and C(origin) (the .deb read), or C(missing) saying why
      nothing was found.
  returned: state is extracted
  type: list
  elements: dict
"""

import gzip
import os
import pwd
import shutil
import tempfile
from urllib.parse import unquote, urlsplit

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import fetch_url

from ansible_collections.patchpilot.fleet.plugins.module_utils.apt_release import (
    ReleaseError,
    changelog_url,
    list_file_prefix,
    parse_release,
)
from ansible_collections.patchpilot.fleet.plugins.module_utils.candidates import CandidatesError, parse_apt_policy
from ansible_collections.patchpilot.fleet.plugins.module_utils.deb_archive import (
    MAX_CHANGELOG,
    ArchiveError,
    changelog_text,
    doc_members,
)
from ansible_collections.patchpilot.fleet.plugins.module_utils.deb_origin import (
    OriginError,
    changelog_member,
    parse_apt_show,
    parse_repository,
    source_of,
)
from ansible_collections.patchpilot.fleet.plugins.module_utils.debian_changelog import parse

_ENV = {"LANG": "C", "LC_ALL": "C"}
_NO_CACHE = ["-o", "Dir::Cache::pkgcache=", "-o", "Dir::Cache::srcpkgcache="]
_LISTS = "/var/lib/apt/lists"


def _run(module, argv, cwd=None, ok=(0,)):
    rc, out, err = module.run_command(argv, environ_update=_ENV, cwd=cwd)
    if rc not in ok:
        raise OriginError(f"{' '.join(argv[:2])} failed (rc {rc}): {' '.join((err or out).split())[-400:]}")
    return out


def _upgrades(packages):
    """The items that name a package version: update records other than upgrades are left out."""
    return [dict(item, version=item.get("version") or item.get("candidate_version")) for item in packages
            if isinstance(item, dict) and item.get("effect", "upgrade") == "upgrade"]


def _pairs(packages):
    found = []
    for index, item in enumerate(packages):
        name, version = item.get("name"), item.get("version")
        if not isinstance(name, str) or not name or not isinstance(version, str) or not version \
                or name.startswith("-") or any(c.isspace() for c in name + version):
            raise OriginError(f"packages[{index}]: expected name and version, got {item!r}")
        found.append((name, version))
    return found


def _release_fields(uri, suite, cache):
    key = (uri, suite)
    if key not in cache:
        cache[key] = {}
        try:
            prefix = list_file_prefix(uri, suite)
        except ReleaseError:
            return cache[key]
        for name in ("InRelease", "Release"):
            path = os.path.join(_LISTS, f"{prefix}_{name}")
            try:
                with open(path, encoding="utf-8", errors="replace") as handle:
                    cache[key] = parse_release(handle.read())
                break
            except OSError:
                continue
    return cache[key]


def resolve(module, packages):
    pairs = _pairs(packages)
    if not pairs:
        return {"packages": [], "unknown": []}
    names = sorted({name for name, _version in pairs})
    policy = parse_apt_policy(_run(module, ["apt-cache"] + _NO_CACHE + ["policy", "--"] + names))
    # apt-cache show exits 100 when one of the versions is unknown: the others are still shown.
    shown = parse_apt_show(_run(module, ["apt-cache"] + _NO_CACHE + ["show", "--"]
                                + [f"{name}={version}" for name, version in pairs], ok=(0, 100)))
    found, unknown, releases = [], [], {}
    for name, version in pairs:
        fields = shown.get((name, version))
        if fields is None:
            unknown.append({"name": name, "version": version, "reason": "apt does not know this version"})
            continue
        origin = source_of(fields)
        offered = next((v for v in (policy.get(name) or {}).get("versions", []) if v["version"] == version), None)
        repository = None
        for line in (offered or {}).get("repositories", []):
            repository = parse_repository(line)
            if repository:
                break
        url, problem = None, None
        if repository:
            template = _release_fields(repository["uri"], repository["suite"], releases).get("changelogs")
            try:
                url = changelog_url(template, origin["source"], origin["source_version"], origin["component"])
            except ReleaseError as exc:
                problem = str(exc)
        entry = {"name": name, "version": version, **origin, "changelog_url": url,
                 "repository": f"{repository['uri']} {repository['suite']}" if repository else None}
        if problem:
            entry["problem"] = problem
        found.append(entry)
    return {"packages": found, "unknown": unknown}


def _download(module, folder, name, version):
    """The path of NAME=VERSION's .deb, downloaded into a new folder below ``folder``."""
    target = tempfile.mkdtemp(dir=folder)
    try:  # apt downloads as _apt when that user can write the folder, and warns when it cannot
        account = pwd.getpwnam("_apt")
        os.chown(target, account.pw_uid, account.pw_gid)
    except (KeyError, OSError):
        pass
    rc, out, err = module.run_command(["apt-get", "-q", "download", "--", f"{name}={version}"], cwd=target,
                                      environ_update=_ENV)
    if rc != 0:
        raise OriginError(f"apt-get download {name}={version} failed (rc {rc}): {' '.join((err or out).split())[-400:]}")
    debs = [entry for entry in os.listdir(target) if entry.endswith(".deb")]
    if len(debs) != 1:
        raise OriginError(f"apt-get download {name}={version} left {len(debs)} .deb files")
    return os.path.join(target, debs[0])


def _members(module, deb, name):
    try:
        return doc_members(deb, name)
    except ArchiveError:
        # a data.tar Python cannot read (zstd): dpkg-deb unpacks the package into a folder
        unpacked = tempfile.mkdtemp(dir=os.path.dirname(deb))
        _run(module, ["dpkg-deb", "-x", "--", deb, unpacked])
        doc = os.path.join(unpacked, "usr", "share", "doc", name)
        found = {}
        if os.path.islink(doc):
            return {f"./usr/share/doc/{name}": (os.readlink(doc), None)}
        for entry in (os.listdir(doc) if os.path.isdir(doc) else ()):
            path = os.path.join(doc, entry)
            data = None
            if not os.path.islink(path) and entry in ("changelog.Debian.gz", "changelog.gz"):
                with open(path, "rb") as handle:
                    data = handle.read()
            found[f"./usr/share/doc/{name}/{entry}"] = (os.readlink(path) if os.path.islink(path) else "", data)
        return found


def _other_version(module, other, source, source_version, version):
    """The version of binary ``other`` built from the same source version (else ``version``)."""
    shown = parse_apt_show(_run(module, ["apt-cache"] + _NO_CACHE + ["show", "--", other], ok=(0, 100)))
    for (_name, candidate), fields in shown.items():
        try:
            origin = source_of(fields)
        except OriginError:
            continue
        if origin["source"] == source and origin["source_version"] == source_version:
            return candidate
    return version


def _published(module, url, max_entries):
    """The entries of the changelog the repository publishes at ``url``, or None when it cannot be read."""
    parts = urlsplit(url)
    data = None
    if parts.scheme == "file":
        path = unquote(parts.path)
        try:
            if os.path.isfile(path) and not os.path.islink(path) and os.path.getsize(path) <= MAX_CHANGELOG:
                with open(path, "rb") as handle:
                    data = handle.read()
        except OSError:
            data = None
    else:
        response, info = fetch_url(module, url, timeout=15)
        if response is not None and info.get("status") == 200:
            data = response.read(MAX_CHANGELOG + 1)
            if len(data) > MAX_CHANGELOG:
                data = None
    if not data:
        return None
    if data[:2] == b"\x1f\x8b":  # a server may hand out the changelog compressed
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError):
            return None
    entries = parse(data.decode("utf-8", "replace"))
    return entries[:max_entries] or None


def extract_one(module, folder, item, max_entries):
    name, version = item["name"], item["version"]
    source, source_version = item.get("source") or name, item.get("source_version") or version
    result = {"name": name, "version": version, "source": source, "source_version": source_version}
    if item.get("changelog_url"):
        entries = _published(module, item["changelog_url"], max_entries)
        if entries:
            return dict(result, origin=item["changelog_url"], entries=entries)
    deb = _download(module, folder, name, version)
    members = _members(module, deb, name)
    kind, where = changelog_member({path: link for path, (link, _data) in members.items()}, name)
    origin = f"deb:{os.path.basename(deb)}"
    if kind == "link":
        other_version = _other_version(module, where, source, source_version, version)
        deb = _download(module, folder, where, other_version)
        members = _members(module, deb, where)
        kind, where = changelog_member({path: link for path, (link, _data) in members.items()}, where)
        origin += f" -> deb:{os.path.basename(deb)}"
    if kind != "file" or members[where][1] is None:
        return dict(result, origin=origin, entries=[], missing="no Debian changelog in the package")
    entries = parse(changelog_text(members[where][1]))
    if not entries:
        return dict(result, origin=origin, entries=[], missing="the package's changelog has no Debian entries")
    return dict(result, origin=origin, entries=entries[:max_entries])


def extract(module, packages, max_entries):
    _pairs(packages)
    folder = tempfile.mkdtemp(prefix="patchpilot-changelogs-")
    os.chmod(folder, 0o755)
    try:
        changelogs = []
        for item in packages:
            try:
                changelogs.append(extract_one(module, folder, item, max_entries))
            except (OriginError, ArchiveError, OSError) as exc:
                changelogs.append({"name": item["name"], "version": item["version"],
                                   "source": item.get("source") or item["name"],
                                   "source_version": item.get("source_version") or item["version"],
                                   "entries": [], "missing": str(exc)})
        return {"changelogs": changelogs}
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main():
    module = AnsibleModule(
        argument_spec={
            "packages": {"type": "list", "elements": "dict", "required": True},
            "state": {"type": "str", "choices": ["resolve", "extracted"], "default": "resolve"},
            "max_entries": {"type": "int", "default": 400},
        },
        supports_check_mode=True,
    )
    params = module.params
    try:
        packages = _upgrades(params["packages"])
        if params["state"] == "resolve":
            result = resolve(module, packages)
        else:
            result = extract(module, packages, max(1, params["max_entries"]))
    except (OriginError, CandidatesError) as exc:
        module.fail_json(msg=f"deb_changelogs: {exc}")
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
