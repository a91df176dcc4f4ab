"""The app's template builds a session's document with one walk of the model graph (app/shell.py).

Panel adds a template's roots one by one, and Bokeh recomputes the document's set of models after
each; ``shell.Template`` freezes that until the document is complete. Each test checks the frozen
document is the complete one: every model reachable from its roots, and nothing else.
"""

from __future__ import annotations

import panel as pn
import pytest
from bokeh.document import Document
from bokeh.document import models as document_models

from app import shell
from app.pages import landscape


@pytest.fixture
def walks(monkeypatch):
    count = []
    recompute = document_models.DocumentModelManager.recompute

    def counted(self):
        count.append(1)
        return recompute(self)

    monkeypatch.setattr(document_models.DocumentModelManager, "recompute", counted)
    return count


def _reachable(doc):
    return {m.id for root in doc.roots for m in root.references()}


def test_a_page_document_is_built_in_one_walk_and_is_complete(walks):
    view = landscape.LandscapePage(sync_url=False).view()
    assert isinstance(view, shell.Template)
    doc = Document()
    view.server_doc(doc)
    assert len(walks) == 1
    assert {m.id for m in doc.models} == _reachable(doc) and len(_reachable(doc)) > 300


def test_panels_own_template_walks_it_once_per_root(walks):
    """The check above can fail: the same content in Panel's template walks the graph many times."""
    template = pn.template.BootstrapTemplate(title="t")
    page = landscape.LandscapePage(sync_url=False)
    sidebar, main = page.build()
    template.sidebar.append(sidebar)
    template.main.append(main)
    doc = Document()
    template.server_doc(doc)
    assert len(walks) > 3
    assert {m.id for m in doc.models} == _reachable(doc)
