"""The address bar as the page's state (app.address, shell.Page's URL methods), without a browser:
what a write sends, when it pushes and when it replaces, and what Back / Forward reads."""

import logging
from urllib.parse import parse_qs

import pytest

from app import address, query
from app.pages.landscape import LandscapePage, LandscapeState
from app.pages.trajectories import TrajectoriesPage


def shown(p) -> dict[str, str]:
    """The address's query, as the browser would read it (last value of each name)."""
    return {k: v[-1] for k, v in parse_qs(p.address.query.removeprefix("?")).items()}


def back(p, search: str) -> None:
    """What the browser sends on Back or Forward to an address with this query string."""
    p.address._handle_msg({"search": search})


@pytest.fixture
def landscape():
    """A Landscape page as a session builds it (not named ``page``: that is pytest-playwright's
    browser page, which would start a browser in this process)."""
    p = LandscapePage()
    p.view()
    return p


def test_the_address_starts_at_the_state_the_page_opened_with_written_in_place(landscape):
    assert landscape.address.replace is True
    assert shown(landscape) == query.encode(landscape.state, landscape.state.URL_PARAMS)


@pytest.fixture
def clock(monkeypatch):
    """The clock shell.Page.write_url reads, moved by hand."""
    now = [1000.0]
    monkeypatch.setattr("app.shell.time.monotonic", lambda: now[0])
    return now


def test_a_change_after_a_pause_pushes_a_new_entry_with_the_new_state(landscape, clock):
    landscape.state.lam = 1.6
    assert shown(landscape)["lam"] == "1.6" and landscape.address.replace is False
    clock[0] += landscape.HISTORY_PAUSE_S
    landscape.state.x = 0.5
    assert shown(landscape)["x"] == "0.5" and landscape.address.replace is False


def test_changes_in_quick_succession_share_one_entry(landscape, clock):
    """A drag is written every URL_DELAY_MS while it lasts: the first write pushes, the ones
    that follow within HISTORY_PAUSE_S rewrite that entry."""
    landscape.state.lam = 1.0
    assert landscape.address.replace is False
    for lam in (1.2, 1.4, 1.6):
        clock[0] += landscape.URL_DELAY_MS / 1000
        landscape.state.lam = lam
        assert shown(landscape)["lam"] == f"{lam:g}" and landscape.address.replace is True
    clock[0] += landscape.HISTORY_PAUSE_S
    landscape.state.lam = 2.0
    assert landscape.address.replace is False


def test_back_shows_the_state_the_address_holds_and_rewrites_it_in_place(landscape, clock):
    landscape.state.param.update(lam=1.6, mode="tied", y=0.3)
    back(landscape, "?mode=paper&lam=0.7&x=1&log_color=false")
    st = landscape.state
    assert (st.lam, st.mode, st.x, st.log_color) == (0.7, "paper", 1.0, False)
    # a name the address leaves out takes its default (a link without it opens at the default)
    assert st.y == LandscapeState.param["y"].default
    assert landscape.address.replace is True and shown(landscape) == query.encode(st, st.URL_PARAMS)
    # ... and the redraw followed: the sum loss's summary is for λ = 0.7 < x² (three points)
    assert "sum: 3 critical points" in landscape.summaries["sum"].object
    # the next change, after a pause, is a new entry again
    clock[0] += landscape.HISTORY_PAUSE_S
    landscape.state.lam = 2.0
    assert landscape.address.replace is False and shown(landscape)["lam"] == "2"


def test_back_to_the_bare_address_is_the_default_state(landscape):
    landscape.state.param.update(lam=3.0, x=0.4)
    back(landscape, "")
    defaults = LandscapeState()
    assert {n: getattr(landscape.state, n) for n in landscape.state.URL_PARAMS} == \
           {n: getattr(defaults, n) for n in defaults.URL_PARAMS}


def test_back_to_the_state_on_screen_rewrites_nothing_but_the_form(landscape, clock):
    """An address in another form of the same state (a hand-typed link, say) is rewritten in
    place to the landscape's form; the state and the landscape stay as they are."""
    st = landscape.state
    before = dict(landscape.address.param.values())
    back(landscape, f"?lam={st.lam}")  # the other names at their defaults: the state on screen
    assert landscape.address.query == before["query"] and landscape.address.replace is True
    clock[0] += landscape.HISTORY_PAUSE_S
    landscape.state.lam = 1.0
    assert landscape.address.replace is False


def test_a_hostile_address_on_back_is_read_like_a_hostile_link(landscape):
    back(landscape, "?lam=NaN&mode=%3Cscript%3Ealert(1)%3C/script%3E&x=1e308")
    st = landscape.state
    assert st.lam == LandscapeState.param["lam"].default and st.mode == "paper"
    assert st.x == LandscapeState.param["x"].bounds[1]
    text = landscape.notices.pane.object
    assert "lam&#x27; must be a finite number" in text and "&lt;script&gt;" in text and "<script>" not in text
    assert shown(landscape)["mode"] == "paper"


@pytest.mark.parametrize("data", [None, "?lam=1", {"search": 3}, {"search": None}, {},
                                  {"search": "?lam=1&" + "a=1&" * address.MAX_FIELDS},
                                  {"search": "?lam=1&x=" + "9" * address.MAX_QUERY}])
def test_a_message_that_is_not_a_query_string_is_ignored_with_one_log_line(landscape, data, caplog):
    landscape.state.lam = 1.6
    before = dict(landscape.state.param.values())
    with caplog.at_level(logging.WARNING, logger="lae_landscapes"):
        landscape.address._handle_msg(data)
    assert dict(landscape.state.param.values()) == before
    lines = [r for r in caplog.records if "address bar" in r.getMessage()]
    assert len(lines) == 1 and len(lines[0].getMessage()) < 200 and not lines[0].exc_info


def test_an_embedded_page_always_writes_in_place(monkeypatch):
    monkeypatch.setattr("app.shell._flag", lambda name: name == "embed")
    p = LandscapePage()
    p.view()
    assert shown(p)["embed"] == "true" and p.address.replace is True
    p.state.lam = 1.6
    assert shown(p)["embed"] == "true" and shown(p)["lam"] == "1.6" and p.address.replace is True


def test_a_list_parameter_left_out_takes_a_fresh_copy_of_its_default():
    p = TrajectoriesPage()
    p.view()
    p.state.methods = ["tied_gd"]
    back(p, "?lam=0.5")
    default = p.state.param["methods"].default
    assert p.state.methods == default and p.state.methods is not default
    assert shown(p)["methods"] == ",".join(default)


def test_a_slide_has_no_address():
    p = LandscapePage(sync_url=False)
    p.build()
    p.compact()
    p.state.lam = 1.6
    assert p.address is None


def test_query_strings_are_read_with_blank_values_and_limits():
    assert address.read_query("?lam=0.7&x=&x=2") == {"lam": ["0.7"], "x": ["", "2"]}
    assert address.read_query("") == {} and address.read_query("?") == {}
    assert address.read_query("?" + "a=1&" * (address.MAX_FIELDS + 1)) is None
    assert address.read_query("?x=" + "1" * address.MAX_QUERY) is None
    assert address.read_query(b"?x=1") is None and address.read_query(None) is None
    assert address.query_string({"lam": "0.7", "sigma": "5, 1"}) == "?lam=0.7&sigma=5%2C+1"
    assert address.query_string({}) == ""
