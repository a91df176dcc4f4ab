"""``lae-landscapes export`` and ``snapshot`` from the command line, without a browser: the help,
clean refusals of bad input, and exported files that hold every slider position and would
fetch nothing from the network. (In a browser: tests/e2e/test_export_snapshot.py.)"""

from __future__ import annotations

import contextlib
import io
import json
import re
import sys

import pytest

from app import cli, snapshot

PAGES = ["landscape", "theorem", "trajectories", "collapse", "grassmannian"]
#: (slider parameter, first, last, positions) of each page's export with its default settings
SLIDERS = {"landscape": ("lam", 0, 4, 41), "theorem": ("lam", 0, 20, 42),
           "trajectories": ("lam", 0, 4, 17), "collapse": ("lam", 0, 10, 41),
           "grassmannian": ("phi", 0, 180, 37)}


def run(*argv) -> tuple[int, str, str]:
    """``lae-landscapes *argv`` in this process: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main(list(argv))
        except SystemExit as exc:  # argparse: --help, usage errors
            code = exc.code
    return code, out.getvalue(), err.getvalue()


def document_text(text: str) -> str:
    """The JSON of the Bokeh document an exported file carries (its models and recorded states)."""
    blocks = re.findall(r'<script type="application/json" id="[^"]+">\s*(.*?)\s*</script>', text, re.S)
    assert len(blocks) == 1, "an exported file carries one document"
    return blocks[0]


def document_json(text: str) -> dict:
    return next(iter(json.loads(document_text(text)).values()))


def entries(value):
    """A serialized Bokeh map as (key, value) pairs."""
    return value["entries"] if isinstance(value, dict) and value.get("type") == "map" else list(value.items())


# --------------------------------------------------------------------------- help and refusals


def test_export_help_names_every_page_and_the_options():
    code, out, _ = run("export", "--help")
    assert code == 0
    for word in [*PAGES, "--out", "--query", "no server", "recorded positions"]:
        assert word in out


def test_snapshot_help_names_the_size_options_and_how_to_install_playwright():
    code, out, _ = run("snapshot", "--help")
    assert code == 0
    for word in ["--query", "--out", "--width", "--height", "--full", "pip install 'lae-landscapes[snapshot]'"]:
        assert word in out


@pytest.mark.parametrize("command", ["export", "snapshot"])
def test_out_is_required(command):
    code, _, err = run(command, "landscape")
    assert code == 2 and "--out" in err


def test_export_of_an_unknown_page_is_refused_with_the_list_of_pages(tmp_path):
    target = tmp_path / "x.html"
    code, out, err = run("export", "lanscape", "--out", str(target))
    assert code == 2 and out == ""
    assert err.strip() == ("lae-landscapes export: error: no page 'lanscape'; choose one of landscape, "
                           "theorem, trajectories, collapse, grassmannian")
    assert not target.exists()


def test_export_into_a_missing_folder_is_refused(tmp_path):
    code, _, err = run("export", "landscape", "--out", str(tmp_path / "nowhere" / "x.html"))
    assert code == 2 and "does not exist" in err and "Traceback" not in err


def test_snapshot_of_an_unknown_page_is_refused_with_the_list_of_pages(tmp_path):
    code, _, err = run("snapshot", "../etc/passwd", "--out", str(tmp_path / "x.png"))
    assert code == 2
    assert "no page '../etc/passwd'; choose one of" in err and "landscape" in err and "Traceback" not in err
    assert not (tmp_path / "x.png").exists()


@pytest.mark.parametrize("bad", ["lam", "lam=0.5&&x", "=0.5"])
def test_snapshot_refuses_a_query_that_is_not_name_value_pairs(tmp_path, bad):
    code, _, err = run("snapshot", "landscape", "--query", bad, "--out", str(tmp_path / "x.png"))
    assert code == 2 and "is not of the form name=value" in err


@pytest.mark.parametrize("size", [["--width", "10"], ["--height", "100000"]])
def test_snapshot_refuses_sizes_a_screen_cannot_have(tmp_path, size):
    code, _, err = run("snapshot", "landscape", *size, "--out", str(tmp_path / "x.png"))
    assert code == 2 and "must be between 200 and 4096 pixels" in err


def test_snapshot_without_playwright_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "playwright", None)  # `import playwright…` now raises ImportError
    monkeypatch.setitem(sys.modules, "playwright.sync_api", None)
    code, _, err = run("snapshot", "landscape", "--out", str(tmp_path / "x.png"))
    assert code == 2
    assert "pip install 'lae-landscapes[snapshot]'" in err and "Traceback" not in err


@pytest.mark.parametrize(("query", "path"), [
    ("lam=0.5&x=1", "/landscape?lam=0.5&x=1&embed=true"),
    ("?lam=0.5", "/landscape?lam=0.5&embed=true"),
    ("", "/landscape?embed=true"),
    ("embed=false&lam=2", "/landscape?embed=false&lam=2"),
])
def test_snapshot_opens_the_embed_view_of_the_query(query, path):
    assert snapshot.page_path("landscape", query) == path


def test_snapshot_full_opens_the_whole_page():
    assert snapshot.page_path("collapse", "lam=3", full=True) == "/collapse?lam=3"


# --------------------------------------------------------------------------- exported files


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """Every page exported once with its default settings: page → (exit code, stdout, stderr, text)."""
    folder = tmp_path_factory.mktemp("exports")
    files = {}
    for page in PAGES:
        target = folder / f"{page}.html"
        code, out, err = run("export", page, "--out", str(target))
        files[page] = (code, out, err, target.read_text(encoding="utf-8") if target.exists() else "")
    return files


#: anything a browser would fetch from a host: a tag's source, a stylesheet model's url in the
#: document's JSON (backslash-escaped inside the recorded states), a CSS @import or url()
FETCHES = [
    re.compile(r"<(?:script|link|img|iframe|embed|source|object)\b[^>]*\b(?:src|href|data)\s*=\s*[\"']?\s*"
               r"(?:https?:)?//", re.I),
    re.compile(r"\\*\"url\\*\"\s*:\s*\\*\"(?:https?:)?//", re.I),
    re.compile(r"@import\s+(?:url\()?\s*[\"']?(?:https?:)?//", re.I),
    re.compile(r"\burl\(\s*[\"']?(?:https?:)?//", re.I),
]


@pytest.mark.parametrize("name", PAGES)
def test_exported_file_would_fetch_nothing_from_the_network(exported, name):
    code, _, err, text = exported[name]
    assert code == 0, err
    for pattern in FETCHES:
        found = [text[max(m.start() - 60, 0):m.end() + 60] for m in pattern.finditer(text)]
        assert not found, f"{name}: the file would fetch: {found[:3]}"
    # Panel points its stylesheets at its CDN even for inline resources: none may be left
    document = document_text(text)
    assert "ImportedStyleSheet" not in document
    assert "cdn.holoviz.org" not in document


@pytest.mark.parametrize("name", PAGES)
def test_exported_file_holds_one_recorded_state_per_slider_position(exported, name):
    code, out, _, text = exported[name]
    parameter, first, last, count = SLIDERS[name]
    assert code == 0
    assert re.fullmatch(rf"wrote \S+ \(\d+\.\d MB; {count} positions of {parameter} from {first} to {last}\)\n",
                        out)
    roots = document_json(text)["roots"]
    state = next(r for r in roots if r["name"] == "panel.models.state.State")["attributes"]["state"]
    recorded = entries(state)
    assert sorted(int(key) for key, _ in recorded) == list(range(count))
    for _, message in recorded:
        content = json.loads(dict(entries(message))["content"])
        assert content["events"], "a position that changes nothing"


def test_exported_file_is_self_contained_and_small_enough_to_mail(exported):
    sizes = {page: len(text.encode()) for page, (_, _, _, text) in exported.items()}
    assert all(1e6 < size < 12e6 for size in sizes.values()), sizes  # scripts inline: over 1 MB


def test_export_refuses_settings_in_which_the_slider_moves_nothing(tmp_path):
    # the weight-alignment loss has no λ: the page hides the λ slider in that mode
    code, _, err = run("export", "landscape", "--query", "mode=alignment", "--out", str(tmp_path / "x.html"))
    assert code == 2 and "λ does not enter what it shows" in err
    assert not (tmp_path / "x.html").exists()


def test_export_reports_corrected_query_values_and_shows_them_in_the_file(tmp_path):
    target = tmp_path / "collapse.html"
    code, out, err = run("export", "collapse", "--query", "lam=99&sigma=abc&bogus=1", "--out", str(target))
    assert code == 0, err
    notes = [line for line in err.splitlines() if line.startswith("lae-landscapes export: note: ")]
    assert len(notes) == 3, err
    assert "'lam' = '99' is outside [0, 10]; using 10." in err
    assert "'sigma'" in err and "is not a number" in err and "using 4, 3, 2, 1.5, 1, 0.5" in err
    assert "ignored 'bogus': not a setting of this page" in err
    text = target.read_text(encoding="utf-8")
    assert "is outside [0, 10]; using 10." in text  # the file shows the notice too
    assert "positions of lam from 0 to 10" in out
