"""Quality gates: the checks a change must pass before review.

Each test runs a real tool from the repository root and, on failure, shows
that tool's complete output.
"""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest

# Collection content directories whose files must all reach the tarball.
SHIPPED_DIRS = ("plugins", "roles", "playbooks", "meta", "docs")
SHIPPED_FILES = ("README.md", "COPYING", "meta/runtime.yml", "changelogs/changelog.yaml")

# Paths that must never reach the tarball (lab, tooling, generated output).
FORBIDDEN_PREFIXES = (
    "lab/",
    ".lab/",
    "dev/",
    ".ci/",
    "tools/",
    ".venv/",
    ".ansible/",
    ".cache/",
    ".pytest_cache/",
    ".benchmarks/",
    "tests/output/",
    "inventories/lab/",
    "collections/",
    "playbooks/collections/",
)
FORBIDDEN_NAMES = ("dev", "lab", ".ci", "ansible.cfg", "requirements.txt", "pyproject.toml", "changelogs/.plugin-cache.yaml")

# Generated files planted in git-ignored places for the build test: each
# must be left out by build_ignore.
SENTINELS = (
    "tests/output/patchpilot-build-sentinel.txt",
    "inventories/lab/patchpilot-build-sentinel.yml",
    ".lab/patchpilot-build-sentinel.txt",
)


def describe(argv: list[str], code: int, output: str) -> str:
    """Failure message with the command, its exit code and its output."""
    return f"`{' '.join(argv)}` exited {code}; output:\n{output}"


def test_ansible_lint_production(require_tool, run_tool, collection_link):
    argv = [require_tool("ansible-lint"), "--profile=production", "--offline", "--nocolor"]
    code, output = run_tool(argv, timeout=900)
    assert code == 0, describe(argv, code, output)


@pytest.mark.slow
def test_ansible_test_sanity(require_tool, run_tool, repo_root):
    # The script finds ansible-test on PATH; check here so that a missing
    # tool skips (or fails) with a clear reason instead of exit 2.
    require_tool("ansible-test")
    require_tool("git")
    argv = ["bash", str(repo_root / "tools" / "ansible-test-sanity")]
    code, output = run_tool(argv, timeout=2400)
    assert code == 0, describe(argv, code, output)


def test_changelog_lint(require_tool, run_tool):
    tool = require_tool("antsibull-changelog")
    for argv in (
        [tool, "lint"],
        [tool, "lint-changelog-yaml", "changelogs/changelog.yaml"],
    ):
        code, output = run_tool(argv)
        assert code == 0, describe(argv, code, output)
        # antsibull-changelog reports problems as `path:line:col: message`.
        assert output.strip() == "", describe(argv, code, output)


@pytest.fixture
def planted_sentinels(repo_root):
    """Plant generated-looking files in git-ignored places; remove them after."""
    made_files: list[Path] = []
    made_dirs: list[Path] = []
    for relative in SENTINELS:
        path = repo_root / relative
        missing = [parent for parent in reversed(path.parents) if not parent.exists()]
        for directory in missing:
            directory.mkdir()
            made_dirs.append(directory)
        path.write_text("generated file: must not be packed\n", encoding="utf-8")
        made_files.append(path)
    yield SENTINELS
    for path in made_files:
        path.unlink(missing_ok=True)
    for directory in reversed(made_dirs):
        directory.rmdir()


def test_collection_build(require_tool, run_tool, repo_root, galaxy, tmp_path, planted_sentinels):
    argv = [require_tool("ansible-galaxy"), "collection", "build", "--output-path", str(tmp_path), str(repo_root)]
    code, output = run_tool(argv, timeout=300)
    assert code == 0, describe(argv, code, output)

    tarball = tmp_path / f"{galaxy.namespace}-{galaxy.name}-{galaxy.version}.tar.gz"
    assert tarball.is_file(), f"no {tarball.name} in {sorted(p.name for p in tmp_path.iterdir())}; output:\n{output}"

    with tarfile.open(tarball) as archive:
        members = {member.name.removeprefix("./").rstrip("/") for member in archive.getmembers()}
        manifest = json.load(archive.extractfile("MANIFEST.json"))

    listing = "\n".join(sorted(members))
    for required in ("MANIFEST.json", "FILES.json", *SHIPPED_FILES):
        assert required in members, f"{required} missing from {tarball.name}:\n{listing}"

    expected = set()
    for directory in SHIPPED_DIRS:
        for path in (repo_root / directory).rglob("*"):
            relative = path.relative_to(repo_root)
            if path.is_file() and "__pycache__" not in relative.parts and path.suffix != ".pyc":
                expected.add(relative.as_posix())
    missing = sorted(expected - members)
    assert not missing, f"collection content missing from {tarball.name}: {missing}\ncontents:\n{listing}"

    leaked = sorted(
        name
        for name in members
        if name in FORBIDDEN_NAMES
        or f"{name}/" in FORBIDDEN_PREFIXES
        or name.startswith(FORBIDDEN_PREFIXES)
        or name.endswith((".tar.gz", ".pyc"))
        or "__pycache__" in name.split("/")
    )
    assert not leaked, f"lab, tooling or generated files packed into {tarball.name}: {leaked}"
    for sentinel in planted_sentinels:
        assert sentinel not in members, f"generated file {sentinel} packed into {tarball.name}"

    info = manifest["collection_info"]
    assert (info["namespace"], info["name"], info["version"]) == (galaxy.namespace, galaxy.name, galaxy.version)
    assert info["dependencies"] == galaxy.dependencies
    assert info["license"] == ["GPL-3.0-or-later"]


def test_collection_resolves_from_checkout(require_tool, run_tool_apart, repo_root, galaxy, collection_link):
    """ansible.cfg's collections_path finds the checkout, and the bundle stays visible.

    Only stdout is parsed: a warning on stderr (a newer library's deprecation) is not JSON.
    """
    galaxy_cli = require_tool("ansible-galaxy")
    argv = [galaxy_cli, "collection", "list", "--format", "json", galaxy.fqcn]
    code, output, errors = run_tool_apart(argv)
    assert code == 0, describe(argv, code, output + errors)
    found = {
        path: collections[galaxy.fqcn]["version"]
        for path, collections in json.loads(output).items()
        if galaxy.fqcn in collections
    }
    expected_path = str(repo_root / ".ansible" / "collections" / "ansible_collections")
    assert found == {expected_path: galaxy.version}, describe(argv, code, output + errors)

    # The dependencies come from the ansible bundle in site-packages.
    for dependency in galaxy.dependencies:
        argv = [galaxy_cli, "collection", "list", "--format", "json", dependency]
        code, output, errors = run_tool_apart(argv)
        assert code == 0, describe(argv, code, output + errors)
        assert any(dependency in collections for collections in json.loads(output).values()), describe(argv, code, output + errors)

    # Every module file in the checkout is known to ansible-doc by its FQCN.
    argv = [require_tool("ansible-doc"), "-t", "module", "-l", "--json", galaxy.fqcn]
    code, output, errors = run_tool_apart(argv)
    assert code == 0, describe(argv, code, output + errors)
    listed = set(json.loads(output))
    modules_dir = repo_root / "plugins" / "modules"
    expected = {
        f"{galaxy.fqcn}.{path.stem}"
        for path in (modules_dir.glob("*.py") if modules_dir.is_dir() else ())
        if path.name != "__init__.py"
    }
    assert listed == expected, describe(argv, code, output + errors)


@pytest.mark.parametrize("plugin_type, folder", [
    ("module", "modules"), ("inventory", "inventory"), ("filter", "filter"),
])
def test_every_plugin_documentation_renders(require_tool, run_tool, repo_root, galaxy, collection_link,
                                            plugin_type, folder):
    """ansible-doc renders every module, the inventory plugin and every filter of the checkout."""
    doc = require_tool("ansible-doc")
    names = set()
    for path in (repo_root / "plugins" / folder).glob("*"):
        if path.suffix == ".py" and path.name != "__init__.py" and plugin_type != "filter":
            names.add(path.stem)
        elif plugin_type == "filter" and path.suffix == ".yml":
            names.add(path.stem)  # one documentation file per filter
        elif plugin_type == "filter" and path.suffix == ".py" and "DOCUMENTATION = " in path.read_text(encoding="utf-8"):
            names.add(path.stem)  # a single-filter file documents itself
    assert names, f"no {plugin_type} plugins found"
    for name in sorted(names):
        argv = [doc, "-t", plugin_type, f"{galaxy.fqcn}.{name}"]
        code, output = run_tool(argv)
        assert code == 0 and f"{galaxy.fqcn}.{name}" in output, describe(argv, code, output)
        assert "ERROR" not in output and "Traceback" not in output, describe(argv, code, output)
