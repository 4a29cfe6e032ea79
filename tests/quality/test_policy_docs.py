"""docs/policy.md's key tables are made from the policy's JSON Schema (tools/policy-docs): no drift."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from importlib.machinery import SourceFileLoader
from importlib.util import module_from_spec, spec_from_loader
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
TOOL = REPO_ROOT / "tools" / "policy-docs"


def _tool():
    loader = SourceFileLoader("policy_docs", str(TOOL))
    module = module_from_spec(spec_from_loader("policy_docs", loader))
    loader.exec_module(module)
    return module


def _schema() -> dict:
    return json.loads((REPO_ROOT / "docs" / "policy.schema.json").read_text(encoding="utf-8"))


def test_docs_tables_match_the_schema():
    run = subprocess.run([sys.executable, str(TOOL), "--check"], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr


def test_a_changed_description_or_default_is_drift():
    tool = _tool()
    doc = (REPO_ROOT / "docs" / "policy.md").read_text(encoding="utf-8")
    schema = _schema()
    assert tool.render(doc, schema)[1] == []
    changed = copy.deepcopy(schema)
    changed["properties"]["rollout"]["properties"]["parallel"]["default"] = 7
    changed["properties"]["plan"]["properties"]["max_age_hours"]["description"] = "Something else."
    out, tables = tool.render(doc, changed)
    assert tables == ["rollout", "plan"]
    assert "| `parallel` | `7` |" in out and "| `max_age_hours` | `72` | Something else. |" in out


def test_every_key_of_the_schema_is_in_a_table_or_named_in_the_docs():
    tool = _tool()
    doc = (REPO_ROOT / "docs" / "policy.md").read_text(encoding="utf-8")
    schema = _schema()
    tabled = {(section, key) for section, keys in tool.TABLES.values() for key in keys}
    for section in schema["properties"]:
        node = tool._resolve(schema, schema["properties"][section])
        for key in node.get("properties") or ():
            below = any(s == section and k.startswith(f"{key}.") for s, k in tabled)
            named = f"`{key}`" in doc or f"`{section}.{key}`" in doc
            assert (section, key) in tabled or ("", f"{section}.{key}") in tabled or below or named, \
                f"{section}.{key} is in neither a table nor the text of docs/policy.md"
