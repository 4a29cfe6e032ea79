"""Local servers on loopback for the tests (tests/support/servers.py)."""
