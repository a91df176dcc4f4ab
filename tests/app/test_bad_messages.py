"""``app.server.RefusedValueFilter``: a change from the browser that Bokeh's property check refuses
(a word for λ, which only a crafted websocket client sends) is one warning line in the log; Bokeh
still sends the browser its ERROR reply. Any other failure while handling a message keeps Bokeh's
error line with its traceback. Bokeh's own ``ProtocolHandler.handle`` runs here, unchanged (over a
real websocket: tests/perf/test_wsload_smoke.py)."""

from __future__ import annotations

import logging

import pytest
from bokeh.models import Slider
from bokeh.server.protocol_handler import ProtocolHandler

from app import server
from tests.support import run_async

BOKEH_LOG = "bokeh.server.protocol_handler"


@pytest.fixture
def filtered():
    """The filter on Bokeh's logger, as ``serve`` installs it."""
    handler_filter = server.RefusedValueFilter()
    logger = logging.getLogger(BOKEH_LOG)
    logger.addFilter(handler_filter)
    yield
    logger.removeFilter(handler_filter)


def test_a_refusal_by_a_property_check_is_told_apart():
    with pytest.raises(ValueError) as refused:
        Slider(start=0, end=4, value=1).value = "abc"
    assert server._refused_by_a_property_check(refused.value)
    try:
        raise ValueError("failed to validate Slider.value: made up, not by the check")
    except ValueError as exc:
        assert not server._refused_by_a_property_check(exc)
    assert not server._refused_by_a_property_check(RuntimeError("x"))
    assert not server._refused_by_a_property_check(None)


class Message:
    msgtype = "PATCH-DOC"


class Connection:
    def error(self, message, text):
        return ("ERROR", text)


def handle(fault):
    """Bokeh's own ``ProtocolHandler.handle`` with a PATCH-DOC handler that runs ``fault``."""
    async def patch(message, connection):
        fault()

    handler = ProtocolHandler.__new__(ProtocolHandler)
    handler._handlers = {"PATCH-DOC": patch}
    return run_async(handler.handle(Message(), Connection()), timeout=10)


def word_for_lambda():
    Slider(start=0, end=4, value=1).value = "abc"


def test_a_refused_value_is_one_warning_and_an_error_reply(filtered, caplog):
    with caplog.at_level(logging.WARNING):
        reply = handle(word_for_lambda)
    assert reply[0] == "ERROR" and "expected a value of type Real" in reply[1]  # Bokeh's text
    [record] = caplog.records
    assert record.levelno == logging.WARNING and record.exc_info is None
    assert record.getMessage().startswith("a change from the browser was refused: failed to validate")


def test_without_the_filter_bokeh_logs_the_refusal_as_an_error_with_a_traceback(caplog):
    """What the filter is for (and the canary of Bokeh's own line, which it recognises)."""
    with caplog.at_level(logging.WARNING):
        handle(word_for_lambda)
    [record] = caplog.records
    assert record.levelno == logging.ERROR and record.exc_info is not None
    assert record.getMessage().startswith("error handling message")


def test_a_long_refused_value_is_cut_in_the_log(filtered, caplog):
    def long_word():
        Slider(start=0, end=4, value=1).value = "x" * 100_000

    with caplog.at_level(logging.WARNING):
        handle(long_word)
    [record] = caplog.records
    assert len(record.getMessage()) < 400


@pytest.mark.parametrize("fault", [ValueError("a fault of the app"), RuntimeError("another")])
def test_any_other_failure_is_logged_by_bokeh_with_its_traceback(filtered, fault, caplog):
    def fail():
        raise fault

    with caplog.at_level(logging.WARNING):
        reply = handle(fail)
    assert reply == ("ERROR", repr(fault))
    [record] = caplog.records
    assert record.name == BOKEH_LOG and record.levelno == logging.ERROR
    assert record.exc_info is not None and record.exc_info[1] is fault


def test_serve_puts_the_filter_on_bokehs_logger(monkeypatch):
    from tests.support import keep_serve_out_of_the_process

    keep_serve_out_of_the_process(monkeypatch)
    monkeypatch.setattr(server.pn, "serve", lambda *args, **kwargs: None)
    server.serve("127.0.0.1", 0)
    assert any(isinstance(f, server.RefusedValueFilter) for f in logging.getLogger(BOKEH_LOG).filters)
