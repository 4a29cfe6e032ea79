"""Every package-tool command built from data (a plan, a package list, a path) ends its options with ``--``.

A package name, version or file that starts with ``-`` must never be taken for
an option of dpkg, dpkg-query, dpkg-deb, dpkg-repack, apt-get, apt-cache, rpm
or dnf. The role task files and playbooks are read as YAML (every ``argv``
list, every ``{{ [...] + ... }}`` expression), the modules and module_utils
as Python (every list literal and ``+`` chain of lists): after the tool, a
value that comes from data must follow a ``--``, unless it is the value of an
option that takes one (``-f FORMAT``, ``-o OPTION``, ``--destdir DIR``).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
TOOLS = {"dpkg", "dpkg-query", "dpkg-deb", "dpkg-repack", "apt-get", "apt-cache", "rpm", "dnf", "yum"}
#: Options whose next argument is their value, not a name.
VALUE_OPTIONS = {"-f", "--showformat", "--qf", "--queryformat", "-o", "--option", "--destdir", "--root",
                 "--admindir", "--releasever", "-c", "--config"}
DATA = object()  # an argument that comes from data


def violations(tokens: list) -> list:
    """The data arguments of a command line that may be taken for options (no ``--`` before them)."""
    literal = [t for t in tokens if t is not DATA]
    tool_at = next((i for i, t in enumerate(tokens) if t is not DATA and t in TOOLS), None)
    if tool_at is None or not literal:
        return []
    bad, ended = [], False
    for i in range(tool_at + 1, len(tokens)):
        token, before = tokens[i], tokens[i - 1]
        if token == "--":
            ended = True
        elif token is DATA and not ended and not (before is not DATA and before in VALUE_OPTIONS):
            bad.append(i)
    return bad


def show(tokens: list) -> str:
    return " ".join("<data>" if t is DATA else str(t) for t in tokens)


# ---------------------------------------------------------------------------
# YAML: role task files and playbooks
# ---------------------------------------------------------------------------

class _Loader(yaml.SafeLoader):  # pylint: disable=too-many-ancestors
    """SafeLoader that reads Ansible's !unsafe and !vault scalars as plain strings."""


for _tag in ("!unsafe", "!vault"):
    _Loader.add_constructor(_tag, lambda loader, node: loader.construct_scalar(node))


def _split_top(text: str, sep: str) -> list:
    """``text`` split on ``sep`` outside quotes, brackets and parentheses."""
    parts, depth, quote, start = [], 0, None, 0
    for i, char in enumerate(text):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == sep and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts]


def _yaml_item(item) -> object:
    if isinstance(item, str) and "{{" not in item:
        return item
    return item if isinstance(item, (int, float)) and not isinstance(item, bool) else DATA


def _jinja_item(text: str) -> object:
    match = re.fullmatch(r"'([^']*)'|\"([^\"]*)\"", text)
    return (match.group(1) if match.group(1) is not None else match.group(2)) if match else DATA


def _jinja_variants(expression: str, known: dict) -> list:
    """The command lines a ``[...] + name + ...`` Jinja expression can make (tokens each)."""
    variants = [[]]
    for part in _split_top(expression, "+"):
        choice = re.fullmatch(r"\(\s*(\w+)\s+if\s+.+\s+else\s+(\w+)\s*\)", part)
        names = choice.groups() if choice else (part,)
        keyed = re.fullmatch(r"(\w+)\[\s*\w+\s*\]", part)  # a mapping of option lists, by a key
        if keyed and isinstance(known.get(keyed.group(1)), dict):
            names = tuple(known[keyed.group(1)].values())
        options = []
        for name in names:
            if isinstance(name, list):
                options.append([_yaml_item(i) for i in name])
            elif name.startswith("[") and name.endswith("]"):
                options.append([_jinja_item(i) for i in _split_top(name[1:-1], ",") if i])
            elif isinstance(known.get(name), list):
                options.append([_yaml_item(i) for i in known[name]])
            else:
                options.append([DATA])
        variants = [v + o for v in variants for o in options]
    return variants


def yaml_command_lines(node, known=None):
    """Every command line in a YAML document: argv lists and Jinja list expressions."""
    if isinstance(node, dict):
        scope = dict(known or {})
        scope.update(node["vars"] if isinstance(node.get("vars"), dict) else {})
        for key, value in node.items():
            if key == "argv" and isinstance(value, list):
                yield [_yaml_item(i) for i in value]
            else:
                yield from yaml_command_lines(value, scope)
    elif isinstance(node, list):
        for item in node:
            yield from yaml_command_lines(item, known)
    elif isinstance(node, str):
        match = re.fullmatch(r"\s*\{\{(.*)\}\}\s*", node, re.S)
        if match:
            yield from _jinja_variants(" ".join(match.group(1).split()), known or {})


YAML_FILES = sorted(p.relative_to(REPO).as_posix() for p in [*REPO.glob("roles/*/tasks/*.yml"),
                                                             *REPO.glob("roles/*/handlers/*.yml"),
                                                             *REPO.glob("playbooks/*.yml")])
PY_FILES = sorted(p.relative_to(REPO).as_posix() for p in [*REPO.glob("plugins/modules/*.py"),
                                                           *REPO.glob("plugins/module_utils/*.py"),
                                                           *REPO.glob("plugins/module_utils/backends/*.py"),
                                                           *REPO.glob("plugins/action/*.py")])


def _role_vars(path: str) -> dict:
    """The role's vars/main.yml (its internal option lists) for a role's task file."""
    parts = Path(path).parts
    if parts[0] != "roles":
        return {}
    found = REPO / "roles" / parts[1] / "vars" / "main.yml"
    return yaml.load(found.read_text(encoding="utf-8"), Loader=_Loader) or {} if found.is_file() else {}


def yaml_findings(path: str) -> tuple:
    """(command lines of a package tool, the bad ones) of a YAML file."""
    with open(REPO / path, encoding="utf-8") as handle:
        document = yaml.load(handle, Loader=_Loader)  # noqa: S506 - a SafeLoader
    lines = list(yaml_command_lines(document, _role_vars(path)))
    mine = [t for t in lines if any(x is not DATA and x in TOOLS for x in t)]
    return mine, [show(t) for t in mine if violations(t)]


# ---------------------------------------------------------------------------
# Python: modules and module_utils
# ---------------------------------------------------------------------------

def _constants(tree: ast.Module) -> dict:
    """Module-level names bound to a list of string constants (APT_OPTIONS = ["-q", ...])."""
    found = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, (ast.List, ast.Tuple)) \
                and all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.value.elts):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    found[target.id] = [e.value for e in node.value.elts]
    return found


def _py_tokens(node, constants: dict) -> list | None:
    """The tokens of a list literal or a ``+`` chain of lists; None for anything else."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _py_tokens(node.left, constants), _py_tokens(node.right, constants)
        if left is None and right is None:
            return None
        return (left if left is not None else [DATA]) + (right if right is not None else [DATA])
    if isinstance(node, ast.List):
        tokens = []
        for elt in node.elts:
            if isinstance(elt, ast.Constant) and isinstance(elt.value, str):
                tokens.append(elt.value)
            elif isinstance(elt, ast.JoinedStr) and elt.values and isinstance(elt.values[0], ast.Constant) \
                    and str(elt.values[0].value).startswith("-"):
                tokens.append(str(elt.values[0].value))  # f"--unit={unit}": an option with its value
            else:
                tokens.append(DATA)
        return tokens
    if isinstance(node, ast.Name) and node.id in constants:
        return list(constants[node.id])
    return None


def py_findings(path: str) -> tuple:
    tree = ast.parse((REPO / path).read_text(encoding="utf-8"))
    constants = _constants(tree)
    mine, bad = [], []
    for node in ast.walk(tree):
        tokens = _py_tokens(node, constants) if isinstance(node, (ast.List, ast.BinOp)) else None
        if tokens and any(t is not DATA and t in TOOLS for t in tokens):
            mine.append(tokens)
            if violations(tokens):
                bad.append(f"line {node.lineno}: {show(tokens)}")
    return mine, bad


# ---------------------------------------------------------------------------
# The tests
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("path", YAML_FILES)
def test_role_and_playbook_commands_end_options_before_data(path):
    _mine, bad = yaml_findings(path)
    assert not bad, f"{path}: a name from data may be taken for an option (put -- before it): {bad}"


@pytest.mark.parametrize("path", PY_FILES)
def test_module_commands_end_options_before_data(path):
    _mine, bad = py_findings(path)
    assert not bad, f"{path}: a name from data may be taken for an option (put -- before it): {bad}"


def test_the_checks_see_the_commands():
    """The readers find the commands built from data (so that the tests above can fail)."""
    seen = {path: yaml_findings(path)[0] for path in YAML_FILES}
    seen.update({path: py_findings(path)[0] for path in PY_FILES})
    with_data = {path for path, lines in seen.items() for tokens in lines if DATA in tokens[1:]}
    for path in ("roles/patch/tasks/apt.yml", "roles/patch/tasks/dnf.yml", "roles/preflight/tasks/transaction.yml",
                 "roles/rollback/tasks/package_apt_purge.yml", "roles/rollback/tasks/package_apt_install.yml",
                 "roles/rollback/tasks/package_apt_force.yml", "roles/rollback/tasks/package_dnf.yml",
                 # (playbooks/patch.yml's read-back gives the names to the installed_packages module now)
                 "roles/stage/tasks/dnf.yml", "plugins/modules/deb_files.py",
                 "plugins/module_utils/backends/apt.py"):
        assert path in with_data, f"no command built from data found in {path}"


@pytest.mark.parametrize("tokens, bad", [
    (["dpkg-query", "-W", "-f", DATA, DATA], [4]),
    (["dpkg-query", "-W", "-f", DATA, "--", DATA], []),
    (["timeout", DATA, "apt-get", "download", "-o", DATA, DATA], [6]),
    (["rpm", "-qa", "--qf", "%{NAME}"], []),
    ([DATA, "-s", DATA], []),  # no package tool: not judged here
])
def test_violations(tokens, bad):
    assert violations(tokens) == bad


def test_the_readers_parse_both_forms():
    document = yaml.load("""
- name: t
  ansible.builtin.command:
    argv: "{{ (__a if c else __b) + __names }}"
  vars:
    __a: [dpkg-query, -W, -f, "${Package}"]
    __b: [rpm, -q, --, x]
- name: u
  ansible.builtin.command:
    argv: [dnf, history, undo, "{{ item }}"]
- ansible.builtin.set_fact:
    __c: "{{ ['apt-get', 'install', '-o', 'X=' ~ y] + (pkgs | list) }}"
""", Loader=_Loader)
    found = [show(t) for t in yaml_command_lines(document) if violations(t)]
    assert found == ["dpkg-query -W -f ${Package} <data>", "dnf history undo <data>",
                     "apt-get install -o <data> <data>"]
    tree = ast.parse("OPTS = ['-q', '-o', 'A=b']\nrun(['apt-get', 'download'] + OPTS + specs)\n"
                     "run(['apt-cache', 'policy', *names])\nrun(['apt-cache', 'policy', '--', *names])\n")
    constants = _constants(tree)
    lines = [_py_tokens(n, constants) for n in ast.walk(tree) if isinstance(n, (ast.List, ast.BinOp))]
    assert sorted(show(t) for t in lines if t and violations(t)) == [
        "apt-cache policy <data>", "apt-get download -q -o A=b <data>"]
