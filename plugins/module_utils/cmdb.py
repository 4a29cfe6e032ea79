# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The asset record: reading a CMDB export (its rows) and checking it.

Plain Python, no Ansible runtime and no network: the ``patchpilot.fleet.assets``
inventory plugin reads the CMDB with :func:`read_cmdb`. Network discovery (the scan
settings, what a scan found, matching it to these rows) is module_utils/netscan.py.

A CMDB export is CSV (a header row, then one asset per row) or YAML (a list of
mappings, or a mapping with an ``assets`` list), with these columns; only
``hostname`` and one of ``ansible_host`` / ``ip_address`` are required, other
columns are kept as they are::

    hostname,fqdn,ip_address,mac_address,os_family,os_distribution,os_version,
    os_codename,role,location,owner,criticality,data_sensitivity,
    internet_exposed,ansible_host,ansible_port

Every problem in a file is collected and reported at once, each as
``FILE:LINE: reason`` (:class:`CmdbError`).

An asset record (:attr:`Asset.fields`), every known column present, ``None``
when the export leaves it empty::

    {
        "hostname": "web01", "fqdn": "web01.lab.example", "ip_address": "10.213.0.11",
        "mac_address": "02:50:0a:d5:00:0b", "os_family": "Debian", "os_distribution": "Debian",
        "os_version": "11", "os_codename": "bullseye", "role": "web", "location": "dc-east",
        "owner": "team-web", "criticality": "medium", "data_sensitivity": "public",
        "internet_exposed": True, "ansible_host": "127.0.0.1", "ansible_port": 2201,
    }
"""

from __future__ import annotations

import csv
import io
import ipaddress
import re
from dataclasses import dataclass

from ansible_collections.patchpilot.fleet.plugins.module_utils import yamlinput

try:
    import yaml
except ImportError:  # only the controller reads CMDB files, and it always has PyYAML
    yaml = None

__all__ = [
    "COLUMNS", "CRITICALITIES", "DATA_SENSITIVITIES", "HOSTNAME_MAX", "RESERVED_NAMES", "Asset", "CmdbError",
    "column_name", "name_clashes", "parse_csv", "parse_yaml", "port_number", "read_cmdb",
]

#: The columns of a CMDB export, in the order the lab writes them.
COLUMNS = (
    "hostname", "fqdn", "ip_address", "mac_address", "os_family", "os_distribution", "os_version",
    "os_codename", "role", "location", "owner", "criticality", "data_sensitivity", "internet_exposed",
    "ansible_host", "ansible_port",
)
CRITICALITIES = ("critical", "high", "medium", "low")
DATA_SENSITIVITIES = ("public", "internal", "confidential", "restricted")
_BOOLEAN_WORDS = {"yes": True, "true": True, "no": False, "false": False}


CSV_SUFFIXES = (".csv",)
YAML_SUFFIXES = (".yml", ".yaml")

#: The longest hostname: the run record keeps a host's progress in ``hosts/<hostname>.json``
#: (runrecord.py), and a file name has at most 255 bytes (NAME_MAX).
HOSTNAME_MAX = 255 - len(".json")

#: Names a CMDB host may not have, and why: Ansible's own groups and its implicit local host, and the
#: groups this plugin makes. A host of that name would take the group's place (its variables, a port or an
#: address, would be set on every host of the group; ``hosts: all`` would mean that one host), or would
#: receive every ``delegate_to: localhost`` task. Compared in lower case, without a final dot.
RESERVED_NAMES = {
    "all": "the group Ansible makes of every host",
    "ungrouped": "a group Ansible makes",
    "localhost": "Ansible's own name for the controller",
    "127.0.0.1": "Ansible's own name for the controller",
    "managed": "the group of CMDB hosts",
    "unmanaged": "the group of unmanaged endpoints",
}

# An inventory hostname: starts with a letter or digit, then letters, digits, dot, dash, underscore.
# (\Z, not $: $ also matches before a final newline.)
_HOSTNAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*\Z")
_DNS_LABEL_RE = re.compile(r"(?!-)[A-Za-z0-9_-]{1,63}(?<!-)\Z")
_MAC_RE = re.compile(r"[0-9A-Fa-f]{2}([:-])(?:[0-9A-Fa-f]{2}\1){4}[0-9A-Fa-f]{2}\Z")
# An IPv6 zone (fe80::1%eth0): an interface name or number, nothing a shell or a URL would read.
_ZONE_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}\Z")
_PORT_RE = re.compile(r"[0-9]{1,5}\Z")
_COLUMN_JUNK_RE = re.compile(r"[^a-z0-9_]+")


class CmdbError(ValueError):
    """A CMDB file that cannot be used; carries every problem found, each as ``FILE:LINE: reason``."""

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = list(problems)
        count = len(self.problems)
        heading = "CMDB %s has %d problem%s:" % (source, count, "" if count == 1 else "s")
        super().__init__("\n".join([heading] + ["  " + problem for problem in self.problems]))


@dataclass
class Asset:
    """One CMDB row, checked and normalised; ``source``/``line`` say where it came from."""

    hostname: str
    fields: dict
    source: str
    line: int

    @property
    def address(self) -> str | None:
        """Where Ansible connects: ``ansible_host``, else ``ip_address``."""
        return self.fields.get("ansible_host") or self.fields.get("ip_address")

    @property
    def port(self) -> int | None:
        return self.fields.get("ansible_port")


_shorten = yamlinput.shorten


def column_name(raw) -> str:
    """A header or key as a variable-friendly name: ``'Data Sensitivity'`` -> ``'data_sensitivity'``."""
    return _COLUMN_JUNK_RE.sub("_", str(raw).strip().lower()).strip("_")


# --- field checks: each takes a non-empty value and returns it normalised, or raises ValueError(reason)

def _text(value):
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError("must be text, got %s" % type(value).__name__)
    return str(value).strip()


def _name_key(name: str) -> str:
    """A hostname as compared with others: web01, WEB01 and web01. are the same host."""
    return name.lower().rstrip(".")


def _hostname(value):
    text = _text(value)
    if not _HOSTNAME_RE.match(text):
        raise ValueError("%s is not a valid host name (letters, digits, '.', '-', '_')" % _shorten(text))
    if len(text) > HOSTNAME_MAX:
        raise ValueError("%s is %d characters long, more than the %d a run record can name a file after"
                         % (_shorten(text), len(text), HOSTNAME_MAX))
    reserved = RESERVED_NAMES.get(_name_key(text))
    if reserved:
        raise ValueError("%s is %s: a host cannot have that name" % (_shorten(text), reserved))
    return text


def _is_dns_name(text: str) -> bool:
    name = text[:-1] if text.endswith(".") else text
    return 0 < len(name) <= 253 and all(_DNS_LABEL_RE.match(label) for label in name.split("."))


def _dns_name(value):
    text = _text(value)
    if not _is_dns_name(text):
        raise ValueError("%s is not a valid DNS name" % _shorten(text))
    return text


def _ip_address(text: str) -> str:
    """The address in its usual form; ValueError when it is not an IP address, or has a strange IPv6 zone."""
    address, _sep, zone = text.partition("%")
    if _sep and not _ZONE_RE.match(zone):
        raise ValueError(text)
    return str(ipaddress.ip_address(text if _sep else address))


def _ip(value):
    text = _text(value)
    try:
        return _ip_address(text)
    except ValueError:
        raise ValueError("%s is not a valid IP address" % _shorten(text)) from None


def _address(value):
    text = _text(value)
    try:
        return _ip_address(text)
    except ValueError:
        pass
    if not _is_dns_name(text):
        raise ValueError("%s is neither an IP address nor a DNS name" % _shorten(text))
    return text


def _mac(value):
    text = _text(value)
    if not _MAC_RE.match(text):
        raise ValueError("%s is not a valid MAC address (xx:xx:xx:xx:xx:xx)" % _shorten(text))
    return text.lower().replace("-", ":")


def port_number(value):
    """A TCP port number (1-65535) from an int or a string of ASCII digits; ValueError otherwise."""
    if isinstance(value, int) and not isinstance(value, bool):
        port = value
    elif isinstance(value, str) and _PORT_RE.match(value.strip(" \t")):  # ASCII digits only: int() takes others
        port = int(value.strip(" \t"))
    else:
        raise ValueError("%s is not a port number" % _shorten(value))
    if not 1 <= port <= 65535:
        raise ValueError("%d is not a port number (1-65535)" % port)
    return port


_port = port_number


def _choice(allowed):
    def check(value):
        word = _text(value).lower()
        if word not in allowed:
            raise ValueError("%s is not one of %s" % (_shorten(value), ", ".join(allowed)))
        return word
    return check


def _boolean(value):
    if isinstance(value, bool):
        return value
    word = _text(value).lower()
    if word not in _BOOLEAN_WORDS:
        raise ValueError("%s is not one of %s" % (_shorten(value), ", ".join(_BOOLEAN_WORDS)))
    return _BOOLEAN_WORDS[word]


def _extra(value):
    """A column patchpilot does not know: any single value, kept as it is (text stripped)."""
    if isinstance(value, (list, dict, set, tuple)):
        raise ValueError("must be a single value, got %s" % type(value).__name__)
    return value.strip() if isinstance(value, str) else value


_CHECKS = {
    "hostname": _hostname,
    "fqdn": _dns_name,
    "ip_address": _ip,
    "mac_address": _mac,
    "criticality": _choice(CRITICALITIES),
    "data_sensitivity": _choice(DATA_SENSITIVITIES),
    "internet_exposed": _boolean,
    "ansible_host": _address,
    "ansible_port": _port,
}


def _is_empty(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


class _Problems:
    """Problems found in one file, reported in line order as ``FILE:LINE: reason``."""

    def __init__(self, source: str):
        self.source = source
        self._items: list = []

    def add(self, line: int, reason: str) -> None:
        self._items.append((line, len(self._items), reason))

    def __bool__(self) -> bool:
        return bool(self._items)

    def raise_any(self) -> None:
        if self._items:
            raise CmdbError(self.source, ["%s:%d: %s" % (self.source, line, reason)
                                          for line, _order, reason in sorted(self._items)])


def _check_row(raw: dict, address_columns: bool = True):
    """Normalise one row; returns (fields, [(column or None, reason), ...])."""
    fields = dict.fromkeys(COLUMNS)
    problems = []
    for name, value in raw.items():
        if _is_empty(value):
            continue
        try:
            fields[name] = _CHECKS.get(name, _text if name in COLUMNS else _extra)(value)
        except ValueError as exc:
            problems.append((name, "%s: %s" % (name, exc)))
    bad = {name for name, _reason in problems}
    if "hostname" in raw and "hostname" not in bad and fields["hostname"] is None:
        problems.append(("hostname", "no hostname"))
    if address_columns and not bad & {"ansible_host", "ip_address"} \
            and not (fields["ansible_host"] or fields["ip_address"]):
        problems.append((None, "no address: set ansible_host or ip_address"))
    return fields, problems


def _assets_from_rows(rows, problems: _Problems, address_columns: bool = True) -> list:
    """rows: (line, label, raw dict, {column: line}). Checks each row and that hostnames are unique."""
    assets = []
    first_seen: dict = {}
    for line, label, raw, column_lines in rows:
        where = label + " " if label else ""
        fields, row_problems = _check_row(raw, address_columns)
        for column, reason in row_problems:
            problems.add(column_lines.get(column, line), where + reason)
        hostname = fields["hostname"]
        if hostname is None:
            continue
        key = _name_key(hostname)
        if key in first_seen:
            problems.add(column_lines.get("hostname", line),
                         "%sduplicate hostname %s (first on line %d)" % (where, hostname, first_seen[key]))
            continue
        first_seen[key] = column_lines.get("hostname", line)
        if not row_problems:
            assets.append(Asset(hostname=hostname, fields=fields, source=problems.source, line=line))
    return assets


def _header(columns: list, line: int, problems: _Problems) -> list:
    names = []
    seen: dict = {}
    for index, raw in enumerate(columns, start=1):
        name = column_name(raw)
        if not name:
            problems.add(line, "column %d has no name" % index)
        elif name in seen:
            problems.add(line, "column %d (%s) repeats column %d" % (index, name, seen[name]))
        seen.setdefault(name, index)
        names.append(name)
    missing = [name for name in ("hostname",) if name not in seen]
    if "ansible_host" not in seen and "ip_address" not in seen:
        missing.append("ansible_host or ip_address")
    if missing:
        problems.add(line, "missing column%s: %s" % ("s" if len(missing) > 1 else "", ", ".join(missing)))
    return names


def parse_csv(text: str, source: str) -> list:
    """Assets from CSV text (a header row, then one asset per row). Raises CmdbError listing every problem."""
    problems = _Problems(source)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows = []
    names = None
    last_line = 0
    try:
        for record in reader:
            line = last_line + 1  # where this record starts: a quoted field may span lines
            last_line = reader.line_num
            if not record or all(not cell.strip() for cell in record):
                continue
            if names is None:
                names = _header(record, line, problems)
                continue
            if len(record) != len(names):
                problems.add(line, "%d fields, the header has %d" % (len(record), len(names)))
                continue
            rows.append((line, "", {name: value for name, value in zip(names, record) if name}, {}))
    except csv.Error as exc:
        problems.add(reader.line_num, "not valid CSV: %s" % exc)
    if names is None and not problems:
        problems.add(1, "empty file, expected a header row")
    has_address = names is not None and ("ansible_host" in names or "ip_address" in names)
    assets = _assets_from_rows(rows, problems, address_columns=has_address)
    problems.raise_any()
    return assets


#: Columns whose value is text: a plain YAML scalar in them keeps the text as written (web01 is not
#: renamed 31 when written 0x1F, a version 1.10 stays 1.10); internet_exposed keeps YAML's yes/no.
_WRITTEN_TEXT_TAGS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float", "tag:yaml.org,2002:bool")


def _as_written(value, node):
    """A scalar as the file writes it when YAML read it as a number or boolean; else the value as read."""
    if isinstance(node, yaml.ScalarNode) and node.style is None and node.tag in _WRITTEN_TEXT_TAGS:
        return node.value
    return value


def _node_line(node) -> int:
    return node.start_mark.line + 1


def parse_yaml(text: str, source: str) -> list:
    """Assets from YAML text: a list of mappings, or a mapping with an ``assets`` list."""
    if yaml is None:
        raise CmdbError(source, ["%s: reading YAML needs the PyYAML library" % source])
    problems = _Problems(source)
    try:
        data, node = yamlinput.load(text)
    except yamlinput.YamlInputError as exc:
        for item in exc.problems:
            problems.add(item.line or 1, ("not valid YAML: " if item.syntax else "") + item.message)
        problems.raise_any()
    items, items_node = data, node
    if isinstance(data, dict) and set(data) == {"assets"}:
        items = data["assets"]
        items_node = next(value for key, value in node.value if key.value == "assets")
    if items is None:
        items = []
    if not isinstance(items, list):
        problems.add(_node_line(node) if node is not None else 1,
                     "expected a list of assets, or a mapping with an 'assets' list")
        problems.raise_any()
    rows = []
    for index, (item, item_node) in enumerate(zip(items, items_node.value if items else [])):
        name = "assets[%d]" % index
        line = _node_line(item_node)
        if not isinstance(item, dict):
            problems.add(line, "%s: expected a mapping of column names to values, got %s" % (name, type(item).__name__))
            continue
        key_lines, value_nodes = {}, {}
        for key_node, value_node in item_node.value:
            key_lines.setdefault(str(key_node.value), _node_line(value_node))
            value_nodes.setdefault(str(key_node.value), value_node)
        hostname = _as_written(item.get("hostname"), value_nodes.get("hostname"))
        known = isinstance(hostname, str) and _HOSTNAME_RE.match(hostname.strip())
        label = "%s (%s):" % (name, hostname.strip()) if known else name + ":"
        raw, column_lines = {}, {}
        for key, value in item.items():
            column = column_name(key) if isinstance(key, str) else ""
            key_line = key_lines.get(str(key), line)
            if not column:
                problems.add(key_line, "%s %s is not a column name" % (label, _shorten(key)))
            elif column in raw:
                problems.add(key_line, "%s key %s repeats %s" % (label, _shorten(key), column))
            else:
                if column in COLUMNS and column != "internet_exposed":
                    value = _as_written(value, value_nodes.get(str(key)))
                raw[column] = value
                column_lines[column] = key_line
        if "hostname" not in raw:
            problems.add(line, "%s: no hostname" % name)
            continue
        rows.append((line, label, raw, column_lines))
    assets = _assets_from_rows(rows, problems)
    problems.raise_any()
    return assets


def name_clashes(assets: list, names: dict) -> None:
    """Refuse assets whose hostname is one of ``names`` ({name: what it is}); raises CmdbError with file and line.

    The inventory plugin passes the groups it would make (keyed_groups, groups), the groups already in the
    inventory and the names of the unmanaged endpoints: a host of such a name would stand in the group's place.
    """
    by_source: dict = {}
    for asset in assets:
        what = names.get(asset.hostname)
        if what:
            by_source.setdefault(asset.source, _Problems(asset.source)).add(
                asset.line, "hostname %s is also %s: a host cannot have that name" % (asset.hostname, what))
    for problems in by_source.values():
        problems.raise_any()


def read_cmdb(path: str) -> list[Asset]:
    """Assets from a CMDB file; its suffix (.csv, .yml, .yaml) says the format."""
    lowered = path.lower()
    if lowered.endswith(CSV_SUFFIXES):
        parse = parse_csv
    elif lowered.endswith(YAML_SUFFIXES):
        parse = parse_yaml
    else:
        raise CmdbError(path, ["%s: unknown CMDB format: the file name must end in .csv, .yml or .yaml" % path])
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise CmdbError(path, ["%s: cannot read: %s" % (path, exc.strerror or exc)]) from None
    try:
        text = data.decode("utf-8-sig")  # spreadsheet exports often start with a byte order mark
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise CmdbError(path, ["%s:%d: not UTF-8 text" % (path, line)]) from None
    return parse(text, path)
