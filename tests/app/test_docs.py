"""The README is a user's page that opens with the two commands, and every test the docs name
exists (README.md, docs/*.md)."""

from __future__ import annotations

import re

import pytest

from tests.support import ROOT

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def test_the_readme_is_short_and_opens_with_make_serve_and_make_test():
    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) <= 150
    first_block = text.split("```")[1]
    assert "make serve" in first_block and "make test" in first_block
    assert "http://localhost:5006" in first_block


def _tests_defined() -> set[str]:
    """Every test function and every test module (by name) under tests/."""
    names = set()
    for path in (ROOT / "tests").rglob("test_*.py"):
        names.add(path.stem)
        names |= set(re.findall(r"^(?:async )?def (test_\w+)", path.read_text(), flags=re.M))
    return names


@pytest.mark.parametrize("doc", DOCS, ids=[d.name for d in DOCS])
def test_every_test_file_and_test_a_doc_names_exists(doc):
    text = doc.read_text()
    for f in re.findall(r"\b(tests/[\w/]+\.py)", text):
        assert (ROOT / f).is_file(), f"{doc.name} names {f}, which does not exist"
    missing = sorted(set(re.findall(r"\b(test_\w+)\b", text)) - _tests_defined())
    assert not missing, f"{doc.name} names tests that do not exist: {missing}"


@pytest.mark.parametrize("doc", DOCS, ids=[d.name for d in DOCS])
def test_every_local_link_and_picture_of_a_doc_exists(doc):
    for target in re.findall(r"\]\(([^)#:]+)\)", doc.read_text()):
        assert (doc.parent / target).exists(), f"{doc.name} links {target}, which does not exist"
