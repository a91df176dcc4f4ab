"""A list of choices in the URL (``param.ListSelector``): comma-separated, validated item by item."""

import param
import pytest

from app import query


class Choices(param.Parameterized):
    methods = param.ListSelector(default=["a", "c"], objects=["a", "b", "c"])
    n = param.Integer(default=3, bounds=(1, 9))


def args(**kw):
    return {k: [v.encode()] for k, v in kw.items()}


def test_a_comma_separated_list_is_read_in_the_parameters_own_order():
    values, notices = query.parse(Choices(), ["methods"], args(methods="c,a"))
    assert values == {"methods": ["a", "c"]} and not notices


def test_spaces_and_repeats_are_tolerated():
    values, notices = query.parse(Choices(), ["methods"], args(methods=" b , b,a "))
    assert values == {"methods": ["a", "b"]} and not notices


def test_an_empty_value_is_the_empty_list():
    values, notices = query.parse(Choices(), ["methods"], args(methods=""))
    assert values == {"methods": []} and not notices


@pytest.mark.parametrize("raw", ["a,<script>alert(1)</script>", "zzz", "a," + "x" * 5000, "nan,inf,b"])
def test_unknown_items_are_dropped_with_a_short_notice(raw):
    st = Choices()
    values, notices = query.parse(st, ["methods"], args(methods=raw))
    st.param.update(**values)  # must not raise: only known choices are kept
    assert set(st.methods) <= {"a", "b", "c"}
    assert len(notices) == 1 and "methods" in notices[0] and len(notices[0]) < 300


def test_many_unknown_items_are_quoted_three_at_most():
    _, notices = query.parse(Choices(), ["methods"], args(methods="p,q,r,s,t"))
    assert "'p'" in notices[0] and "'r'" in notices[0] and "'s'" not in notices[0] and "…" in notices[0]


def test_a_list_round_trips_through_encode_and_parse():
    st = Choices(methods=["b", "c"], n=5)
    encoded = query.encode(st, ["methods", "n"])
    assert encoded == {"methods": "b,c", "n": "5"}
    values, notices = query.parse(Choices(), ["methods", "n"], args(**encoded))
    assert values == {"methods": ["b", "c"], "n": 5} and not notices


def test_the_empty_list_round_trips():
    encoded = query.encode(Choices(methods=[]), ["methods"])
    values, _ = query.parse(Choices(), ["methods"], args(**encoded))
    assert values == {"methods": []}
