"""``app.server.lighter_changes``: a page's changes made into messages without Bokeh's table of
every model, and without Panel asking the design about anything but stylesheets — with the
messages Bokeh and Panel make themselves.

Under 20 raw visitors (``python -m tests.perf.wsload``), py-spy put ~7 % of the server's time per
λ change in ``Serializer.__init__`` (a ``Ref`` for each of a Landscape page's ~300 models, for
each of its two messages per change) and ~3.5 % in ``Design.params`` (a path looked up on disk
for every pane's text change, to add stylesheets no text change has).
"""

from __future__ import annotations

import json
import numpy as np

import panel as pn
import pytest
from bokeh.document import Document
from bokeh.models import Range1d, Title
from bokeh.protocol.messages.patch_doc import patch_doc as PatchDoc
from panel.reactive import Reactive
from panel.theme.base import Design

from app import server
from app.pages.landscape import LandscapePage
from tests.support import serve_settings_except


@pytest.fixture
def lighter(monkeypatch):
    """Installed as ``serve`` installs it; Bokeh's and Panel's own put back afterwards."""
    monkeypatch.setattr(PatchDoc, "create", PatchDoc.create)
    monkeypatch.setattr(Reactive, "_update_properties", Reactive._update_properties)
    server.lighter_changes()


def test_serve_installs_them(lighter, monkeypatch):
    monkeypatch.setattr(pn, "serve", lambda *args, **kwargs: None)
    serve_settings_except(monkeypatch, "lighter_changes")
    monkeypatch.setattr(PatchDoc, "create", classmethod(server._BOKEH_CREATE_PATCH))
    monkeypatch.setattr(Reactive, "_update_properties", server._PANEL_UPDATE_PROPERTIES)
    server.serve(port=5124)
    assert PatchDoc.create.__func__ is server._create_patch
    assert Reactive._update_properties is server._update_properties


def landscape_document():
    page = LandscapePage(sync_url=False)
    sidebar, main = page.build()
    doc = Document()
    doc.add_root(pn.Row(sidebar, main).get_root(doc))
    doc.models.flush_synced()  # as after the page was sent: every model is in the browser
    events = []
    doc.on_change(events.append)
    return page, doc, events


def message(create, events):
    """The message's content and buffers, with the buffers' ids numbered in order of appearance
    (Bokeh draws fresh ids for each serialization)."""
    doc = events[0].document
    new_before = set(doc.models._new_models)
    msg = create(events)
    new_after = set(doc.models._new_models)
    doc.models._new_models = set(new_before)  # as it was, for the other function
    text = json.dumps(json.loads(msg.content_json), sort_keys=True)  # as the browser gets it
    buffers = []
    for buffer in msg.buffers:
        text = text.replace(json.dumps(str(buffer.id)), json.dumps(f"buffer {len(buffers)}"))
        buffers.append(bytes(buffer.data))
    return text, buffers, new_after


def bokehs(events):
    return server._BOKEH_CREATE_PATCH(PatchDoc, events)


def ours(events):
    return server._create_patch(PatchDoc, events)


def test_a_lambda_change_makes_bokehs_message():
    page, doc, events = landscape_document()
    page.state.lam = 1.7
    assert len(events) > 10  # colour mappers, image and point columns, formulas, summaries
    text, buffers, new = message(ours, events)
    assert (text, buffers, new) == message(bokehs, events)
    assert buffers  # the image column goes as binary
    assert not new


@pytest.mark.parametrize("column", [
    [0.5, -1.25e-7, 3.0], ["saddle", "minimum"], [0, 2, -7], [],
    [1.0, float("nan")], [float("inf"), 2.0], [-float("inf")],  # Bokeh's own encoding for these
    [2 ** 60, 1], [True, False], [1, 2.5], [[0.5, 1.0], [2.0]], [np.float64(0.5), 0.25],
])
@pytest.mark.filterwarnings("ignore:out of range integer")  # Bokeh's, for 2⁶⁰, both ways
def test_lists_of_every_kind_make_bokehs_message(column):
    page, doc, events = landscape_document()
    source = page.surfaces["sum"].points
    source.data = {"x": column}
    text, buffers, new = message(ours, events)
    assert (text, buffers, new) == message(bokehs, events)


def test_a_change_that_brings_a_new_model_makes_bokehs_message():
    page, doc, events = landscape_document()
    figure = page.surfaces["sum"].figure
    figure.title = Title(text="a new title model")  # the browser has not got it yet
    figure.x_range = Range1d(-1.5, 1.5)
    assert doc.models._new_models
    ours_ = message(ours, events)
    bokehs_ = message(bokehs, events)
    assert ours_ == bokehs_
    text, _, new_after = ours_
    assert "a new title model" in text  # sent whole, once
    assert text.count('"a new title model"') == 1
    assert not new_after  # sent, so no longer new


def test_a_new_model_not_in_the_message_stays_new():
    page, doc, events = landscape_document()
    figure = page.surfaces["sum"].figure
    figure.title = Title(text="sent now")
    doc.models.recompute()
    unsent = Title(text="sent later")
    figure.add_layout(unsent, "below")  # one event: the ``below`` list, which holds it
    later = [e for e in events if getattr(e, "attr", None) == "below"]
    first = [e for e in events if getattr(e, "attr", None) == "title"]
    ours_ = message(ours, first)
    assert ours_ == message(bokehs, first)
    text, _, new_after = ours_
    assert unsent in new_after and "sent later" not in text
    assert message(ours, later) == message(bokehs, later)


def plain(properties):
    """Stylesheet models by their address (Panel may make a fresh model for the same file)."""
    return {k: [getattr(s, "url", s) for s in v] if k == "stylesheets" else v for k, v in properties.items()}


def test_a_pane_change_asks_the_design_only_about_stylesheets(lighter, monkeypatch):
    calls = []
    design_params = Design.params

    def counting(self, *args, **kwargs):
        calls.append(self)
        return design_params(self, *args, **kwargs)

    monkeypatch.setattr(Design, "params", counting)
    pane = pn.pane.HTML("<b>a</b>", stylesheets=[":host { color: red; }"])
    doc = Document()
    model = pane.get_root(doc)
    events = []
    pane.param.watch(events.append, ["object", "stylesheets"])
    pane.object = "<b>b</b>"  # (a pane's text goes its own way, with all its properties)
    calls.clear()
    ours_ = Reactive._update_properties(pane, *events, doc=doc)
    assert calls == []
    assert ours_ == server._PANEL_UPDATE_PROPERTIES(pane, *events, doc=doc)
    assert len(calls) == 1  # Panel's own asks

    calls.clear()
    events.clear()
    pane.stylesheets = [":host { color: blue; }"]
    ours_ = Reactive._update_properties(pane, *events, doc=doc)
    assert len(calls) == 1
    assert plain(ours_) == plain(server._PANEL_UPDATE_PROPERTIES(pane, *events, doc=doc))
    assert len(ours_["stylesheets"]) > 1  # the design's stylesheets, then the pane's
    assert model.text != ""  # the model is there and the pane keeps working
