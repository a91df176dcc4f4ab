"""``app.server``: a change from the browser that Bokeh's property check refuses (a word for λ,
which only a crafted websocket client sends) is one warning line in the log, with Bokeh's ERROR
reply to the browser; any other failure while handling a message is logged by Bokeh as before,
with its traceback. (Over a real websocket: tests/perf/test_wsload_smoke.py.)"""

from __future__ import annotations

import asyncio
import logging

import pytest
from bokeh.models import Slider

from app import server


def test_a_refusal_by_a_property_check_is_told_apart():
    with pytest.raises(ValueError) as refused:
        Slider(start=0, end=4, value=1).value = "abc"
    assert server._refused_by_a_property_check(refused.value)
    try:
        raise ValueError("failed to validate Slider.value: made up, not by the check")
    except ValueError as exc:
        assert not server._refused_by_a_property_check(exc)
    assert not server._refused_by_a_property_check(RuntimeError("x"))


class Message:
    msgtype = "PATCH-DOC"


class Connection:
    def error(self, message, text):
        return ("ERROR", text)


class Handler:
    """What ``handle`` uses of Bokeh's ProtocolHandler: its table of handlers."""

    def __init__(self, fault):
        async def patch(message, connection):
            fault()
        self._handlers = {"PATCH-DOC": patch}


def handle(fault):
    return asyncio.run(server._handle_refusing_bad_values_quietly(Handler(fault), Message(), Connection()))


def test_a_refused_value_is_one_warning_and_an_error_reply(caplog):
    def word_for_lambda():
        Slider(start=0, end=4, value=1).value = "abc"

    with caplog.at_level(logging.WARNING):
        reply = handle(word_for_lambda)
    assert reply[0] == "ERROR" and "expected a value of type Real" in reply[1]  # Bokeh's text
    [record] = caplog.records
    assert record.levelno == logging.WARNING and record.exc_info is None
    assert record.getMessage().startswith("a change from the browser was refused: failed to validate")


def test_a_long_refused_value_is_cut_in_the_log(caplog):
    def long_word():
        Slider(start=0, end=4, value=1).value = "x" * 100_000

    with caplog.at_level(logging.WARNING):
        handle(long_word)
    [record] = caplog.records
    assert len(record.getMessage()) < 400


@pytest.mark.parametrize("fault", [ValueError("a fault of the app"), RuntimeError("another")])
def test_any_other_failure_is_logged_by_bokeh_with_its_traceback(fault, caplog):
    def fail():
        raise fault

    with caplog.at_level(logging.WARNING):
        reply = handle(fail)
    assert reply == ("ERROR", repr(fault))
    [record] = caplog.records
    assert record.name == "bokeh.server.protocol_handler" and record.levelno == logging.ERROR
    assert record.exc_info is not None and record.exc_info[1] is fault
