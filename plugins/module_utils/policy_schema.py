# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The policy's one description: docs/policy.schema.json, read and applied with the jsonschema library.

The schema says every key, type, choice, range, required key and default, and
(in patchpilot's ``x-`` annotations) the message for each way a value can be
wrong. This module:

- reads the schema (:func:`schema`) and answers questions about it: the keys of
  a section (:func:`keys`), a key's choices (:func:`choices`), the defaults
  (:func:`defaults`);
- validates a policy with jsonschema and turns each error into the policy's
  friendly ``path: message`` form (:func:`problems`).

The annotations: ``x-messages`` maps a failing keyword (``type``, ``enum``,
``pattern``, ``minimum``, ``anyOf``...; ``enum:boolean`` for a boolean value,
``*`` for any) to a message template with ``{value}`` (the value, quoted
briefly), ``{kind}`` (a mapping, a list...), ``{shown}`` (a string as written),
``{enum}`` and ``{count}``; a template may be ``{"at": KEY, "text": ...}`` to
name a key below the failing one, ``@unknown_key`` (an unknown key's message)
or ``@named`` (a named check in policy_checks gives the message). The
outermost node's template wins (a key overrides the definition it refers to).
``x-missing`` is the message for a required key left out; ``x-unit`` names a
number's unit; ``x-match`` says which branch of an ``anyOf`` a string value
means; ``x-case-insensitive`` accepts a choice in any case; ``x-default-text``
is a default in words, for docs/policy.md (tools/policy-docs). A message that
none of these gives comes from the keyword itself.

A key set to null takes its default (:func:`as_json`), and a string's
surrounding blanks are forgiven.

What a schema cannot say (cross-field rules) is checked by policy_checks.
"""

from __future__ import annotations

import copy
import json
import math
import os
import re
from collections.abc import Mapping
from datetime import date, datetime

from ansible_collections.patchpilot.fleet.plugins.module_utils.maintenance import show_value, unknown_keys

try:
    import jsonschema
except ImportError:  # only the controller validates policies; the collection requires jsonschema there
    jsonschema = None

#: The schema file, relative to the collection root (it ships in the collection build).
SCHEMA_FILE = os.path.join("docs", "policy.schema.json")
_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

#: How many characters of a bad value an error message quotes (a long value may be a pasted secret).
SHOWN = 24
#: Mappings whose keys are data, not policy keys: a null value in them is a value, not "use the default".
FREE_FORM = ("headers", "groups", "body")
_STEPS = ("properties", "items", "prefixItems", "additionalProperties", "propertyNames", "patternProperties")

_cache: dict = {}


class UnknownKey(str):
    """A key the schema does not know, in a problem's path (it sorts before the known keys)."""


class SchemaError(RuntimeError):
    """The schema file cannot be read (a broken installation, not a bad policy)."""


def schema() -> dict:
    """The policy's JSON Schema (read once)."""
    if "schema" not in _cache:
        path = os.path.join(_ROOT, SCHEMA_FILE)
        try:
            with open(path, encoding="utf-8") as handle:
                _cache["schema"] = json.load(handle)
        except (OSError, ValueError) as exc:
            raise SchemaError(f"{path}: cannot read the policy schema: {exc}") from None
    return _cache["schema"]


def resolve(node: Mapping) -> Mapping:
    """A schema node with its local ``$ref`` followed (the referring node's own keys win)."""
    seen = 0
    while isinstance(node, Mapping) and "$ref" in node and seen < 20:
        target = schema()
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = {**target, **{key: value for key, value in node.items() if key != "$ref"}}
        seen += 1
    return node


def node(*path: str) -> Mapping:
    """The schema node of a key: ``node("rollout", "waves")``; ``node("$defs", "hook_mapping")``."""
    current = schema()
    if path and path[0] == "$defs":
        current, path = current["$defs"][path[1]], path[2:]
    for key in path:
        current = resolve(current)["properties"][key]
    return resolve(current)


def keys(*path: str) -> tuple:
    """The keys a section of the policy may have, in the schema's order."""
    return tuple(node(*path)["properties"])


def choices(*path: str) -> tuple:
    """A key's choices (its ``enum``)."""
    return tuple(node(*path)["enum"])


def defaults(*path: str):
    """The default of a key; for a section, the mapping of its keys' defaults (a key without one is left out)."""
    item = node(*path)
    if "default" in item:
        return copy.deepcopy(item["default"])
    if "properties" in item:
        out = {}
        for key in item["properties"]:
            value = defaults(*path, key)
            if value is not _NONE:
                out[key] = value
        return out
    return _NONE


class _NoDefault:
    def __repr__(self):
        return "no default"


_NONE = _NoDefault()


# ---------------------------------------------------------------------------
# Values as messages show them
# ---------------------------------------------------------------------------

def kind(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, date):
        return "a date"
    return type(value).__name__


def plain(value) -> str:
    """A value as an error message shows it (maintenance.show_value), cut to a short prefix."""
    text = show_value(value)
    return text if len(text) <= SHOWN else text[:SHOWN - 1] + "\u2026"


def path_text(path) -> str:
    """("rollout", "waves", 0) as rollout.waves[0]."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


# ---------------------------------------------------------------------------
# The policy as the schema sees it
# ---------------------------------------------------------------------------

def as_json(value, free: bool = False):
    """Plain JSON-like data: dates as ISO strings, tuples as lists, a key set to null left out (it takes its
    default) except in a free-form mapping (headers, snapshot groups, a hook's body), and the key ``True``
    (YAML 1.1 reads a bare ``on:`` so) as "on"."""
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if key is True and "on" not in value:
                key = "on"
            if item is None and not free:
                continue
            out[key] = as_json(item, free=free or key in FREE_FORM)
        return out
    if isinstance(value, (list, tuple)):
        return [as_json(item, free) for item in value]
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


def _is_int(_checker, value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _validator():
    if "validator" not in _cache:
        base = jsonschema.Draft202012Validator
        # A whole number is an int: 5.0 is not one (JSON Schema would take it).
        checker = base.TYPE_CHECKER.redefine("integer", _is_int)
        cls = jsonschema.validators.extend(base, type_checker=checker)
        formats = jsonschema.FormatChecker(formats=("date",))
        _cache["validator"] = cls(schema(), format_checker=formats)
    return _cache["validator"]


def problems(data: Mapping) -> list:
    """Every way ``data`` (as_json's form) breaks the schema: a list of (path tuple, message)."""
    if jsonschema is None:
        return [((), "checking the policy needs the jsonschema Python library on the controller "
                     "(pip install jsonschema; the collection's requirements list it)")]
    found = []
    for error in _validator().iter_errors(data):
        found.extend(_translate(error))
    # One message per key: the first (a value that breaks two rules, '' for an email target, says why once).
    unique, seen = [], set()
    for path, message in found:
        if path not in seen:
            seen.add(path)
            unique.append((path, message))
    return unique


def order(path) -> tuple:
    """A sort key for a path: keys in the schema's order (unknown keys first), list items by index."""
    current = schema()
    out = []
    for part in path:
        if isinstance(part, int):
            out.append((part,))
            current = _item_schema(current)
            continue
        props = _properties(current)
        names = list(props)
        if part == "version" and len(out) == 0:
            out.append((-2,))
        elif isinstance(part, UnknownKey):
            out.append((-1,))
        else:
            out.append((names.index(part) if part in names else -1,))
        current = props.get(part, {})
    # A key's own problems after its unknown keys (-1), before its known keys (0, 1, ...).
    return tuple(out) + ((-0.5,),)


def _properties(item) -> dict:
    item = resolve(item) if isinstance(item, Mapping) else {}
    props = dict(item.get("properties") or {})
    for word in ("anyOf", "oneOf", "allOf"):
        for branch in item.get(word) or ():
            for key, value in _properties(branch).items():
                props.setdefault(key, value)
    return props


def _item_schema(item):
    item = resolve(item) if isinstance(item, Mapping) else {}
    if isinstance(item.get("items"), Mapping):
        return item["items"]
    for branch in item.get("anyOf") or ():
        found = _item_schema(branch)
        if found:
            return found
    return {}


# ---------------------------------------------------------------------------
# jsonschema errors as messages
# ---------------------------------------------------------------------------

def _nodes(error) -> list:
    """The schema nodes that apply to the error's value, outermost first (its own keyword's node last)."""
    current = schema()
    trail = []
    parts = list(error.absolute_schema_path)[:-1]
    for part in parts:
        while isinstance(current, Mapping) and part not in current and "$ref" in current:
            trail.append(current)
            current = resolve({"$ref": current["$ref"]})
        trail.append(current)
        if isinstance(current, Mapping) and part in _STEPS:
            trail = []
        current = current[part]
    while isinstance(current, Mapping) and "$ref" in current:
        trail.append(current)
        current = resolve({"$ref": current["$ref"]})
    trail.append(current)
    return [item for item in trail if isinstance(item, Mapping)]


def _annotation(nodes, name):
    for item in nodes:
        if name in item:
            return item[name]
    return None


def _template(nodes, word, value):
    for item in nodes:
        messages = item.get("x-messages") or {}
        for key in (f"{word}:{'boolean' if isinstance(value, bool) else kind(value)}", word, "*"):
            if key in messages:
                return messages[key]
    return None


def _render(template, path, value, own: Mapping, extra: dict | None = None) -> list:
    stripped = value.strip() if isinstance(value, str) else value
    fields = {
        "value": plain(value),
        "kind": kind(value),
        "shown": stripped if isinstance(stripped, str) and len(stripped) <= SHOWN else plain(stripped),
        "enum": ", ".join(str(item) for item in own.get("enum") or ()),
        "count": len(value) if isinstance(value, (list, Mapping, str)) else "",
    }
    fields.update(extra or {})
    if isinstance(template, Mapping):
        return [(tuple(path) + (template["at"],), template["text"].format(**fields))]
    return [(tuple(path), template.format(**fields))]


def _types(item) -> set | None:
    """The JSON types a schema node can accept (None: any)."""
    item = resolve(item)
    if "type" in item:
        return set(item["type"]) if isinstance(item["type"], list) else {item["type"]}
    if "const" in item or "enum" in item:
        values = [item["const"]] if "const" in item else item["enum"]
        return {_type_of(value) for value in values}
    branches = item.get("anyOf") or item.get("oneOf")
    if branches:
        found = set()
        for branch in branches:
            kinds = _types(branch)
            if kinds is None:
                return None
            found |= kinds
        return found
    return None


def _type_of(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, (list, tuple)):
        return "array"
    return "other"


def _fits(branch, value) -> bool:
    """True when ``value`` is meant for this branch of an anyOf/oneOf: its type, and its x-match for a string."""
    kinds = _types(branch)
    kind_of = _type_of(value)
    if kinds is not None and kind_of not in kinds and not (kind_of == "integer" and "number" in kinds):
        return False
    pattern = branch.get("x-match") if isinstance(branch, Mapping) else None
    if pattern and isinstance(value, str):
        return re.search(pattern, value) is not None
    return True


def _relaxed(error, nodes) -> bool:
    """True when a string fails only by surrounding blanks (or by case, where the schema allows any case)."""
    value = error.instance
    if not isinstance(value, str) or error.validator not in ("enum", "const", "pattern", "format"):
        return False
    text = value.strip()
    loose = bool(_annotation(nodes, "x-case-insensitive"))
    if error.validator in ("enum", "const"):
        allowed = error.validator_value if error.validator == "enum" else [error.validator_value]
        return any(isinstance(item, str) and (item == text or loose and item.lower() == text.lower())
                   for item in allowed)
    if error.validator == "pattern":
        return text != value and re.search(error.validator_value, text) is not None
    return text != value and _validator().is_valid(text, error.schema)


def _number_message(own, nodes, value, path) -> list:
    kinds = own.get("type") if isinstance(own.get("type"), list) else [own.get("type")]
    nullable = "null" in kinds
    if "integer" in kinds:
        unit = _annotation(nodes, "x-unit")
        what = f"a whole number{' of ' + unit if unit else ''} from {own.get('minimum', 0)} to {own.get('maximum')}"
    elif "exclusiveMinimum" in own:
        what = f"a number above {own['exclusiveMinimum']} and at most {own.get('maximum')}"
    else:
        what = f"a number from {own.get('minimum', 0)} to {own.get('maximum')}"
    if "integer" in kinds:
        return [(tuple(path), f"expected {'null or ' if nullable else ''}{what}, got {plain(value)}")]
    return [(tuple(path), f"expected {what}{', or null' if nullable else ''}, got {plain(value)}")]


def _translate(error) -> list:
    nodes = _nodes(error)
    own = error.schema if isinstance(error.schema, Mapping) else {}
    word = error.validator
    value = error.instance
    path = tuple(error.absolute_path)
    if _relaxed(error, nodes):
        return []

    if word in ("anyOf", "oneOf"):
        branches = error.validator_value
        if all(isinstance(b, Mapping) and set(b) == {"required"} and len(b["required"]) == 1 for b in branches):
            if not isinstance(value, Mapping):
                return []  # the value's type is wrong: its type error says so
            names = [b["required"][0] for b in branches]
            given = [name for name in names if isinstance(value, Mapping) and name in value]
            template = _template(nodes, f"{word}:{'many' if len(given) > 1 else 'none'}", value)
            if template is not None:
                return _render(template, path, value, own)
            text = f"give exactly one of {', '.join(names[:-1])} or {names[-1]}"
            return [(path, text + (f" (got {', '.join(given)})" if given else ""))]
        fitting = [index for index, branch in enumerate(branches) if _fits(branch, value)]
        if len(fitting) == 1:
            found = []
            for sub in error.context:
                if sub.relative_schema_path[0] == fitting[0]:
                    found.extend(_translate(sub))
            return found
        template = _template(nodes, word, value)
        return _render(template, path, value, own) if template is not None \
            else [(path, f"{plain(value)} does not fit any of the allowed forms")]

    if word == "required":
        props = _properties(own)
        found = []
        for name in error.validator_value:
            if isinstance(value, Mapping) and name not in value:
                message = (props.get(name) or {}).get("x-missing") or own.get("x-missing") \
                    or resolve(props.get(name) or {}).get("x-missing") or "required"
                found.append((path + (name,), message))
        return found

    if word == "additionalProperties" and error.validator_value is False:
        known = tuple(own.get("properties") or ())
        found = []
        for name in value:
            if name not in known:
                text = unknown_keys({name: None}, known, "")[0]
                found.append((path + (UnknownKey(name),), text[len(str(name)) + 2:]))
        return found

    if word == "dependentRequired":
        found = []
        template = _template(nodes, word, value)
        for name, needs in error.validator_value.items():
            if name in value and any(need not in value for need in needs):
                text = template.get(name) if isinstance(template, Mapping) else template
                found.append((path + (name,), text or f"only with {', '.join(needs)}"))
        return found

    if word == "not" and set(error.validator_value) == {"required"} and not isinstance(value, Mapping):
        return []  # "has no such key" holds for a value that is no mapping: its type error says what is wrong
    template = _template(nodes, word, value)
    if template == "@named":  # a named check (policy_checks) says it, in more detail than a pattern can
        return []
    if template == "@unknown_key":
        known = tuple(own.get("enum") or ())
        text = unknown_keys({value: None}, known, "")[0]
        return [(path + (UnknownKey(value),), text[len(str(value)) + 2:])]
    if template is not None:
        return _render(template, path, value, own)

    # The keyword's own message.
    kinds = own.get("type") if isinstance(own.get("type"), list) else [own.get("type")]
    if word in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum") or \
            word == "type" and ("integer" in kinds or "number" in kinds):
        return _number_message(own, nodes, value, path)
    if word == "type" and "boolean" in kinds:
        return [(path, f"expected true or false, got {plain(value)}")]
    if word == "type" and "object" in kinds:
        return [(path, f"expected a mapping, got {kind(value)}")]
    if word == "type" and "array" in kinds:
        return [(path, f"expected a list, got {kind(value)}")]
    if word == "type":
        return [(path, f"expected a string, got {plain(value)}")]
    if word == "enum":
        return [(path, f"{plain(value)} is not one of {', '.join(str(item) for item in error.validator_value)}")]
    if word == "const":
        return [(path, f"expected {show_value(error.validator_value)}, got {plain(value)}")]
    if word == "minItems":
        return [(path, f"expected at least {error.validator_value} item{'s' if error.validator_value != 1 else ''}")]
    if word == "uniqueItems":
        return [(path, "an item is listed twice")]
    return [(path, f"{plain(value)}: {error.message}" if isinstance(value, (int, float, str)) else error.message)]


def finite(value) -> bool:
    """True unless the value is, or holds, a float NaN or infinity."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, Mapping):
        return all(finite(item) for item in value.values())
    if isinstance(value, (list, tuple)):
        return all(finite(item) for item in value)
    return True
