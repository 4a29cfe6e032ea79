"""Integration tests that need no lab: they run the roles on the controller
against test doubles on loopback (a moto server standing in for EC2)."""

import sys
from pathlib import Path

TESTS_DIR = Path(__file__).resolve().parents[1]
if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))

from support.moto_server import moto_server  # noqa: E402,F401  # pylint: disable=unused-import
