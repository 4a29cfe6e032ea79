"""Debian's Chromium, headless, for the tests that read a page as a browser draws it.

Chromium runs with a fresh profile, no sandbox (the suite runs as root), no GPU, no QUIC, no background
networking, component updates or sync, and every host name resolving to nothing: nothing it opens needs
the network, and it reaches none.
"""

from __future__ import annotations

import os
import subprocess
from html.parser import HTMLParser
from pathlib import Path

from support.skips import require_tools

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--host-resolver-rules=MAP * ~NOTFOUND")


class Charts(HTMLParser):
    """The chart elements of a DOM dump (their data-* attributes), and the page's text."""

    def __init__(self):
        super().__init__()
        self.marks, self.text, self.body = [], [], {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "body":
            self.body = attrs
        if tag in ("rect", "circle") and "data-chart" in attrs:
            self.marks.append(attrs)

    def handle_data(self, data):
        self.text.append(data)


def chromium(profile: Path, *argv: str) -> subprocess.CompletedProcess:
    browser = require_tools("chromium", hint="apt-get install chromium (./dev setup does)",
                            path=os.pathsep.join([os.environ.get("PATH", ""), "/usr/bin"]))["chromium"]
    return subprocess.run([browser, *FLAGS, f"--user-data-dir={profile}", *argv], capture_output=True, text=True,
                          timeout=120, check=False, stdin=subprocess.DEVNULL)
