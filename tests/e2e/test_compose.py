"""deploy/compose.yaml: two app containers behind nginx, checked without Docker (no engine here).

- The file is valid against the Compose Specification's JSON schema (tests/data/compose_spec.json,
  from docker-compose 1.29.2's wheel, compose/config/compose_spec.json, Apache-2.0).
- It agrees with the rest of the repository: the apps are the Dockerfile's image and the app's
  CLI, each health check asks its own app's port, nginx's file is deploy/nginx.conf rendered for
  exactly these apps and this published port, and a real nginx accepts it (``nginx -t``).
- Run: the deployment as compose would start it, with each port renamed to a free one on this
  machine (5101, 5102 and 8080 may be taken here; inside compose they are the containers' own):
  nginx with the committed configuration, both apps with their compose command lines and
  environment on one loopback (as in nginx's network namespace), their health checks, and two
  browsers through nginx's port, each kept on one process, dragging λ.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import jsonschema
import pytest
import yaml

from app import cli, server
from deploy.render_nginx import STANDALONE, render
from tests.app.test_dockerfile import VENV_BIN
from tests.app.test_dockerfile import cmd as dockerfile_cmd
from tests.app.test_dockerfile import healthcheck as dockerfile_healthcheck
from tests.e2e.conftest import THREE_POINTS, VIEWPORT, AppPage, drag_lambda_past_x_squared, wait_until
from tests.e2e.test_nginx import NGINX, Nginx
from benchmarks.load import health
from tests.support import ROOT, AppServer, free_port

pytestmark = pytest.mark.timeout(150)

DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
SCHEMA = ROOT / "tests" / "data" / "compose_spec.json"


def compose(text: str | None = None) -> dict:
    return yaml.safe_load(COMPOSE.read_text() if text is None else text)  # "<<" merges, as compose does


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ``${NAME:-default}`` (the only form the file uses)."""
    return re.sub(r"\$\{(\w+):-([^}]*)\}", lambda m: env.get(m[1]) or m[2], value)


def apps(spec: dict) -> dict[str, dict]:
    return {name: s for name, s in spec["services"].items() if name != "nginx"}


def published(spec: dict) -> tuple[int, int]:
    (mapping,) = spec["services"]["nginx"]["ports"]
    host, container = mapping.split(":")
    return int(host), int(container)


def mounted_conf(spec: dict) -> Path:
    (volume,) = spec["services"]["nginx"]["volumes"]
    source, target, mode = volume.split(":")
    assert target == "/etc/nginx/conf.d/default.conf" and mode == "ro"  # the image's http-context slot
    return (COMPOSE.parent / source).resolve()


def port_of(app: dict) -> int:
    argv = app["command"]
    return int(argv[argv.index("--port") + 1])


def serve_args(argv: list[str], monkeypatch) -> tuple[tuple, dict]:
    """What ``lae-landscapes`` makes of a command line: the arguments it gives ``server.serve``."""
    assert argv[0] == "lae-landscapes"
    calls = []
    monkeypatch.setattr(server, "serve", lambda *args, **kwargs: calls.append((args, kwargs)))
    assert cli.main(argv[1:]) == 0
    (call,) = calls
    return call


# --------------------------------------------------------------------------- the file

def test_the_compose_file_is_valid_against_the_compose_specification():
    schema = json.loads(SCHEMA.read_text())
    validator = jsonschema.Draft201909Validator(schema)  # its "$schema", spelt as in 2021
    spec = compose()
    validator.validate(spec)
    # ...and the schema does catch a slip (a misspelt key), so the check above means something
    broken = {**spec, "services": {**spec["services"], "nginx": {**spec["services"]["nginx"], "port": ["1:1"]}}}
    with pytest.raises(jsonschema.ValidationError):
        validator.validate(broken)


def test_the_apps_are_the_image_on_their_own_loopback_ports_in_nginxs_network(monkeypatch):
    spec = compose()
    image = dockerfile_cmd()
    ports = []
    for name, app in apps(spec).items():
        assert (COMPOSE.parent / app["build"]["context"]).resolve() == ROOT and (ROOT / "Dockerfile").is_file()
        assert app["network_mode"] == "service:nginx" and app["depends_on"] == ["nginx"]
        assert app["restart"] == "unless-stopped"
        argv = app["command"]
        assert argv[:2] == image[:2]  # the image's program, another address and port
        (address, port), kwargs = serve_args(argv, monkeypatch)
        assert address == "127.0.0.1", name  # reachable through nginx only
        ports.append(port)
        # the image's health check, asked of this app's port
        options, check = dockerfile_healthcheck()
        health_check = app["healthcheck"]
        assert health_check["test"] == ["CMD", *check[:2], check[2].replace(":5006/", f":{port}/")], name
        assert {k: health_check[k] for k in ("interval", "timeout", "retries")} == {
            k: (int(options[k]) if k == "retries" else options[k]) for k in ("interval", "timeout", "retries")}
        assert health_check["start_period"] == options["start-period"]
    assert len(ports) >= 2 and len(set(ports)) == len(ports)


def test_browsers_may_open_the_websocket_from_the_published_port_and_nothing_allows_every_origin():
    spec = compose()
    host_port, _ = published(spec)
    for app in apps(spec).values():
        raw = app["environment"]["LAE_ALLOW_WEBSOCKET_ORIGIN"]
        origins = [o.strip() for o in interpolate(raw, {}).split(",")]
        assert {f"localhost:{host_port}", f"127.0.0.1:{host_port}"} <= set(origins)
        assert not [o for o in origins if server._any_host(o)]
        # a deployment's own name replaces the default (docker compose reads it from the shell)
        assert interpolate(raw, {"LAE_ALLOW_WEBSOCKET_ORIGIN": "landscapes.example.edu"}) == "landscapes.example.edu"


def test_nginxs_file_is_the_template_rendered_for_these_apps_and_a_real_nginx_accepts_it(tmp_path):
    spec = compose()
    _, container_port = published(spec)
    upstreams = [f"127.0.0.1:{port_of(a)}" for a in apps(spec).values()]
    conf = mounted_conf(spec)
    assert conf == DEPLOY / "compose-nginx.conf"
    # not a copy to keep in step by hand: exactly the template as render_nginx.py renders it
    assert conf.read_text() == render(str(container_port), upstreams, access_log="/var/log/nginx/access.log"), (
        "deploy/compose-nginx.conf is not the template rendered for compose.yaml: run the command "
        "in compose.yaml's header")
    assert re.findall(r"^\s*listen (\S+);", conf.read_text(), re.M) == [str(container_port)]

    # nginx -t: the file in an http block, as the nginx image includes conf.d/*.conf (its log
    # path is the image's, which is /dev/stdout there; a file in the prefix here)
    prefix = tmp_path / "nginx"
    prefix.mkdir()
    text = conf.read_text().replace("/var/log/nginx/access.log", "access.log")
    (prefix / "nginx.conf").write_text(STANDALONE % textwrap.indent(text, "    "))
    check = subprocess.run([NGINX, "-t", "-p", str(prefix), "-c", "nginx.conf", "-e", "error.log"],
                           capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, check.stderr


# --------------------------------------------------------------------------- the deployment, run

class ComposeApp(AppServer):
    """An app service's own command line and environment, on ``port``."""

    def __init__(self, argv: list[str], env: dict[str, str], port: int):
        super().__init__(env=env)
        self.argv, self.port, self.url = argv, port, f"http://localhost:{port}"
        self.log_path = self.log_path.with_name(f"server-{port}.log")

    def command(self) -> list[str]:
        return [str(VENV_BIN / "lae-landscapes"), *self.argv[1:]]


def test_the_deployment_serves_two_browsers_each_on_one_process(browser):
    text, spec = COMPOSE.read_text(), compose()
    # every port of the deployment renamed to a free one here, in the compose file and in
    # nginx's: 5101 → a, 5102 → b, 8080 → c
    names = [str(port_of(a)) for a in apps(spec).values()] + [str(published(spec)[0])]
    renamed = {old: str(free_port()) for old in dict.fromkeys(names)}

    def rename(s: str) -> str:
        return re.sub(r"\b(" + "|".join(renamed) + r")\b", lambda m: renamed[m[1]], s)

    spec = compose(rename(text))
    host_port, container_port = published(spec)
    assert host_port == container_port  # so one renamed port serves both sides here
    conf = rename(mounted_conf(compose()).read_text()).replace("/var/log/nginx/access.log", "access.log")
    running = [ComposeApp(a["command"], {k: interpolate(v, {}) for k, v in a["environment"].items()}, port_of(a))
               for a in apps(spec).values()]
    nginx = Nginx([], container_port, conf=conf)
    try:
        for app in running:
            app.start()
        for a in apps(spec).values():  # each health check, as Docker runs it (without the CMD)
            assert subprocess.run([sys.executable, *a["healthcheck"]["test"][2:]], timeout=10).returncode == 0
        nginx.start()
        before = [health(app.url) for app in running]
        visitors = []
        for _ in range(2):
            context = browser.new_context(viewport=VIEWPORT)
            visitors.append((context, AppPage(context.new_page(), nginx).open("/landscape")))
        for _, page in visitors:
            page.wait_until(lambda: page.summary("sum").startswith(THREE_POINTS))
        now = [health(app.url) for app in running]
        assert sum(h["created"] - b["created"] for h, b in zip(now, before)) == 2  # no page built twice
        assert [h["connections"] for h in now] == [h["sessions"] for h in now]
        for (context, page), lam in zip(visitors, (2.0, 1.5)):
            drag_lambda_past_x_squared(page, lam)
            page.assert_clean()
            context.close()
        wait_until(lambda: len(nginx.websockets()) >= 2)
        assert {r["upstream"] for r in nginx.requests()} <= {f"127.0.0.1:{app.port}" for app in running}
    finally:
        nginx.stop()
        for app in running:
            app.stop()
        shutil.rmtree(nginx.prefix, ignore_errors=True)


def test_the_rendering_command_in_the_header_is_the_one_the_file_came_from():
    header = re.sub(r"\\\n#\s*", " ", COMPOSE.read_text())  # its continued lines joined
    command = re.search(r"python3 (deploy/render_nginx\.py [^>]*?) > deploy/compose-nginx\.conf", header)
    assert command, "no rendering command in compose.yaml's header"
    argv = command[1].split()
    out = subprocess.run([sys.executable, *argv], cwd=ROOT, capture_output=True, text=True, timeout=30,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True).stdout
    assert out == (DEPLOY / "compose-nginx.conf").read_text()
