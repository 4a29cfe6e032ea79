#!/usr/bin/python
# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ansible module: exact .deb files of a list of packages in one folder, in one round trip."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: deb_files
short_description: Get, keep or check the exact .deb files of a list of packages in one folder
version_added: 0.3.0
description:
  - Works on one folder of the host and a list of packages, all in one call, instead of a
    task (an ssh round trip) per package and per step.
  - O(mode=download) gets exactly each O(packages[].version) from the host's apt
    repositories with C(apt-get download), reusing a file already in the folder when its
    name, size and checksum are the repository's (C(apt-get download --print-uris)).
  - O(mode=keep) keeps each package at O(packages[].version) as a .deb; a file already in
    the folder with those control fields is reused, else C(apt-get download) when the
    repository still offers that version, else C(dpkg-repack) of the installed files when
    that version is the installed one. Every file is checked with C(dpkg-deb --field).
  - O(mode=verify) only reads the sha256 of each file of O(checksums) and tells which are
    missing or differ. It needs neither apt nor dpkg, so it runs on any host (an RPM host's
    staged files too) and on the controller.
  - Fails naming every package it could not get; nothing is left half-done in the folder
    (scratch folders of C(dpkg-repack) are removed).
options:
  path:
    description: The folder of the files. O(mode=download) and O(mode=keep) make it (mode 0700) when missing.
    type: path
    required: true
  mode:
    description: What to do, see the description.
    type: str
    choices: [download, keep, verify]
    required: true
  packages:
    description:
      - The packages, for O(mode=download) and O(mode=keep).
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Package name.
        type: str
        required: true
      version:
        description: Exact version, with its epoch if it has one.
        type: str
        required: true
      arch:
        description:
          - Architecture. For O(mode=keep) it names the file (C(name_version_arch.deb), the
            epoch's colon as C(%3a), as apt names it) and is checked in the control fields.
        type: str
  checksums:
    description: File name (in O(path)) to its expected sha256, for O(mode=verify).
    type: dict
    default: {}
  prune:
    description:
      - O(mode=download) only. Remove every other entry of the folder (files outside the
        list, corrupt copies), so the folder holds exactly the packages.
    type: bool
    default: false
  timeout:
    description: Seconds each C(apt-get download) may take before it is killed.
    type: int
    default: 600
extends_documentation_fragment:
  - action_common_attributes
attributes:
  check_mode:
    support: full
    details: Nothing is downloaded, repacked or removed; the result says what would be.
  diff_mode:
    support: none
  platform:
    platforms: posix
    details: O(mode=download) and O(mode=keep) need apt and dpkg (Debian, Ubuntu); O(mode=verify) needs nothing.
author:
  - patchpilot developers (@patchpilot)
"""

EXAMPLES = r"""
- name: Stage the plan's versions in the host cache
  patchpilot.fleet.deb_files:
    path: /var/cache/patchpilot/runs/r1/packages
    mode: download
    prune: true
    packages:
      - {name: pplab-seclib, version: 1.0-1+lab1sec1}
      - {name: pplab-web, version: 1.0-2}

- name: Keep the installed versions for a rollback
  patchpilot.fleet.deb_files:
    path: /var/cache/patchpilot/runs/r1/rollback
    mode: keep
    packages:
      - {name: pplab-seclib, version: 1.0-1, arch: all}

- name: Check files against their checksums (also on the controller)
  patchpilot.fleet.deb_files:
    path: /srv/archive/packages
    mode: verify
    checksums:
      pplab-web_1.0-2_all.deb: 5f0c5d7b4b1c3c0a2b9b0f3c6f4ad2d8f3b4e8b4f4f2a4c6c2f0f1f9a6b0c1d2
  delegate_to: localhost
"""

RETURN = r"""
packages:
  description: One entry per package of O(packages), in their order (O(mode=download), O(mode=keep)).
  returned: O(mode=download) or O(mode=keep)
  type: list
  elements: dict
  contains:
    name: {description: Package name., type: str, returned: always, sample: pplab-web}
    version: {description: Version., type: str, returned: always, sample: 1.0-2}
    arch: {description: Architecture., type: str, returned: always, sample: all}
    file: {description: File name in O(path)., type: str, returned: always, sample: pplab-web_1.0-2_all.deb}
    sha256:
      description: The file's sha256 (in check mode, for a file not yet there, the repository's when it gives sha256, else empty).
      type: str
      returned: always
    size: {description: Size in bytes., type: int, returned: always, sample: 2044}
    method:
      description: V(kept) (already in the folder), V(download), V(repack), or in check mode V(would download) / V(would repack).
      type: str
      returned: always
      sample: download
removed:
  description: Entries of the folder removed by O(prune) (in check mode, that would be).
  returned: O(mode=download)
  type: list
  elements: str
files:
  description: O(mode=verify) - each file of O(checksums) with C(exists), C(sha256) and C(size).
  returned: O(mode=verify)
  type: dict
missing:
  description: O(mode=verify) - files of O(checksums) not in the folder; on failure, the packages that could not be got, with why.
  returned: O(mode=verify) or failure
  type: list
  elements: str
corrupt:
  description: O(mode=verify) - files whose sha256 differs from O(checksums).
  returned: O(mode=verify)
  type: list
  elements: str
good:
  description: O(mode=verify) - files whose sha256 is the expected one.
  returned: O(mode=verify)
  type: list
  elements: str
"""

import hashlib
import os
import shutil
import tempfile

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.patchpilot.fleet.plugins.module_utils.deb_files import (  # noqa: F401 (deb_name, parse_* re-exported)
    deb_name,
    flat,
    parse_fields,
    parse_print_uris,
)

ENV = {"LANG": "C", "LC_ALL": "C"}
# apt reads file: sources as _apt; a root-only folder would make it print a
# sandbox warning per package, so download as root.
APT_OPTIONS = ["-q", "-o", "APT::Sandbox::User=root"]


class DebFilesError(Exception):
    """A problem to report as the module's one failure message."""

    def __init__(self, msg, **details):
        super().__init__(msg)
        self.details = details


def file_digest(path, algo="sha256"):
    """Hex digest and size of a file, or (None, None) when it is not a regular file."""
    if not os.path.isfile(path):
        return None, None
    try:
        digest = hashlib.new(algo)
    except ValueError:
        return None, os.path.getsize(path)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest(), os.path.getsize(path)


class DebFiles:
    """The three modes over one folder; commands go through run_command with argv lists."""

    def __init__(self, module):
        self.module = module
        self.path = module.params["path"]
        self.timeout = module.params["timeout"]
        self.check = module.check_mode
        self.changed = False

    def run(self, argv, cwd=None):
        return self.module.run_command(argv, cwd=cwd, environ_update=ENV)

    def make_folder(self):
        if os.path.isdir(self.path):
            return
        if os.path.exists(self.path):
            raise DebFilesError(f"{self.path} exists and is not a folder")
        self.changed = True
        if not self.check:
            os.makedirs(self.path, mode=0o700)

    def apt_download(self, specs, cwd):
        """apt-get download of name=version specs into cwd under the time limit: (rc, stderr)."""
        argv = ["timeout", "--kill-after=10", str(self.timeout), "apt-get", "download"] + APT_OPTIONS + ["--"] + specs
        rc, _out, err = self.run(argv, cwd=cwd)
        return rc, err

    @staticmethod
    def spec(pkg):
        return f"{pkg['name']}={pkg['version']}"

    # -- download ---------------------------------------------------------------------------

    def download(self, packages, prune):
        expected, missing = [], []
        for pkg in packages:
            rc, out, err = self.run(["apt-get", "download", "--print-uris", "-q", "--", self.spec(pkg)])
            uri = parse_print_uris(out) if rc == 0 else None
            if uri is None:
                missing.append(f"{self.spec(pkg)} ({flat(err) or flat(out) or 'no download URI'})")
                continue
            expected.append(dict(pkg, **uri))
        if missing:
            raise DebFilesError("the repository cannot give " + "; ".join(missing), missing=missing)
        self.make_folder()

        good = set()
        for exp in expected:
            digest, size = file_digest(os.path.join(self.path, exp["file"]), exp["algo"])
            if digest == exp["digest"] and size == exp["size"]:
                good.add(exp["file"])

        removed = []
        if prune and os.path.isdir(self.path):
            for entry in sorted(os.listdir(self.path)):
                if entry in good:
                    continue
                removed.append(entry)
                if not self.check:
                    target = os.path.join(self.path, entry)
                    if os.path.isdir(target) and not os.path.islink(target):
                        shutil.rmtree(target)
                    else:
                        os.unlink(target)
        if removed:
            self.changed = True

        todo = [exp for exp in expected if exp["file"] not in good]
        if todo:
            self.changed = True
            if not self.check:
                rc, err = self.apt_download([self.spec(exp) for exp in todo], self.path)
                if rc != 0:
                    why = f"timed out after {self.timeout} s" if rc in (124, 137) else f"exited {rc}"
                    raise DebFilesError(f"apt-get download {why}: {flat(err)}", rc=rc, removed=removed)

        result, bad = [], []
        for exp in expected:
            fresh = exp["file"] not in good
            if self.check and fresh:
                sha = exp["digest"] if exp["algo"] == "sha256" else ""
                size = exp["size"]
            else:
                path = os.path.join(self.path, exp["file"])
                sha, size = file_digest(path)
                digest = sha if exp["algo"] == "sha256" else file_digest(path, exp["algo"])[0]
                if sha is None or size != exp["size"] or digest != exp["digest"]:
                    bad.append(exp["file"])
            result.append({"name": exp["name"], "version": exp["version"], "arch": exp["arch"], "file": exp["file"],
                           "sha256": sha or "", "size": size,
                           "method": ("would download" if self.check else "download") if fresh else "kept"})
        if bad:
            raise DebFilesError("size or checksum differs from the repository's for " + ", ".join(bad),
                                corrupt=bad, removed=removed)
        return {"packages": result, "removed": removed}

    # -- keep -------------------------------------------------------------------------------

    def fields_problem(self, path, pkg):
        """None when the file's control fields are the package's, else what is wrong."""
        rc, out, err = self.run(["dpkg-deb", "--field", "--", path, "Package", "Version", "Architecture"])
        if rc != 0:
            return f"dpkg-deb --field failed (rc {rc}): {flat(err, 300)}"
        fields = parse_fields(out)
        want = {"Package": pkg["name"], "Version": pkg["version"]}
        if pkg.get("arch"):
            want["Architecture"] = pkg["arch"]
        if any(fields.get(k) != v for k, v in want.items()):
            return "its control fields are " + ", ".join(f"{k}: {fields.get(k, '?')}" for k in ("Package", "Version", "Architecture"))
        return None

    def installed_version(self, name):
        rc, out, _err = self.run(["dpkg-query", "-W", "-f", "${Version}\\t${db:Status-Abbrev}", "--", name])
        if rc != 0:
            return None
        version, _tab, status = out.partition("\t")
        return version if status[1:2] not in ("n", "c", "") else None

    def repack(self, pkg, target):
        """dpkg-repack into a scratch folder beside the folder, moved in as target: None or why not."""
        have = self.installed_version(pkg["name"])
        if have != pkg["version"]:
            return f"dpkg-repack not tried: installed version is {have or 'none'}"
        scratch = tempfile.mkdtemp(prefix=".repack-", dir=os.path.dirname(self.path.rstrip("/")) or "/")
        try:
            rc, out, err = self.run(["dpkg-repack", "--", pkg["name"]], cwd=scratch)
            made = [f for f in os.listdir(scratch) if f.endswith(".deb")]
            if rc != 0 or len(made) != 1:
                return f"dpkg-repack failed (rc {rc}: {flat(err + ' ' + out, 500)})"
            os.chmod(os.path.join(scratch, made[0]), 0o600)
            shutil.move(os.path.join(scratch, made[0]), target)
            return None
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def keep(self, packages):
        for pkg in packages:
            if not pkg.get("arch"):
                raise DebFilesError(f"mode keep needs packages[].arch (missing for {self.spec(pkg)})")
        self.make_folder()
        entries = []
        for pkg in packages:
            file = deb_name(pkg["name"], pkg["version"], pkg["arch"])
            entries.append({"pkg": pkg, "file": file, "path": os.path.join(self.path, file), "method": None, "why": []})

        for entry in entries:
            if os.path.isfile(entry["path"]):
                problem = self.fields_problem(entry["path"], entry["pkg"])
                if problem is None:
                    entry["method"] = "kept"
                    continue
                entry["why"].append(f"the file there was no good: {problem}")
                self.changed = True
                if not self.check:
                    os.unlink(entry["path"])

        todo = [e for e in entries if e["method"] is None]
        if todo and self.check:
            # Ask the repository without downloading.
            for entry in todo:
                rc, out, _err = self.run(["apt-get", "download", "--print-uris", "-q", "--", self.spec(entry["pkg"])])
                entry["method"] = "would download" if rc == 0 and parse_print_uris(out) else "would repack"
            self.changed = True
            todo = []
        if todo:
            self.changed = True
            # All at once first; when one version is missing apt downloads nothing, so one by one then.
            rc, err = self.apt_download([self.spec(e["pkg"]) for e in todo], self.path)
            if rc == 0:
                for entry in todo:
                    entry["method"] = "download"
            else:
                for entry in todo:
                    rc, err = self.apt_download([self.spec(entry["pkg"])], self.path)
                    if rc == 0:
                        entry["method"] = "download"
                    else:
                        entry["why"].append(f"apt-get download failed ({flat(err, 300)})")
            for entry in todo:
                if entry["method"] == "download" and not os.path.isfile(entry["path"]):
                    entry["why"].append(f"apt-get download made no {entry['file']}")
                    entry["method"] = None
                if entry["method"] is None:
                    problem = self.repack(entry["pkg"], entry["path"])
                    if problem is None:
                        entry["method"] = "repack"
                    else:
                        entry["why"].append(problem)

        failures, result = [], []
        for entry in entries:
            pkg = entry["pkg"]
            if entry["method"] is None:
                failures.append(f"{self.spec(pkg)}: " + " and ".join(entry["why"]))
                continue
            if entry["method"].startswith("would"):
                sha, size = "", 0
            else:
                problem = self.fields_problem(entry["path"], pkg)
                if problem:
                    failures.append(f"{self.spec(pkg)}: {entry['path']} is not {pkg['name']} {pkg['version']} {pkg['arch']}: {problem}")
                    continue
                sha, size = file_digest(entry["path"])
            result.append({"name": pkg["name"], "version": pkg["version"], "arch": pkg["arch"], "file": entry["file"],
                           "sha256": sha, "size": size, "method": entry["method"]})
        if failures:
            raise DebFilesError("cannot keep " + "; ".join(failures), missing=failures, packages=result)
        return {"packages": result}

    # -- verify -----------------------------------------------------------------------------

    def verify(self, checksums):
        files, missing, corrupt, good = {}, [], [], []
        for name in sorted(checksums):
            if "/" in name or name in ("", ".", ".."):
                raise DebFilesError(f"checksums: {name!r} is not a file name in {self.path}")
            sha, size = file_digest(os.path.join(self.path, name))
            files[name] = {"exists": sha is not None, "sha256": sha, "size": size}
            if sha is None:
                missing.append(name)
            elif sha != str(checksums[name]).lower():
                corrupt.append(name)
            else:
                good.append(name)
        return {"files": files, "missing": missing, "corrupt": corrupt, "good": good}


def main():
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "required": True},
            "mode": {"type": "str", "required": True, "choices": ["download", "keep", "verify"]},
            "packages": {"type": "list", "elements": "dict", "default": [], "options": {
                "name": {"type": "str", "required": True},
                "version": {"type": "str", "required": True},
                "arch": {"type": "str"},
            }},
            "checksums": {"type": "dict", "default": {}},
            "prune": {"type": "bool", "default": False},
            "timeout": {"type": "int", "default": 600},
        },
        supports_check_mode=True,
    )
    params = module.params
    if params["timeout"] <= 0:
        module.fail_json(msg=f"timeout must be a positive number of seconds, got {params['timeout']}")
    files = DebFiles(module)
    try:
        if params["mode"] == "download":
            result = files.download(params["packages"], params["prune"])
        elif params["mode"] == "keep":
            result = files.keep(params["packages"])
        else:
            result = files.verify(params["checksums"])
    except DebFilesError as exc:
        module.fail_json(msg=str(exc), changed=files.changed, **exc.details)
    except OSError as exc:
        module.fail_json(msg=f"{params['path']}: {exc}", changed=files.changed)
    module.exit_json(changed=files.changed, **result)


if __name__ == "__main__":
    main()
