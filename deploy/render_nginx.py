"""Fill in deploy/nginx.conf: the public address nginx listens on and the app processes behind it.

The template's placeholders are ``${LISTEN}``, ``${SERVER_NAME}``, ``${ACCESS_LOG}`` and
``${UPSTREAM_SERVERS}`` (one ``server host:port;`` line per app process); every other ``$name``
in it is nginx's own variable and stays as it is.

For a department's nginx (an http-context file, e.g. /etc/nginx/conf.d/lae-landscapes.conf)::

    python3 deploy/render_nginx.py --listen 80 --server-name landscapes.example.edu \\
        --app 127.0.0.1:5101 --app 127.0.0.1:5102 > /etc/nginx/conf.d/lae-landscapes.conf

``--standalone`` wraps the same text in a complete configuration whose every path (pid, logs,
temporary files) is relative to nginx's prefix directory, so nginx runs in the foreground
without root: the scale-out test (tests/e2e/test_nginx.py) runs it so, and so can you::

    lae-landscapes serve --port 5101 --allow-websocket-origin localhost:8080 &
    lae-landscapes serve --port 5102 --allow-websocket-origin localhost:8080 &
    mkdir -p /tmp/lae-nginx
    python3 deploy/render_nginx.py --standalone --listen 127.0.0.1:8080 \\
        --app 127.0.0.1:5101 --app 127.0.0.1:5102 > /tmp/lae-nginx/nginx.conf
    nginx -p /tmp/lae-nginx -c nginx.conf -e error.log     # http://localhost:8080; Ctrl-C stops it
"""

from __future__ import annotations

import argparse
import re
import sys
import textwrap
from pathlib import Path

TEMPLATE = Path(__file__).resolve().with_name("nginx.conf")
PLACEHOLDER = re.compile(r"\$\{(\w+)\}")

#: the frame ``--standalone`` puts around the rendered template; relative paths are relative
#: to nginx's prefix (``nginx -p DIR``), which must be writable by whoever runs nginx
STANDALONE = """\
# Rendered by deploy/render_nginx.py --standalone: a foreground nginx (no root needed) whose
# pid, logs and temporary files all live in its prefix directory (nginx -p DIR).
daemon off;
worker_processes 1;
pid nginx.pid;
error_log error.log;

events {
    worker_connections 1024;
}

http {
    client_body_temp_path client_body_temp;
    proxy_temp_path proxy_temp;
    fastcgi_temp_path fastcgi_temp;
    uwsgi_temp_path uwsgi_temp;
    scgi_temp_path scgi_temp;

%s
}
"""


def render(listen: str, apps: list[str], *, server_name: str = "_", access_log: str | None = None,
           standalone: bool = False) -> str:
    """deploy/nginx.conf with its placeholders filled in.

    ``listen`` is nginx's ``listen`` argument (``80``, ``127.0.0.1:8080``); ``apps`` the
    ``host:port`` of each ``lae-landscapes serve`` process; ``standalone`` wraps the result in
    a complete configuration. ``access_log`` defaults to /var/log/nginx/lae-landscapes.access.log,
    or to ``access.log`` in the prefix when standalone.
    Raises ``ValueError`` for no app or a placeholder this function does not know.
    """
    if not apps:
        raise ValueError("apps: name at least one app process (host:port)")
    if access_log is None:
        access_log = "access.log" if standalone else "/var/log/nginx/lae-landscapes.access.log"
    values = {"LISTEN": listen, "SERVER_NAME": server_name, "ACCESS_LOG": access_log,
              "UPSTREAM_SERVERS": "\n".join(f"    server {app};" for app in apps)}

    def fill(match: re.Match) -> str:
        if match.group(1) not in values:
            raise ValueError(f"{TEMPLATE}: unknown placeholder {match.group(0)}")
        return values[match.group(1)]

    text = PLACEHOLDER.sub(fill, TEMPLATE.read_text())
    return STANDALONE % textwrap.indent(text, "    ") if standalone else text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--listen", required=True, help="nginx's listen: port or address:port")
    parser.add_argument("--app", action="append", required=True, metavar="HOST:PORT",
                        help="an app process behind nginx (repeat for each)")
    parser.add_argument("--server-name", default="_", help="nginx's server_name (default _: any)")
    parser.add_argument("--access-log", help="access log path (default "
                        "/var/log/nginx/lae-landscapes.access.log; access.log with --standalone)")
    parser.add_argument("--standalone", action="store_true",
                        help="a complete configuration for a foreground nginx -p DIR")
    args = parser.parse_args(argv)
    sys.stdout.write(render(args.listen, args.app, server_name=args.server_name,
                            access_log=args.access_log, standalone=args.standalone))
    return 0


if __name__ == "__main__":
    sys.exit(main())
