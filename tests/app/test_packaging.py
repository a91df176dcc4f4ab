"""The package as pip installs it (a wheel, as in the Docker image), not as the repository has
it: every module of the app and its static assets must be in the wheel, and the app must import
and find its assets from there alone."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.support import ROOT

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel, built offline (no build isolation: the test extra brings setuptools) from a
    copy of the sources, so the build leaves nothing in the repository."""
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    for folder in ("app", "lae_core", "static"):
        shutil.copytree(ROOT / folder, src / folder, ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    str(src), "-w", str(out)], check=True, capture_output=True, timeout=150)
    (built,) = out.glob("lae_landscapes-*.whl")
    return built


def test_the_wheel_carries_every_module_and_asset_of_the_repository(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    wanted = {p.relative_to(ROOT).as_posix() for package in ("app", "lae_core")
              for p in (ROOT / package).rglob("*")
              if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"}
    # static/ at the top of the repository is carried inside the package
    wanted |= {f"app/static/{p.name}" for p in (ROOT / "static").iterdir() if p.is_file()}
    assert wanted, "nothing to package?"
    missing = sorted(wanted - names)
    assert not missing, f"missing from the wheel: {missing}"
    assert "app/static/app.css" in names and "app/static/favicon.svg" in names


def test_the_installed_app_imports_and_finds_its_assets_from_the_wheel_alone(wheel, tmp_path):
    """The app finds static/ inside the installed package (the checkout's own is not on the path)."""
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    code = ("import app, app.server, app.shell, lae_core; "
            "print(app.server.__file__); print(lae_core.__file__); "
            "print((app.shell.STATIC / 'app.css').is_file() and app.shell.STATIC.is_relative_to(app.__path__[0])); "
            "print(sorted(app.server.ROUTES))")
    # -P: the working directory (the repository) is not on the path; only the wheel's files are
    out = subprocess.run([sys.executable, "-P", "-c", code], cwd=tmp_path, capture_output=True, text=True,
                         env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"}, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    server_file, core_file, css, routes = out.stdout.splitlines()
    assert Path(server_file).is_relative_to(site) and Path(core_file).is_relative_to(site)
    assert css == "True"
    assert "/lecture" in routes and "/landscape" in routes
