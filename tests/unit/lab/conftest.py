"""Make the lab package importable (the lead's top-level conftest may replace this)."""

import sys
from pathlib import Path

LAB_DIR = Path(__file__).resolve().parents[3] / "lab"
if str(LAB_DIR) not in sys.path:
    sys.path.insert(0, str(LAB_DIR))
