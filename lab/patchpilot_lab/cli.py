"""``lab up | down [--purge] | status | reset [HOST...]``: the lab's one entry point."""

from __future__ import annotations

import argparse
import os
import sys
import time

from . import lifecycle
from .config import MAX_HOSTS, from_env
from .system import LabError, require_root

EPILOG = f"""settings (environment):
  LAB_HOSTS=N           number of hosts, 1..{MAX_HOSTS} (default 6, a mix of Debian 11, 12 and 13)
  LAB_PREFIX=NAME       name of this lab (default pplab); the test suite runs its own
  LAB_RPM_HOSTS=N       also N hosts of the RPM variant, rpm01.. (default 0): Debian 12 with dnf,
                        zypper and the lab's RPM repository of pending advisories
  LAB_SSH_PORT_BASE=P   hosts' ssh ports on 127.0.0.1 are P+1..P+N (default 2200)
  LAB_SUBNET=CIDR       the lab network (default 10.213.0.0/24)
  LAB_REAL=1            real mode: bookworm hosts with Debian's security suite (needs network)
  LAB_MIRROR=URL        Debian mirror for debootstrap (default: this machine's apt sources)
  LAB_NO_INSTALL=1      fail instead of installing missing Debian packages
  LAB_INVENTORY_DIR, LAB_STATE_DIR, LAB_CACHE_DIR   where files go
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="lab", description="A lab of real Debian hosts (systemd containers) for patchpilot.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("setup", help="only install the Debian packages the lab needs and configure podman")
    sub.add_parser("up", help="build what is missing and start the hosts (idempotent)")
    down = sub.add_parser("down", help="remove the hosts, network, firewall rule and keys")
    down.add_argument("--purge", action="store_true", help="also remove cached images and the repository")
    sub.add_parser("status", help="show the hosts and whether they answer ssh (exit 1 if not all do)")
    reset = sub.add_parser("reset", help="recreate hosts from their image (all if none named)")
    reset.add_argument("hosts", nargs="*")
    args = parser.parse_args(argv)

    try:
        require_root()
        cfg = from_env()
        if args.command == "setup":
            lifecycle.setup(cfg)
            print("lab: the machine has what the lab needs")
            return 0
        if args.command == "up":
            started = time.monotonic()
            hosts = lifecycle.up(cfg)
            healthy, table = lifecycle.status(cfg)
            sys.stdout.write(table)
            print(f"lab '{cfg.prefix}' is up: {len(hosts)} hosts in {time.monotonic() - started:.0f}s; "
                  f"inventory {cfg.inventory_dir / lifecycle.ASSETS_CONFIG}, CMDB {cfg.inventory_dir / 'cmdb.csv'}")
            return 0 if healthy else 1
        if args.command == "down":
            lifecycle.down(cfg, purge=args.purge)
            return 0
        if args.command == "status":
            healthy, table = lifecycle.status(cfg)
            sys.stdout.write(table)
            return 0 if healthy else 1
        if args.command == "reset":
            hosts = lifecycle.reset(cfg, args.hosts)
            print(f"reset {len(hosts)} host(s): {', '.join(h.name for h in hosts)}")
            return 0
    except LabError as exc:
        print(f"lab: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("lab: interrupted", file=sys.stderr)
        return 130
    except OSError as exc:
        print(f"lab: error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # a bug: still one line, details on request
        if os.environ.get("LAB_VERBOSE"):
            raise
        print(f"lab: internal error: {type(exc).__name__}: {exc} (LAB_VERBOSE=1 shows details)",
              file=sys.stderr)
        return 3
    return 2


if __name__ == "__main__":
    sys.exit(main())
