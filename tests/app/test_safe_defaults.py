"""Safe defaults: the app serves this machine only unless told otherwise, no other site can
open its websocket, and there is no switch that quietly allows every origin.

- the CLI binds 127.0.0.1 by default, and a server started with the CLI's defaults listens on
  loopback only (not reachable on the machine's network address);
- the websocket origin list holds the app's own host, never ``*`` — neither by default, nor
  from ``--allow-websocket-origin``, nor from ``LAE_ALLOW_WEBSOCKET_ORIGIN``;
- a websocket handshake carrying a foreign ``Origin`` is refused with 403, also when the request
  looks same-origin to Tornado (``Host`` naming the same foreign host: DNS rebinding).

(Error notices carry no file path or traceback: tests/e2e/test_failing_callback.py.)
"""

from __future__ import annotations

import fcntl
import http.client
import ipaddress
import os
import socket
import struct
import subprocess
import sys

import panel as pn
import pytest

from app import cli, server
from tests.support import ROOT, AppServer, keep_serve_out_of_the_process

ADDRESSES = ["127.0.0.1", "localhost", "0.0.0.0", "::", "", "192.0.2.7", "lae.example.org"]


# --------------------------------------------------------------------------- the CLI's defaults

@pytest.fixture
def serve_calls(monkeypatch):
    """Replace ``app.server.serve`` by a recorder: nothing starts."""
    calls = []
    monkeypatch.setattr(server, "serve", lambda *args, **kwargs: calls.append((args, kwargs)))
    return calls


def test_cli_serves_on_loopback_by_default(serve_calls):
    assert cli.main(["serve"]) == 0
    (args, kwargs), = serve_calls
    assert args[0] == "127.0.0.1"
    assert kwargs["allow_websocket_origin"] == []


def test_cli_binds_another_interface_only_when_asked(serve_calls):
    cli.main(["serve", "--address", "0.0.0.0", "--allow-websocket-origin", "lae.example.org"])
    (args, kwargs), = serve_calls
    assert args[0] == "0.0.0.0" and kwargs["allow_websocket_origin"] == ["lae.example.org"]


# --------------------------------------------------------------------------- websocket origins

@pytest.fixture
def pn_serve_calls(monkeypatch):
    """Replace ``panel.serve`` by a recorder, and keep the environment free of extra origins."""
    calls = []
    monkeypatch.setattr(pn, "serve", lambda *args, **kwargs: calls.append(kwargs))
    monkeypatch.delenv(server.ORIGIN_ENV, raising=False)
    keep_serve_out_of_the_process(monkeypatch)
    return calls


@pytest.mark.parametrize("address", ADDRESSES)
def test_default_origins_are_the_apps_own_host_never_a_wildcard(address):
    origins = server.default_origins(address, 5006)
    assert origins and "*" not in origins
    hosts = {o.rsplit(":", 1)[0] for o in origins}
    assert all(o.endswith(":5006") for o in origins)
    assert {"localhost", "127.0.0.1"} <= hosts
    # a wildcard bind is not an origin: serving a network needs the public name spelled out
    assert hosts <= {"localhost", "127.0.0.1", address} and not hosts & {"0.0.0.0", "::", ""}


def test_serve_passes_only_named_origins_and_binds_loopback_by_default(pn_serve_calls):
    server.serve(port=5123)
    kwargs, = pn_serve_calls
    assert kwargs["address"] == "127.0.0.1"
    assert sorted(kwargs["websocket_origin"]) == ["127.0.0.1:5123", "localhost:5123"]


def test_serve_runs_one_process_unless_asked_and_says_what_shared_port_workers_cost(pn_serve_calls, capsys):
    server.serve(port=5123)
    assert pn_serve_calls[-1]["num_procs"] == 1 and capsys.readouterr().err == ""
    server.serve(port=5123, num_procs=0)  # Bokeh's one per core
    assert pn_serve_calls[-1]["num_procs"] == 0 and "nginx" in capsys.readouterr().err
    with pytest.raises(ValueError, match="num_procs"):
        server.serve(port=5123, num_procs=-1)
    assert len(pn_serve_calls) == 2


def test_serve_adds_origins_from_the_environment(pn_serve_calls, monkeypatch):
    monkeypatch.setenv(server.ORIGIN_ENV, "lae.example.org, slides.example.org:8443")
    server.serve(port=5123, allow_websocket_origin=["class.example.edu"])
    origins = pn_serve_calls[0]["websocket_origin"]
    assert {"lae.example.org", "slides.example.org:8443", "class.example.edu"} <= set(origins)
    assert "*" not in origins


# Bokeh matches origins label by label with * as a wildcard: each of these admits every host
WILDCARDS = ["*", "*:*", "*:5006", "*.*", "*.*:5006", "*.*.*.*"]


@pytest.mark.parametrize("extra", [[w] for w in WILDCARDS] + [["lae.example.org", "*"]])
def test_serve_refuses_a_wildcard_origin_argument(pn_serve_calls, extra):
    with pytest.raises(ValueError, match="allow_websocket_origin"):
        server.serve(port=5123, allow_websocket_origin=extra)
    assert pn_serve_calls == []


def test_serve_accepts_a_pattern_that_names_a_domain(pn_serve_calls):
    server.serve(port=5123, allow_websocket_origin=["*.lae.example.org", "192.168.1.*:5006"])
    assert {"*.lae.example.org", "192.168.1.*:5006"} <= set(pn_serve_calls[0]["websocket_origin"])


def test_every_refused_wildcard_really_admits_a_foreign_host():
    """The refusals above are not arbitrary: Bokeh's own matcher lets evil.example through."""
    from bokeh.server.util import match_host

    for pattern in WILDCARDS[:-1]:
        assert match_host("evil.example:5006", pattern), pattern
    assert match_host("10.9.8.7:5006", "*.*.*.*")


@pytest.mark.parametrize("value", ["*", "lae.example.org,*", " * , localhost:80", "*:*"])
def test_serve_refuses_a_wildcard_origin_from_the_environment(pn_serve_calls, monkeypatch, value):
    monkeypatch.setenv(server.ORIGIN_ENV, value)
    with pytest.raises(ValueError, match="'\\*'"):
        server.serve(port=5123)
    assert pn_serve_calls == []


def test_cli_reports_a_wildcard_origin_as_a_usage_error(pn_serve_calls, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["serve", "--allow-websocket-origin", "*"])
    assert exit_.value.code == 2
    assert "allow_websocket_origin" in capsys.readouterr().err
    assert pn_serve_calls == []


# --------------------------------------------------------------------------- a real server

class DefaultAddressServer(AppServer):
    """``python -m app.cli serve --port P`` — no ``--address``: the CLI's own default."""

    def command(self) -> list[str]:
        return [sys.executable, "-m", "app.cli", "serve", "--port", str(self.port)]


@pytest.fixture(scope="module")
def default_server():
    with DefaultAddressServer() as srv:
        yield srv


def interface_addresses() -> set[str]:
    """This machine's IPv4 addresses: every interface's (SIOCGIFADDR), the host name's, and
    the source address of a route out (a UDP connect sends no packet)."""
    found = set()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for _, name in socket.if_nameindex():
            try:
                packed = fcntl.ioctl(s.fileno(), 0x8915, struct.pack("256s", name[:15].encode()))  # SIOCGIFADDR
                found.add(socket.inet_ntoa(packed[20:24]))
            except OSError:
                pass  # an interface without an IPv4 address
    try:
        found |= {info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)}
    except OSError:
        pass
    for target in ("192.0.2.1", "10.255.255.255", "198.51.100.1"):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            try:
                s.connect((target, 9))
                found.add(s.getsockname()[0])
            except OSError:
                pass
    return found


def non_loopback_addresses() -> list[str]:
    return sorted(a for a in interface_addresses()
                  if not ipaddress.ip_address(a).is_loopback and not ipaddress.ip_address(a).is_unspecified)


def listening_addresses(port: int) -> list[str]:
    """Local addresses of the sockets LISTENing on ``port``, from /proc/net/tcp and tcp6."""
    out = []
    for table, family in (("/proc/net/tcp", socket.AF_INET), ("/proc/net/tcp6", socket.AF_INET6)):
        if not os.path.exists(table):
            continue
        with open(table) as f:
            next(f)
            for line in f:
                local, state = line.split()[1], line.split()[3]
                addr_hex, port_hex = local.split(":")
                if state != "0A" or int(port_hex, 16) != port:
                    continue
                raw = bytes.fromhex(addr_hex)
                # the kernel prints each 32-bit word in host byte order
                raw = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4)) if sys.byteorder == "little" else raw
                out.append(str(ipaddress.ip_address(raw)))
    return out


def test_a_server_with_default_settings_listens_on_loopback_only(default_server):
    listening = listening_addresses(default_server.port)
    assert listening, f"nothing listens on port {default_server.port}"
    assert all(ipaddress.ip_address(a).is_loopback for a in listening), listening


def test_a_server_with_default_settings_is_not_reachable_on_the_network_address(default_server):
    addresses = non_loopback_addresses()
    for address in addresses:
        with pytest.raises(OSError):
            socket.create_connection((address, default_server.port), timeout=3).close()
    # the same probe does reach it on loopback, so a refusal above means something
    socket.create_connection(("127.0.0.1", default_server.port), timeout=3).close()
    if not addresses:  # no network interface: the listening socket above is the whole story
        assert all(ipaddress.ip_address(a).is_loopback for a in listening_addresses(default_server.port))


def websocket_handshake(port: int, origin: str, host: str | None = None, **headers: str) -> int:
    """Status of a raw websocket upgrade request to /landscape/ws carrying ``Origin`` (and
    ``headers``: ``Sec_Fetch_Site="same-origin"`` sends ``Sec-Fetch-Site``)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", "/landscape/ws", headers={
            "Host": host or f"localhost:{port}", "Origin": origin, "Upgrade": "websocket",
            "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
            **{name.replace("_", "-"): value for name, value in headers.items()}})
        return conn.getresponse().status
    finally:
        conn.close()


@pytest.mark.parametrize("origin", ["http://evil.example", "http://localhost.evil.example",
                                    "http://evil.example:{port}", "null", "http://127.0.0.1.evil.example:{port}"])
def test_a_websocket_handshake_from_a_foreign_origin_is_refused(default_server, origin):
    assert websocket_handshake(default_server.port, origin.format(port=default_server.port)) == 403


@pytest.mark.parametrize("fetch_site", [None, "same-origin"])
def test_a_foreign_page_that_the_browser_thinks_same_origin_is_refused_too(default_server, fetch_site):
    """DNS rebinding: a page of evil.example, its name then resolved to this machine, opens the
    websocket with Host and Origin both evil.example (and Sec-Fetch-Site: same-origin). Tornado
    6.6 lets such a handshake through without asking the origin list; this app asks it."""
    port = default_server.port
    extra = {"Sec_Fetch_Site": fetch_site} if fetch_site else {}
    for name in (f"evil.example:{port}", "evil.example", f"192.0.2.7:{port}"):
        assert websocket_handshake(port, f"http://{name}", host=name, **extra) == 403, name
    # the app's own page, with the same headers, still opens it
    assert websocket_handshake(port, f"http://localhost:{port}", host=f"localhost:{port}", **extra) != 403


def test_a_websocket_handshake_from_the_apps_own_origin_is_not_refused(default_server):
    """The control for the test above: the same request from the app's own page passes the
    origin check (Bokeh then switches protocols, or refuses the missing session token — not 403)."""
    status = websocket_handshake(default_server.port, f"http://localhost:{default_server.port}")
    assert status != 403


# --------------------------------------------------------------------------- the test-only fault switch

def shell_fault(env_value: str | None) -> str:
    """``app.shell.FAULT`` as a fresh interpreter reads it at import."""
    env = {k: v for k, v in os.environ.items() if k != "LAE_TEST_FAULT"}
    if env_value is not None:
        env["LAE_TEST_FAULT"] = env_value
    out = subprocess.run([sys.executable, "-c", "import app.shell as s; print(s.FAULT)"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120, check=True)
    return out.stdout.strip()


def test_the_fault_switch_is_off_unless_its_environment_variable_is_set():
    assert shell_fault(None) == "None"
    assert shell_fault("") == "None"
    assert shell_fault("lam=3.21") == "('lam', '3.21')"


def test_with_the_switch_off_a_guarded_callback_runs_at_any_value(monkeypatch):
    from app import shell
    from app.pages.landscape import LandscapePage

    monkeypatch.setattr(shell, "FAULT", None)
    page = LandscapePage(lam=3.21)
    calls = []
    page.guarded(calls.append, "drawn")
    assert calls == ["drawn"] and page.notices.items == []


def test_with_the_switch_on_only_the_trigger_value_fails_and_the_notice_is_generic(monkeypatch):
    from app import shell
    from app.pages.landscape import LandscapePage

    monkeypatch.setattr(shell, "FAULT", ("lam", "3.21"))
    calls = []
    page = LandscapePage(lam=3.2)
    page.guarded(calls.append, "drawn")
    assert calls == ["drawn"] and page.notices.items == []
    page = LandscapePage(lam=3.21)
    page.guarded(calls.append, "not drawn")
    assert calls == ["drawn"]
    (level, text), = page.notices.items
    assert level == "error" and "something went wrong" in text and "injected" not in text
