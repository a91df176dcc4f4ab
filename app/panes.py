"""Text panes whose changes reach the browser as the new text only.

When a pane's object changes, Panel (1.9) sends every property of the pane again, and the
stylesheets among them are worked out as for a component standing alone, not inside the
template: a pane drawn with two stylesheets has five after its first change
(``bootstrap.min.css`` among them). The browser loads them into the pane's shadow root and lays
the whole page out again — some 60 ms per pane, five panes on the Collapse page's first λ change
— and the pane's text takes Bootstrap's look. These panes send only what the object makes: the
text (or formula), so a change costs what the text costs.

Use them for every pane whose object a page sets; ``pn.panel`` never picks them by itself.
"""

from __future__ import annotations

import panel as pn


class _TextOnly:
    priority = False  # not a candidate when Panel picks a pane type for an object

    def _update(self, ref, model) -> None:
        model.update(**self._process_param_change({"object": self.object}))


class HTML(_TextOnly, pn.pane.HTML):
    """``pn.pane.HTML`` whose object changes send only the new text."""


class LaTeX(_TextOnly, pn.pane.LaTeX):
    """``pn.pane.LaTeX`` whose object changes send only the new formula."""
