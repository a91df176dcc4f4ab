"""``lae-landscapes`` — the command line: ``lae-landscapes serve [--address --port …]``."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lae-landscapes",
                                     description="Interactive loss landscapes of regularized linear autoencoders.")
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve", help="serve the app (default http://127.0.0.1:5006)")
    s.add_argument("--address", default="127.0.0.1",
                   help="interface to bind (default 127.0.0.1; 0.0.0.0 to serve a network)")
    s.add_argument("--port", type=int, default=5006, help="port (default 5006)")
    s.add_argument("--num-procs", type=int, default=1, help="worker processes (default 1)")
    s.add_argument("--allow-websocket-origin", action="append", default=[], metavar="HOST[:PORT]",
                   help="an extra origin allowed to open the websocket (repeatable; also the "
                        "comma-separated LAE_ALLOW_WEBSOCKET_ORIGIN); the app's own host is always allowed")
    args = parser.parse_args(argv)
    if args.command == "serve":
        from app import server
        try:
            server.serve(args.address, args.port, num_procs=args.num_procs,
                         allow_websocket_origin=args.allow_websocket_origin)
        except ValueError as exc:
            parser.error(str(exc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
