"""The text panes every page sets: HTML and LaTeX whose changes send only the new text.

When a pane's text changes, Panel sends every property of the pane again, stylesheets among them,
worked out as for a component outside the template (``bootstrap.min.css`` included): the browser
loads them into the pane and lays the page out again, and the text takes Bootstrap's look. With
``app.compat``'s ``text_panes_send_text`` applied (the server applies it), these panes send only
what the text makes.

Use them for every pane whose object a page sets; ``pn.panel`` never picks them by itself.
"""

from __future__ import annotations

import panel as pn


class TextOnly:
    """Marks the app's text panes (``app.compat.text_panes_send_text`` gives them their
    ``_update``)."""

    priority = False  # not a candidate when Panel picks a pane type for an object


class HTML(TextOnly, pn.pane.HTML):
    """``pn.pane.HTML`` whose text changes send only the new text."""


class LaTeX(TextOnly, pn.pane.LaTeX):
    """``pn.pane.LaTeX`` whose text changes send only the new formula."""
