"""Shared test set-up: the lab package (lab/) is importable by every test."""

import sys
from pathlib import Path

LAB_DIR = Path(__file__).resolve().parents[1] / "lab"
if str(LAB_DIR) not in sys.path:
    sys.path.insert(0, str(LAB_DIR))
