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


# --------------------------------------------------------------------------- the lecture deck

def deck_index(title: str) -> int:
    """The deck's number (``#/slide-N``) of the registry's slide titled ``title``: the title
    slide is 0, then every entry's slides in the registry's order."""
    from app.pages import PAGES

    titles = [slide.title for entry in PAGES for slide in entry.slides]
    return titles.index(title) + 1


PITCHFORK = "λ crosses x²: the minima merge"
COLLAPSE = "Posterior collapse, direction by direction"


def deck_page(deck, title: str):
    return deck.pages[deck_index(title) - 1]


def deck_address(deck) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(deck.address.query.removeprefix("?")).items()}


def test_the_deck_opens_each_slide_in_the_state_its_fields_in_the_address_give():
    from app.pages.lecture import Lecture

    p, c = deck_index(PITCHFORK), deck_index(COLLAPSE)
    deck = Lecture({f"s{p}.lam": [b"1.4"], f"s{c}.lam": [b"3"], "lam": [b"2.5"]})
    assert deck_page(deck, PITCHFORK).state.lam == 1.4
    assert deck_page(deck, COLLAPSE).state.lam == 3.0
    # a page's own name (lam=…) is not a slide's: every other slide keeps its start
    assert all(page.state.lam != 2.5 for page in deck.pages if "lam" in page.state.param)
    assert deck_address(deck) == {f"s{p}.lam": "1.4", f"s{c}.lam": "3"}
    assert deck.control.query == deck.address.query


def test_a_slide_change_is_written_as_that_slides_field_and_only_while_it_differs():
    from app.pages.lecture import Lecture

    deck, p = Lecture({}), deck_index(PITCHFORK)
    assert deck.address.query == ""
    page = deck_page(deck, PITCHFORK)
    page.state.lam = 2.25
    assert deck_address(deck) == {f"s{p}.lam": "2.25"} and deck.address.replace is True
    page.state.lam = 0.5  # the slide's own start (its overrides)
    assert deck.address.query == "" and deck.control.query == ""


def test_a_bad_field_is_refused_with_a_notice_on_its_slide():
    from app.pages.lecture import Lecture

    p = deck_index(PITCHFORK)
    deck = Lecture({f"s{p}.lam": [b"banana"], f"s{p}.x": [b"99"]})
    page = deck_page(deck, PITCHFORK)
    assert page.state.lam == 0.5 and page.state.x == page.state.param["x"].bounds[1]
    texts = [text for _, text in page.notices.items]
    assert any("'lam'" in t and "banana" in t for t in texts) and any("'x'" in t for t in texts)
    assert all(t.startswith(f"Slide {p} in the address") for t in texts)


def test_back_in_the_deck_gives_every_slide_the_state_the_address_holds():
    from app.pages.lecture import Lecture

    c = deck_index(COLLAPSE)
    deck = Lecture({})
    deck_page(deck, PITCHFORK).state.lam = 3.0
    deck_page(deck, COLLAPSE).state.lam = 6.0
    deck.address._handle_msg({"search": f"?s{c}.lam=2"})
    assert deck_page(deck, PITCHFORK).state.lam == 0.5  # left out: the slide's start
    assert deck_page(deck, COLLAPSE).state.lam == 2.0
    assert deck_address(deck) == {f"s{c}.lam": "2"}


def test_a_slide_change_reported_with_the_decks_own_address_undoes_no_change_yet_to_be_written():
    """The browser reports a new slide (a new hash) as it reports Back, with the query the deck
    last wrote; a slider moved within the last URL_DELAY_MS is not in it yet and must stay."""
    from app.pages.lecture import Lecture

    p = deck_index(PITCHFORK)
    deck = Lecture({})
    deck.schedule_url = lambda: None  # the write is still pending, as in a session
    deck_page(deck, PITCHFORK).state.lam = 3.0
    deck.address._handle_msg({"search": deck.address.query})
    assert deck_page(deck, PITCHFORK).state.lam == 3.0
    deck.write_url()
    assert deck_address(deck) == {f"s{p}.lam": "3"}


def test_the_deck_builds_the_slide_shown_first_then_the_ones_after_it_then_the_rest():
    from app.pages.lecture import Lecture

    deck = Lecture({})  # out of a session every slide is built at once
    n = len(deck.slides) - 1
    assert all(deck.built(i) for i in range(1, n + 1)) and deck.next_to_build() is None
    deck._built = set()
    deck.current = 0  # the title
    assert deck.next_to_build() == 1
    deck.current = n - 1
    assert deck.next_to_build() == n - 1
    deck._built = {n - 1, n}
    assert deck.next_to_build() == 1  # nothing after the slide shown is left: from the first


def test_the_browser_says_which_slide_it_shows_and_anything_else_is_ignored():
    from app.pages.lecture import DeckControl, SlideShown

    slides, shown = [], []
    control = DeckControl(on_slide=slides.append, titles=["title", "one", "two"])
    for message in ({"slide": 2}, {"slide": 0}, {"slide": 3}, {"slide": -1}, {"slide": True}, {"slide": "1"},
                    {"slide": 1.0}, {"other": 1}, "slide", None, [1]):
        control._handle_msg(message)
    assert slides == [2, 0]
    marker = SlideShown(on_shown=lambda: shown.append(1))
    marker._handle_msg("shown")
    marker._handle_msg("shown")  # drawn again, or a crafted client: once only
    assert shown == [1]
