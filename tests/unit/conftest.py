"""Unit test set-up: import the collection as ansible_collections.patchpilot.fleet.

The checkout is linked into .ansible/collections (gitignored) the way ansible
finds it; the link is made here when missing, so a fresh clone can run the
tests without the setup script.
"""

import os
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
COLLECTIONS_DIR = REPO_ROOT / ".ansible" / "collections"
COLLECTION_LINK = COLLECTIONS_DIR / "ansible_collections" / "patchpilot" / "fleet"

if not COLLECTION_LINK.exists():
    if COLLECTION_LINK.is_symlink():  # dangling, e.g. the checkout moved
        COLLECTION_LINK.unlink()
    COLLECTION_LINK.parent.mkdir(parents=True, exist_ok=True)
    COLLECTION_LINK.symlink_to(os.path.relpath(REPO_ROOT, COLLECTION_LINK.parent))

if str(COLLECTIONS_DIR) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS_DIR))
