"""``app.server.cache_model_defaults``: three of Bokeh's per-property lookups, redone for every
model a page builds, answered once or the short way instead — with exactly Bokeh's answers.

A page view builds ~350 Bokeh models, and for each property default Bokeh merged the class
hierarchy's overridden defaults into a fresh dict, ran two imports inside
``PropertyDescriptor.is_unstable`` and looked for a theme through a failing attribute lookup.
``python -m tests.perf.opens --views 20`` (alternating runs, 2026-12-03): 331–427 ms of server
CPU per Landscape page view with the three, 493–555 without.
"""

from __future__ import annotations

import types

import panel as pn  # noqa: F401  (Panel's own Bokeh models are model classes too)
import pytest
from bokeh.core.has_props import HasProps, Local
from bokeh.core.properties import Int, Override, String
from bokeh.core.property.descriptors import PropertyDescriptor
from bokeh.core.property.instance import InstanceDefault
from bokeh.models import Slider

from app import server
from app.pages import landscape
from tests.support import serve_settings_except


def model_classes() -> list[type]:
    found, todo = set(), [HasProps]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in found:
                found.add(sub)
                todo.append(sub)
    return sorted(found, key=lambda c: (c.__module__, c.__qualname__))


@pytest.fixture
def cached(monkeypatch):
    """The cache installed, as ``serve`` does, and Bokeh's own methods put back afterwards."""
    monkeypatch.setattr(HasProps, "_overridden_defaults", HasProps._overridden_defaults)
    monkeypatch.setattr(PropertyDescriptor, "is_unstable", PropertyDescriptor.is_unstable)
    monkeypatch.setattr(HasProps, "themed_values", HasProps.themed_values)
    server.cache_model_defaults()


def test_serve_installs_the_cache(cached, monkeypatch):
    monkeypatch.setattr(pn, "serve", lambda *args, **kwargs: None)
    serve_settings_except(monkeypatch, "cache_model_defaults")
    monkeypatch.setattr(HasProps, "_overridden_defaults", classmethod(server._BOKEH_OVERRIDDEN_DEFAULTS))
    server.serve(port=5123)
    assert HasProps._overridden_defaults.__func__ is server._overridden_defaults_of


def test_every_model_class_gets_bokehs_own_merged_defaults(cached):
    landscape.LandscapePage().build()  # Panel's and the pages' model classes, all imported
    classes = model_classes()
    assert len(classes) > 300
    overridden = 0
    for cls in classes:
        merged = cls._overridden_defaults()
        assert merged == server._BOKEH_OVERRIDDEN_DEFAULTS(cls), cls
        assert cls._overridden_defaults() is merged  # worked out once
        overridden += bool(merged)
    assert overridden > 20  # the comparison covers real overrides, not only empty dicts


def test_a_class_made_after_the_cache_gets_its_own_overrides(cached):
    class Base(HasProps, Local):  # not a Model: nothing enters Bokeh's model registry
        title = String("base")
        size = Int(1)

    class Titled(Base):
        title = Override(default="override")

    assert Base._overridden_defaults() == {}  # the parent's merge, cached first
    assert Titled._overridden_defaults() == {"title": "override"}
    assert (Titled().title, Titled().size, Base().title) == ("override", 1, "base")


def test_is_unstable_answers_as_bokehs_own():
    bokeh_own = server._BOKEH_IS_UNSTABLE
    values = [None, 0, 1.5, "text", [], {}, (lambda: 1), model_classes, len, types.FunctionType,
              InstanceDefault(Slider), Slider, Slider(), object()]
    for value in values:
        assert server._is_unstable(PropertyDescriptor, value) == bokeh_own(PropertyDescriptor, value), value


def test_themed_values_answer_as_bokehs_own_with_and_without_a_theme(cached):
    from bokeh.themes import Theme

    page = landscape.LandscapePage()
    page.build()
    models = [page.surfaces["sum"].figure, page.bifurcation.figure, Slider()]
    for model in models:
        assert model.themed_values() is server._BOKEH_THEMED_VALUES(model) is None
    theme = Theme(json={"attrs": {"Slider": {"title": "themed"}, "Plot": {"width": 123}}})
    for model in models:
        theme.apply_to_model(model)
        assert model.themed_values() is server._BOKEH_THEMED_VALUES(model)
    slider = models[2]
    assert slider.themed_values() == {"title": "themed"} and slider.title == "themed"
    assert page.bifurcation.figure.themed_values() == {"width": 123}
    slider.unapply_theme()
    assert slider.themed_values() is server._BOKEH_THEMED_VALUES(slider) is None and slider.title != "themed"


def test_bokeh_still_merges_on_every_call():
    """The cache can go when Bokeh caches the merge itself."""
    first = server._BOKEH_OVERRIDDEN_DEFAULTS(Slider)
    assert first == server._BOKEH_OVERRIDDEN_DEFAULTS(Slider) and first is not server._BOKEH_OVERRIDDEN_DEFAULTS(Slider)
