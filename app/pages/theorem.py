"""The Theorem page: the Landscape Theorem live for any small m and k — every critical manifold
with the paper's counts beside the measured ones, the ladder of critical values as λ moves, an
escape from a saddle down to the global minimum, and each loss's symmetry side by side.

- ``TheoremState`` — the page's state (its parameters carry bounds and labels and are the URL);
  ``table()`` and ``symmetries()`` call ``lae_core.theorem``, which computes every number.
- ``read_spectrum`` / ``format_spectrum`` / ``fit_spectrum`` — the σ box: the visitor's text
  (strictly descending, m values), written back exactly, stretched or cut when m changes.
- ``TheoremPage`` — the layout. One ``ColumnDataSource`` holds the existing manifolds: the table
  (a Bokeh ``DataTable``: sortable, a click picks the escape's start), the ladder's markers and
  the escape plot's critical levels all draw from it, so a λ change sends one set of columns and
  a selection shows in all three. The escape runs a chunk of solver steps per periodic tick
  (``theorem.escape_steps``), so the page stays responsive; any change of the table stops it.

No formula is written here: counts, losses, orbits, the words for every disagreement, the
escape and the CSV all come from ``lae_core.theorem``.
"""

from __future__ import annotations

import html
import math
import random
import time

import numpy as np
import panel as pn
import param
from bokeh.models import (ColumnDataSource, CustomJS, DataTable, HoverTool, HTMLTemplateFormatter,
                          LabelSet, Range1d, TableColumn, TapTool)
from bokeh.palettes import Category10

from app import panes, plots, shell
from app.spectrum import parse_spectrum
from lae_core import landscape, theorem

LAM_MAX = 20.0
LOSSES = {"L_σ (sum)": "sum", "L_π (product)": "product", "L (unregularized)": "unregularized"}
SYMBOL = {"sum": "L_σ", "product": "L_π", "unregularized": "L"}
LATEX_SYMBOL = {"sum": r"L_\sigma", "product": r"L_\pi", "unregularized": "L"}
METHOD_LABELS = {"untied_gd": "untied GD", "sync_gd": "sync GD", "tied_gd": "tied GD (Oja)",
                 "exact_untied": "exact untied", "exact_sync": "exact sync", "exact_tied": "exact tied"}
#: colour of the markers by l = |I| (0 … 7)
L_COLORS = Category10[10][:8]
MIN_COLOR, SADDLE_LEVEL, START_COLOR = "#2ca02c", "#9aa5b1", "#ff7f0e"
HIGHLIGHT, DEGENERATE, DIFFERS = "#e3f4e6", "#fff4d6", "#fde2e1"

#: λ sweeps from 0 to SWEEP_OVER × σ₁² (at most LAM_MAX) in SWEEP_SECONDS, a frame every
#: SWEEP_PERIOD_MS: the frames follow the clock, so a slow frame drops the next, never time
SWEEP_OVER, SWEEP_SECONDS, SWEEP_PERIOD_MS = 1.1, 10.0, 120
#: the escape: a tick every ESCAPE_PERIOD_MS runs solver steps for at most ESCAPE_SLICE_S,
#: ESCAPE_CHUNK at a time, so the event loop is never held much longer than that
ESCAPE_PERIOD_MS, ESCAPE_SLICE_S, ESCAPE_CHUNK, ESCAPE_MAX_ITER = 30, 0.03, 40, 20000
#: the table shows this many rows before it scrolls; the ladder names its markers up to LABELLED
TABLE_ROWS, LABELLED = 12, 40
#: the gone index sets listed one by one with their reasons (the rest are counted)
GONE_LISTED = 24

TABLE_WIDTHS = (110, 34, 90, 148, 158, 110, 118, 160, 104)


# --------------------------------------------------------------------------- the σ box


def format_spectrum(values) -> str:
    """The text of a spectrum, each value exactly as the float it is: "4, 3, 2, 1.5"
    (``app.spectrum``'s six digits would merge values a millionth apart, which this page warns
    about rather than refuses)."""
    out = []
    for value in values:
        text = repr(float(value))
        out.append(text[:-2] if text.endswith(".0") else text)
    return ", ".join(out)


def read_spectrum(text: str, m: int) -> np.ndarray:
    """The m singular values a visitor typed, strictly descending, or a ``ValueError`` whose
    message names the problem: not numbers, zero or negative (outside (0, 100]), repeated, not
    descending, more or fewer than m."""
    try:
        values = parse_spectrum(text, max_count=theorem.MAX_M, sort=False)
    except ValueError as unordered:
        # A problem besides the order (a repeated value, a word) is named first.
        parse_spectrum(text, max_count=theorem.MAX_M)
        raise unordered from None
    return theorem.check_spectrum(values, m)


def fit_spectrum(values, m: int) -> np.ndarray:
    """The spectrum for a new m: its first m values, or its values followed by the default
    spectrum's smaller ones (then halving), so that it stays strictly descending."""
    values = [float(v) for v in values][:m]
    for value in theorem.DEFAULT_SIGMA:
        if len(values) >= m:
            break
        if value < values[-1]:
            values.append(value)
    while len(values) < m:
        values.append(values[-1] / 2)
    return np.array(values)


DEFAULT_M = 4
DEFAULT_SPECTRUM = format_spectrum(theorem.default_sigma(DEFAULT_M))


# --------------------------------------------------------------------------- state


class TheoremState(param.Parameterized):
    """Everything the page shows is a function of these parameters (and they are the URL)."""

    lam = param.Number(default=1.5, bounds=(0.0, LAM_MAX), step=0.01, label="λ",
                       doc="Regularization strength λ ≥ 0.")
    m = param.Integer(default=DEFAULT_M, bounds=(2, theorem.MAX_M), label="m (data dimension)",
                      doc="Rows of X: the number of singular values.")
    k = param.Integer(default=2, bounds=(1, theorem.MAX_M - 1), label="k (latent dimension, k < m)",
                      doc="Columns of W₂: the width of the autoencoder.")
    sigma = param.String(default=DEFAULT_SPECTRUM, label="Singular values σ₁ > σ₂ > … of X",
                         doc="m distinct positive numbers, largest first.")
    loss = param.Selector(default="sum", objects=LOSSES, label="Loss")
    seed = param.Integer(default=0, bounds=(0, 9999), label="Seed",
                         doc="Draws U, V of X = UΣVᵀ and the G (or O) that picks each point.")
    method = param.Selector(default="untied_gd", objects=list(METHOD_LABELS), label="Solver for the escape",
                            doc="theorem.ESCAPE_METHODS: all six for L_σ; the untied ones for L and L_π.")

    URL_PARAMS = ["lam", "m", "k", "sigma", "loss", "seed", "method"]

    def spectrum(self) -> np.ndarray:
        return read_spectrum(self.sigma, self.m)

    def table(self) -> theorem.Table:
        return theorem.manifolds(self.loss, self.spectrum(), self.k, self.lam, seed=self.seed)

    def symmetries(self) -> tuple:
        return theorem.symmetry_comparison(self.spectrum(), self.k, self.lam, seed=self.seed)

    def methods(self) -> tuple[str, ...]:
        return theorem.ESCAPE_METHODS[self.loss]


# --------------------------------------------------------------------------- words and formulas


def _e(text) -> str:
    return html.escape(str(text))


def survivors_text(table: theorem.Table) -> str:
    """How many manifolds exist: for L_σ, m₀ and the count; for L, L_π, all of them."""
    total = len(table.rows)
    if table.kind != "sum":
        return (f"{total} critical manifolds (every I ⊂ {{1..{table.m}}} with |I| ≤ {table.k}): "
                f"nothing collapses for {SYMBOL[table.kind]}, at any λ.")
    m0 = table.m0
    return (f"m₀ = #{{i : σᵢ² > λ}} = {m0} of m = {table.m} directions survive λ = {table.lam:g}: "
            f"{table.survivors} of the {total} index sets with |I| ≤ {table.k} are critical manifolds"
            + (f", {len(table.gone)} are gone." if table.gone else ", none is gone."))


def ladder_text(table: theorem.Table) -> str:
    """The ladder's count, beside the sweep: the rungs, and for L_σ m₀."""
    rungs = f"{table.survivors} of {len(table.rows)} manifolds on the ladder"
    if table.kind != "sum":
        return rungs + f" — every one, at any λ ({SYMBOL[table.kind]})."
    return rungs + f" at λ = {table.lam:g}: m₀ = {table.m0}."


def example_row(table: theorem.Table, chosen=None) -> theorem.Manifold:
    """The row the theorem's numbers are shown for: the chosen one, else the first saddle with
    the largest l (the global minimum if there is none)."""
    if chosen is not None:
        row = next((r for r in table.rows if r.I == chosen and r.exists), None)
        if row is not None:
            return row
    existing = [r for r in table.rows if r.exists]
    top = max(r.l for r in existing)
    return next((r for r in existing if r.l == top and not r.is_global_min), table.global_min)


def theorem_statement(table: theorem.Table) -> str:
    """The Landscape Theorem for the table's loss (Table 1) with its m, k and σ — the part that
    does not move with λ (KaTeX typesets it again only when it changes)."""
    kind, k, m = table.kind, table.k, table.m
    sigma = ", ".join(f"{s:g}" for s in table.sigma)
    point = {
        "unregularized": r"$W_1 = G\,U_I^\top,\ W_2 = U_I\,G^{+}$ ($G \in \mathbb{R}^{k\times l}$ of rank $l$)",
        "product": (r"$W_1 = G(I + \lambda\Sigma_I^{-2})^{-1/2}U_I^\top,\ "
                    r"W_2 = U_I(I + \lambda\Sigma_I^{-2})^{-1/2}G^{+}$ ($G \in \mathbb{R}^{k\times l}$ of rank $l$)"),
        "sum": (r"$W_1 = O(I - \lambda\Sigma_I^{-2})^{1/2}U_I^\top = W_2^\top$ "
                r"($O \in \mathbb{R}^{k\times l}$ with orthonormal columns)"),
    }[kind]
    dim = r"$\dim F_I = kl$" if kind != "sum" else r"$\dim V_I = kl - l(l+1)/2$"
    if kind == "sum":
        sets = r"$I \subset \{1,\dots,m_0\}$, $m_0 = \#\{i : \sigma_i^2 > \lambda\}$,"
        descending = r"$d_I + (k-l)(m_0-l)$"
        best = r"$I = \{1, \dots, \min(k, m_0)\}$"
    else:
        sets = r"$I \subset \{1,\dots,m\}$"
        descending = r"$d_I + (k-l)(m-l)$"
        best = r"$I = \{1, \dots, k\}$"
    return (rf"The Landscape Theorem (Kunin et al., ICML 2019, Table 1) for ${LATEX_SYMBOL[kind]}$ — here "
            rf"$m = {m}$, $k = {k}$, $\sigma = ({sigma})$. For every {sets} with $|I| = l \leq k$, the "
            rf"points {point} are critical. They form a manifold with {dim} and {descending} descending "
            r"directions, where $d_I = \#\{(i, j) : i \in I,\ j \notin I,\ j \lt i\}$; these are all the "
            rf"critical points, and the global minimum is {best}.")


def theorem_numbers(table: theorem.Table, row: theorem.Manifold) -> str:
    """The theorem's numbers at this λ: m₀, the global minimum, and one row's counts beside the
    Hessian's."""
    kind, k, m = table.kind, table.k, table.m
    head = rf"At $\lambda = {table.lam:g}$"
    if kind == "sum":
        head += rf", $m_0 = {table.m0}$"
    head += rf": the global minimum is $I = {_latex_set(table.global_min.I)}$."
    d = landscape.d_index(row.I, m)
    l = row.l
    big_m, m_value = ("m_0", table.m0) if kind == "sum" else ("m", m)
    measured = row.measured
    example = (rf" For $I = {_latex_set(row.I)}$ ($l = {l}$): $d_I = {d}$ and "
               rf"$(k-l)({big_m}-l) = ({k}-{l})({m_value}-{l}) = {row.predicted_descending - d}$, so the "
               rf"theorem says ${row.predicted_descending}$ descending directions and a manifold of dimension "
               rf"${row.predicted_flat}$; the Hessian at the point has ${measured.descending}$ negative, "
               rf"${measured.flat}$ zero and ${measured.ascending}$ positive eigenvalues, and the loss is "
               rf"${row.loss:.6g}$.")
    if row.notes:
        example += " The measured counts differ — the notes under the table say why."
    return head + example


def _latex_set(I) -> str:
    return r"\{" + ", ".join(str(i + 1) for i in I) + r"\}" if I else r"\varnothing"


def notes_html(table: theorem.Table) -> str:
    """Every disagreement between the measured and the theorem's counts, in the core's words,
    each text once with the rows it is about."""
    grouped: dict[str, list[str]] = {}
    for row in table.rows:
        for note in row.notes:
            grouped.setdefault(note, []).append(row.label)
    if not grouped:
        return ('<div class="theorem-notes agree">Every measured count equals the theorem\'s: no cell '
                "is marked.</div>")
    items = "".join(f'<li><b>{_e(", ".join(labels))}</b> — {_e(note)}</li>' for note, labels in grouped.items())
    return ('<div class="theorem-notes"><b>Where the measurement differs from the paper</b> (cells '
            f"marked ≠):<ul>{items}</ul></div>")


def gone_html(table: theorem.Table) -> str:
    """The index sets L_σ does not have at this λ, and why (the core's words)."""
    gone = table.gone
    if not gone:
        return ""
    listed = "".join(f"<li><b>{_e(row.label)}</b>: {_e(row.gone_reason)}</li>" for row in gone[:GONE_LISTED])
    more = (f"<li>… and {len(gone) - GONE_LISTED} more, each holding an i with σᵢ² ≤ λ.</li>"
            if len(gone) > GONE_LISTED else "")
    labels = ", ".join(row.label for row in gone)
    return (f'<div class="theorem-gone"><b>Gone at λ = {_e(f"{table.lam:g}")}</b> ({len(gone)}): '
            f"{_e(labels)}<details><summary>why</summary><ul>{listed}{more}</ul></details></div>")


def degenerate_text(table: theorem.Table) -> str:
    rows = [row for row in table.rows if row.exists and row.degenerate]
    if not rows:
        return ""
    return (f"⚠ λ = {table.lam:g} sits at a pitchfork (λ = σⱼ² to the Hessian's resolution): "
            f"{len(rows)} row{'s are' if len(rows) != 1 else ' is'} degenerate — marked ⚠, with the "
            "directions that read as flat named in the notes.")


def symmetry_html(compared) -> str:
    """The three losses side by side: group, then per l the paper's manifold dimension, the
    orbit's dimension stated and measured, and the Hessian's flat count."""
    k = len(compared[0].rows) - 1
    head = "".join(f"<th>l = {l}</th>" for l in range(k + 1))
    body = []
    for c in compared:
        s, kind = c.symmetry, c.kind
        manifold = "V_I, kl − l(l + 1)/2" if s.group == "O(k)" else "F_I, kl"
        if kind == "sum" and s.group == "GL(k)":
            manifold = "V_I, kl − l(l + 1)/2 (λ = 0: L_σ is L)"

        def cells(values, reference=None):
            out = []
            for l, value in enumerate(values):
                if value is None:
                    out.append('<td class="gone">gone</td>')
                    continue
                differs = reference is not None and reference[l] is not None and value != reference[l]
                mark = "≠ " if differs else ""
                style = f' style="background:{DIFFERS};color:#8a1c1a"' if differs else ""
                out.append(f"<td{style}>{_e(mark)}{_e(value)}</td>")
            return "".join(out)

        paper = [row.predicted_flat if row.exists else None for row in c.rows]
        stated = [s.orbit_dimensions[l] if row.exists else None for l, row in enumerate(c.rows)]
        orbit = [row.orbit_dimension for row in c.rows]
        flat = [row.measured.flat if row.exists else None for row in c.rows]
        group = f"{s.group}, dimension {s.dimension}"
        body.append(
            f'<tr class="sym-{kind}"><th rowspan="4">{_e(SYMBOL[kind])}</th><th rowspan="4">{_e(group)}</th>'
            f"<th>paper's manifold ({_e(manifold)})</th>{cells(paper)}</tr>"
            f"<tr><th>group orbit, stated ({_e(s.orbit_formula)})</th>{cells(stated)}</tr>"
            f"<tr><th>group orbit, measured (rank of ξ ↦ (ξW₁, −W₂ξ))</th>{cells(orbit, stated)}</tr>"
            f"<tr><th>Hessian flat directions, measured</th>{cells(flat, paper)}</tr>")
    statements = {c.symmetry.group: c.symmetry.statement for c in compared}
    words = "".join(f"<p><b>{_e(group)}.</b> {_e(text)}</p>" for group, text in statements.items())
    return (f'<table class="lae-table symmetry-table"><thead><tr><th>loss</th><th>symmetry group</th>'
            f"<th>at I = {{1..l}}</th>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
            f'<div class="symmetry-words" style="font-size:13px;color:#333;max-width:980px">{words}</div>')


HOW_TO_READ = (
    '<div style="font-size:13.5px;color:#333;max-width:980px;line-height:1.5">'
    "Each row of the table is one critical manifold of the chosen loss: the "
    "principal directions u_i, i ∈ I, that the autoencoder keeps. The <i>theorem</i> columns are the "
    "paper's counts; the <i>measured</i> columns are the signs of the Hessian's eigenvalues at one "
    "point of the manifold (Table 1's, with a random G or O), computed here. A marked cell (≠, red) "
    "is a real difference, explained in words under the table — for L and L_π the Hessian's flat "
    "directions span the whole GL(k)-orbit, larger than the paper's F_I. The ladder puts every "
    "manifold at (descending directions, loss): only the global minimum (ringed) has none — every "
    "other manifold is a saddle with a way down, so there is no spurious local minimum. Drag λ, or press Sweep, with L_σ: each time λ passes a σᵢ² "
    "the manifolds that keep u_i vanish (posterior collapse) and the ladder thins. Click a row or a "
    "marker to push its point off downhill and watch a solver slide past lower critical levels to "
    "the bottom.</div>")

TABLE_CSS = plots.TABLE_CSS + """
table.symmetry-table td.gone { color: #aaa; }
table.symmetry-table tbody th { font-weight: 500; }
table.symmetry-table tr.sym-product th[rowspan], table.symmetry-table tr.sym-sum th[rowspan] { border-top: 2px solid #23395d; }
.theorem-notes, .theorem-gone { font-size: 13px; color: #333; max-width: 980px; line-height: 1.45; }
.theorem-notes ul, .theorem-gone ul { margin: 4px 0 6px 0; padding-left: 20px; }
.theorem-notes.agree { color: #1e6b2f; }
"""

#: a cell of the table: the row's background (the global minimum's, a degenerate row's) and, for
#: a measured count that differs from the theorem's, a red mark; every value is escaped (<%- %>)
CELL = ('<div style="background:<%= is_min ? "{min}" : degenerate ? "{deg}" : "transparent" %>;'
        'font-weight:<%= is_min ? 600 : 400 %>;padding:0 4px;text-align:{align}">{body}</div>')
PLAIN = "<%- {field} %>"
MARKED = ('<span style="<%= {flag} ? \'color:#b4231f;font-weight:700\' : \'\' %>">'
          "<%- {flag} ? '≠ ' : '' %><%- {field} %></span>")

#: the CSV travels in the table's tags when asked for; this saves it as a file in the browser
DOWNLOAD_JS = """
const [text, name] = cb_obj.tags;
if (typeof text !== "string" || !text) return;
const url = URL.createObjectURL(new Blob([text], {type: "text/csv;charset=utf-8"}));
const link = document.createElement("a");
link.href = url; link.download = name; link.style.display = "none";
document.body.appendChild(link); link.click(); link.remove();
setTimeout(() => URL.revokeObjectURL(url), 1000);
"""


#: BokehJS 3.9's DataTable redraws its rows when its CDSView changes, and the view changes when
#: the source's row indices do: new data of the same length (a λ step that keeps every manifold)
#: left the old numbers on screen. The table's view is told that its rows changed whenever the
#: data does — the ``change.emit()`` Bokeh's own CustomJS examples use for a source.
REDRAW_JS = "view.change.emit()"


def redraw_on_new_data(table: DataTable) -> None:
    table.source.js_on_change("data", CustomJS(args=dict(view=table.view), code=REDRAW_JS))


def _cell(field: str, *, flag: str | None = None, align: str = "right") -> HTMLTemplateFormatter:
    body = (MARKED.format(flag=flag, field=field) if flag else PLAIN.format(field=field))
    return HTMLTemplateFormatter(template=CELL.format(min=HIGHLIGHT, deg=DEGENERATE, align=align, body=body))


COLUMNS = tuple(zip(theorem.CSV_COLUMNS, (
    # (sort field, shown field, flag): a table column sorts by its field, so I sorts by the
    # table's own order (l, then I) and shows the paper's label
    ("order", "label", None), ("l", "l", None), ("loss", "loss_text", None),
    ("d_theorem", "d_theorem", None), ("descending", "descending", "d_differs"),
    ("f_theorem", "f_theorem", None), ("f_measured", "f_measured", "f_differs"),
    ("ascending", "ascending", None), ("gap", "gap_text", None))))


# --------------------------------------------------------------------------- the page


class TheoremPage(shell.Page):
    """Lays out ``TheoremState`` and keeps the table, the ladder and the texts in step with it."""

    slug, title = "theorem", "Theorem"
    state_class = TheoremState

    #: the parameters the table depends on (all but the solver)
    TABLE = {"lam", "m", "k", "sigma", "loss", "seed"}

    def __init__(self, **overrides):
        super().__init__(**overrides)
        self.table_now: theorem.Table | None = None
        self.rows_shown: list[theorem.Manifold] = []
        self.chosen: tuple | None = None  # the row the escape starts from (0-based I)
        self.escape_steps = None
        self.escape_callback = None
        self.escape_shown = 0
        self.sweep_callback = None
        self.sweep_started = 0.0
        self._sweeping = False  # True while the sweep itself moves λ
        self._downloads = 0
        self.compact_table = None

    def settle(self, overrides):
        st = self.state
        self._fit_link(overrides)
        st.param.k.bounds = (1, st.m - 1)
        if st.method not in st.methods():
            self.notices.show(f"'method' {st.method} does not escape from a point of {SYMBOL[st.loss]} "
                              f"(it ties W₁ to W₂ᵀ); using {st.methods()[0]}.")
            st.method = st.methods()[0]

    def _fit_link(self, overrides) -> None:
        """k below m and σ with m values, whatever the link or the overrides say (with a notice
        for what they said wrong)."""
        st = self.state
        if st.k > st.m - 1:
            self.notices.show(f"'k' must be smaller than m = {st.m}; using k = {st.m - 1}.")
            st.k = st.m - 1
        args = pn.state.session_args if pn.state.curdoc and pn.state.curdoc.session_context else {}
        raw = (args or {}).get("sigma")
        given = "sigma" in overrides
        if raw and not given:
            value = raw[-1]
            text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
            try:
                st.sigma = format_spectrum(read_spectrum(text, st.m))
                return
            except ValueError as exc:
                fallback = format_spectrum(fit_spectrum(theorem.DEFAULT_SIGMA, st.m))
                self.notices.show(f"'sigma' in the link: {_cut(str(exc))}; using {fallback}.")
                st.sigma = fallback
                return
        try:
            st.sigma = format_spectrum(read_spectrum(st.sigma, st.m))
        except ValueError as exc:
            fallback = format_spectrum(fit_spectrum(theorem.DEFAULT_SIGMA, st.m))
            if given:
                self.notices.show(f"'sigma': {_cut(str(exc))}; using {fallback}.")
            st.sigma = fallback

    # ---------------------------------------------------------------- layout
    def build(self):
        st = self.state
        self.widgets = {
            "lam": shell.LiveFloatSlider.from_param(st.param.lam, sizing_mode="stretch_width"),
            "m": shell.LiveIntSlider.from_param(st.param.m, sizing_mode="stretch_width"),
            "k": shell.LiveIntSlider.from_param(st.param.k, sizing_mode="stretch_width"),
            "loss": shell.LiveSelect.from_param(st.param.loss, sizing_mode="stretch_width"),
            "seed": shell.LiveIntInput.from_param(st.param.seed, width=130),
        }
        self.widgets["k"].end = st.m - 1
        self.spectrum_input = shell.LiveTextInput(
            label=st.param.sigma.label, value=st.sigma, placeholder="e.g. 4, 3, 2, 1.5",
            sizing_mode="stretch_width", css_classes=["spectrum-input"])
        self.spectrum_input.param.watch(self._spectrum_typed, "value")
        self.method_select = shell.LiveSelect(
            label=st.param.method.label, options={METHOD_LABELS[m]: m for m in st.methods()},
            value=st.method, width=220, css_classes=["method-select"])
        self.method_select.param.watch(self._method_chosen, "value")
        self.reroll = pn.widgets.Button(label="⟳ Re-roll", color="light", css_classes=["reroll-button"],
                                        width=110, margin=(23, 10, 5, 5),
                                        description="Draw a new seed: new U, V and new points on each manifold")
        self.reroll.on_click(lambda e: self.guarded(self.reroll_seed))
        sidebar = pn.Column(
            panes.HTML("<b>The Landscape Theorem, live.</b> Every critical manifold of an "
                       "m × k linear autoencoder on data with singular values σ.",
                       styles={"font-size": "13px"}, margin=(5, 10), sizing_mode="stretch_width"),
            self.widgets["lam"], self.widgets["m"], self.widgets["k"], self.spectrum_input,
            panes.HTML("m values, largest first, each in (0, 100]; press Enter or leave the box. "
                       "X = UΣVᵀ has 2m columns.", styles={"font-size": "12px", "color": "#666"},
                       margin=(0, 10), sizing_mode="stretch_width"),
            self.widgets["loss"], pn.Row(self.widgets["seed"], self.reroll, margin=0),
            sizing_mode="stretch_width")

        style = {"font-size": "14.5px", "max-width": "980px", "line-height": "1.5"}
        self.theorem = panes.LaTeX("", css_classes=["theorem-statement"], styles=style,
                                   sizing_mode="stretch_width")
        self.theorem_numbers = panes.LaTeX("", css_classes=["theorem-numbers"], styles=style,
                                           sizing_mode="stretch_width", hold_height=True)
        self.survivors = panes.HTML("", css_classes=["theorem-survivors"], sizing_mode="stretch_width",
                                    styles={"font-size": "14.5px"})
        self.degenerate = panes.HTML("", css_classes=["theorem-degenerate"], sizing_mode="stretch_width",
                                     styles={"font-size": "13.5px", "color": "#6b5200"})
        self._build_table()
        self.notes = panes.HTML("", css_classes=["theorem-notes-pane"], sizing_mode="stretch_width",
                                stylesheets=[TABLE_CSS])
        self.gone = panes.HTML("", css_classes=["theorem-gone-pane"], sizing_mode="stretch_width",
                               stylesheets=[TABLE_CSS], hold_height=True)
        self.csv_button = pn.widgets.Button(label="⤓ Download CSV", color="light", css_classes=["csv-button"],
                                            width=150, description="The table as a CSV file (gone rows too)")
        self.csv_button.on_click(lambda e: self.guarded(self.send_csv))
        self._build_ladder()
        self.sweep_button = pn.widgets.Button(label="▶ Sweep λ", color="primary", css_classes=["sweep-button"],
                                              width=200)
        self.sweep_button.on_click(lambda e: self.guarded(self.toggle_sweep))
        self.ladder_count = panes.HTML("", css_classes=["ladder-count"], styles={"font-size": "14px"},
                                       margin=(14, 10), sizing_mode="stretch_width")
        self._build_escape()
        self.symmetry = panes.HTML("", css_classes=["symmetry-pane"], stylesheets=[TABLE_CSS],
                                   sizing_mode="stretch_width")

        legend = panes.HTML(
            f'<div style="font-size:12.5px;color:#555"><span style="background:{HIGHLIGHT};padding:1px 6px">'
            f"global minimum</span> · <span style=\"color:#b4231f;font-weight:700\">≠</span> measured ≠ "
            f'theorem (see the notes) · <span style="background:{DEGENERATE};padding:1px 6px">⚠ degenerate'
            "</span> · click a row (or a marker on the ladder) to escape from it · click a header to sort</div>",
            sizing_mode="stretch_width")
        self.escape_section = pn.Column(
            plots.heading("4 · Escape from a saddle",
                          "The chosen point is pushed a small step along the Hessian's most negative "
                          "eigenvector (plus a tiny random push) and a solver runs from there. The grey "
                          "lines are the critical values of the table: the run lingers near lower "
                          "saddles on its way down to the global minimum."),
            pn.Row(self.method_select, self.run_button, self.progress_box, margin=0),
            self.escape_status,
            pn.pane.Bokeh(self.escape_fig),
            sizing_mode="stretch_width")
        main = pn.Column(
            plots.heading("1 · The theorem", "Table 1 of the paper, with this page's numbers."),
            self.theorem, self.theorem_numbers,
            plots.heading("2 · Every critical manifold",
                          "One row per index set I with |I| ≤ k: the paper's counts beside the "
                          "Hessian's, measured at one point of each manifold."),
            self.survivors, self.degenerate, legend,
            pn.pane.Bokeh(self.table, sizing_mode="stretch_width"),
            self.csv_button, self.notes, self.gone,
            plots.heading("3 · The critical-value ladder",
                          "Each manifold at (descending directions, loss), coloured by l = |I|. With L_σ, "
                          "drag λ past a σᵢ² or sweep it: manifolds disappear."),
            pn.Row(self.sweep_button, self.ladder_count, margin=0),
            pn.pane.Bokeh(self.ladder),
            self.escape_section,
            plots.heading("5 · Symmetry, side by side",
                          "The group that moves along each loss's manifolds, and their dimension: stated, "
                          "and measured at the Table 1 point of I = {1..l}."),
            self.symmetry,
            plots.heading("How to read it", ""),
            panes.HTML(HOW_TO_READ, sizing_mode="stretch_width"),
            sizing_mode="stretch_width")
        self.redraw(None)
        return sidebar, main

    def _build_table(self):
        self.source = ColumnDataSource({name: [] for name in (
            "order", "label", "tag", "l", "l_label", "loss", "loss_text", "d_theorem", "descending",
            "d_differs", "f_theorem", "f_measured", "f_differs", "ascending", "gap", "gap_text", "is_min",
            "degenerate", "color", "ring", "level_color", "level_width", "lam")})
        self.source.selected.on_change("indices", self._row_clicked)
        columns = [TableColumn(field=sort, title=title, width=width, formatter=_cell(
                       shown, flag=flag, align="left" if sort == "order" else "right"))
                   for (title, (sort, shown, flag)), width in zip(COLUMNS, TABLE_WIDTHS)]
        # the columns' widths are proportions: the table fills the main area (a 1280 px screen
        # with the sidebar open leaves ~940 px; 1920 px, ~1570). "force_fit" scales them; the
        # content-sized "fit_columns" measured every cell on every new λ (some 50 ms of the
        # browser's repaint) and cut the I column to its one-digit rows' width
        self.table = DataTable(source=self.source, columns=columns, sizing_mode="stretch_width",
                               min_width=760, max_width=sum(TABLE_WIDTHS) + 240, autosize_mode="force_fit",
                               height=26 * (TABLE_ROWS + 1), row_height=25, index_position=None,
                               sortable=True, selectable=True, reorderable=False,
                               css_classes=["theorem-table"])
        self.table.js_on_change("tags", CustomJS(code=DOWNLOAD_JS))
        redraw_on_new_data(self.table)

    def _build_ladder(self):
        fig = self.ladder = plots.titled_figure(
            "The ladder: every critical manifold at (descending directions, loss)", 620, 400,
            x_range=Range1d(-0.5, 8.5), y_range=Range1d(0, 1), x_axis_label="descending directions (measured)",
            y_axis_label="loss at the manifold (critical value)")
        ring = fig.scatter("descending", "loss", source=self.source, size=24, fill_alpha=0,
                           line_color=MIN_COLOR, line_width=3, line_alpha="ring")
        ring.nonselection_glyph = None
        ring.selection_glyph = None
        dots = fig.scatter("descending", "loss", source=self.source, size=13, fill_color="color",
                           line_color="white", line_width=1.5, legend_field="l_label")
        dots.selection_glyph = dots.glyph.clone(line_color="black", line_width=3)
        dots.nonselection_glyph = dots.glyph.clone(fill_alpha=0.55)
        fig.add_layout(LabelSet(x="descending", y="loss", text="tag", source=self.source, x_offset=9,
                                y_offset=-7, text_font_size="11px", text_color="#333"))
        fig.legend.update(location="bottom_right", title="l = |I|", background_fill_alpha=0.8,
                          label_text_font_size="11px", title_text_font_size="11px")
        fig.add_tools(HoverTool(renderers=[dots], tooltips=[
            ("I", "@label"), ("l", "@l"), ("loss", "@loss{0.0000}"),
            ("descending (theorem / measured)", "@d_theorem / @descending"),
            ("flat (theorem / measured)", "@f_theorem / @f_measured"), ("λ", "@lam")]))
        fig.add_tools(TapTool(renderers=[dots]))
        fig.xaxis.minor_tick_line_color = None

    def _build_escape(self):
        fig = self.escape_fig = plots.titled_figure(
            "Escape: loss per iteration, over the critical values", 620, 360, x_range=Range1d(0, 100),
            y_range=Range1d(0, 1), x_axis_label="iteration", y_axis_label="loss")
        levels = fig.hspan(y="loss", source=self.source, line_color="level_color", line_width="level_width",
                           line_alpha=0.8)
        levels.selection_glyph = levels.glyph.clone(line_color=START_COLOR, line_width=2.5)
        levels.nonselection_glyph = levels.glyph.clone()
        self.run_source = ColumnDataSource(dict(iteration=[], loss=[]))
        fig.line("iteration", "loss", source=self.run_source, line_color="#23395d", line_width=2.5)
        self.ends = ColumnDataSource(dict(iteration=[], loss=[], color=[], what=[]))
        ends = fig.scatter("iteration", "loss", source=self.ends, fill_color="color", line_color="white",
                           size=12)
        fig.add_tools(HoverTool(renderers=[ends], tooltips=[("", "@what"), ("iteration", "@iteration"),
                                                            ("loss", "@loss{0.000000}")]))
        self.run_button = pn.widgets.Button(label="▶ Run again", color="primary", css_classes=["escape-button"],
                                            width=150, margin=(23, 10, 5, 10), disabled=True)
        self.run_button.on_click(lambda e: self.guarded(self.toggle_escape))
        self.progress = pn.indicators.Progress(value=0, max=100, width=200, bar_color="primary",
                                               css_classes=["escape-progress"], margin=(30, 10))
        # shown and hidden with CSS visibility, keeping its place (as the Collapse page's)
        self.progress_box = pn.Column(self.progress, margin=0, styles={"visibility": "hidden"},
                                      css_classes=["escape-progress-box"])
        self.escape_status = panes.HTML(plots.status("Click a row of the table, or a marker on the ladder, to "
                                                     "escape from that manifold."),
                                        css_classes=["escape-status"], sizing_mode="stretch_width",
                                        styles={"font-size": "13px", "color": "#333", "max-width": "980px"})

    def compact(self, focus: str = "ladder"):
        """Embed mode and the lecture: λ, the loss and the sweep over the ladder beside a narrow
        table (the same rows: a click there starts no escape, which the compact view leaves out)."""
        self.widgets["lam"].param.update(width=300, sizing_mode=None)
        self.widgets["loss"].param.update(width=190, sizing_mode=None)
        self.sweep_button.margin = (23, 10, 5, 10)
        self.ladder.width, self.ladder.height = 500, 390
        keep = (0, 2, 3, 4)  # I, loss, descending (theorem), descending (measured)
        columns = [TableColumn(field=c.field, title=c.title, width=w, formatter=c.formatter)
                   for i, (c, w) in enumerate(zip(self.table.columns, (70, 0, 80, 140, 150))) if i in keep]
        self.compact_table = DataTable(source=self.source, columns=columns, width=450, height=390, row_height=25,
                                       index_position=None, sortable=True, selectable=False,
                                       css_classes=["theorem-table-compact"])
        redraw_on_new_data(self.compact_table)
        self.survivors.styles = {"font-size": "13px"}
        controls = pn.Row(self.widgets["lam"], self.widgets["loss"], self.sweep_button, margin=0)
        return pn.Column(controls, self.survivors,
                         pn.Row(pn.pane.Bokeh(self.ladder), pn.pane.Bokeh(self.compact_table), margin=0),
                         margin=0)

    # ---------------------------------------------------------------- redraw
    def redraw(self, changed):
        """Repaint what depends on the changed parameters (all of it when ``changed`` is None)."""
        st = self.state
        changed = set(changed) if changed is not None else set(st.URL_PARAMS)
        if "lam" in changed and not self._sweeping and self.sweep_callback is not None:
            self.stop_sweep()  # the visitor took λ over
        if "m" in changed:
            self._follow_m()
        if "loss" in changed:
            self._follow_loss()
        if changed & self.TABLE:
            self.stop_escape(None)
            self._draw_table()
        elif "method" in changed and self.chosen is not None:
            self.start_escape()

    def _follow_m(self):
        """A new m: k below it and σ with m values (the box and the k slider follow)."""
        st = self.state
        with param.discard_events(st):
            st.param.k.bounds = (1, st.m - 1)
            st.k = min(st.k, st.m - 1)
            st.sigma = format_spectrum(fit_spectrum(read_spectrum(st.sigma, _count(st.sigma)), st.m))
        if hasattr(self, "widgets"):
            self.widgets["k"].param.update(end=st.m - 1, value=st.k)
            self.spectrum_input.value = st.sigma

    def _follow_loss(self):
        """A new loss: the solvers that escape from its points (ESCAPE_METHODS)."""
        st = self.state
        if st.method not in st.methods():
            with param.discard_events(st):
                st.method = st.methods()[0]
        if hasattr(self, "method_select"):
            self.method_select.param.update(options={METHOD_LABELS[m]: m for m in st.methods()},
                                            value=st.method)

    def _draw_table(self):
        st = self.state
        table = self.table_now = st.table()
        if table.close_warning:
            self.notices.clear("warning")
            self.notices.show(table.close_warning)
        rows = self.rows_shown = [row for row in table.rows if row.exists]
        labelled = len(rows) <= LABELLED
        self.source.selected.indices = []
        self.chosen = None
        if self.escape_shown:
            self.escape_shown = 0
            self.run_source.data = dict(iteration=[], loss=[])
            self.ends.data = dict(iteration=[], loss=[], color=[], what=[])
            self.escape_status.object = plots.status(
                "The table changed, and the escape with it: click a row to escape again.")
        self.source.data = dict(
            order=[table.rows.index(row) for row in rows],
            label=[row.label + (" ⚠" if row.degenerate else "") for row in rows],
            tag=[row.label if labelled else "" for row in rows],
            l=[row.l for row in rows], l_label=[f"l = {row.l}" for row in rows],
            loss=[row.loss for row in rows], loss_text=[f"{row.loss:.6g}" for row in rows],
            d_theorem=[row.predicted_descending for row in rows],
            descending=[row.measured.descending for row in rows],
            d_differs=[row.descending_differs for row in rows],
            f_theorem=[row.predicted_flat for row in rows], f_measured=[row.measured.flat for row in rows],
            f_differs=[row.flat_differs for row in rows], ascending=[row.measured.ascending for row in rows],
            gap=[row.transpose_gap for row in rows], gap_text=[f"{row.transpose_gap:.3g}" for row in rows],
            is_min=[row.is_global_min for row in rows], degenerate=[row.degenerate for row in rows],
            color=[L_COLORS[row.l % len(L_COLORS)] for row in rows],
            ring=[1.0 if row.is_global_min else 0.0 for row in rows],
            level_color=[MIN_COLOR if row.is_global_min else SADDLE_LEVEL for row in rows],
            level_width=[2.5 if row.is_global_min else 1.0 for row in rows],
            lam=[table.lam] * len(rows))
        self._draw_axes(table)
        self.survivors.object = f'<span class="count-text">{_e(survivors_text(table))}</span>'
        self.ladder_count.object = f'<span class="count-text">{_e(ladder_text(table))}</span>'
        self.degenerate.object = _e(degenerate_text(table))
        self.notes.object = notes_html(table)
        self.gone.object = gone_html(table)
        self.theorem.object = theorem_statement(table)
        self.theorem_numbers.object = theorem_numbers(table, example_row(table))
        self.symmetry.object = symmetry_html(st.symmetries())
        self.run_button.disabled = True
        self.run_button.label = "▶ Run again"

    def _draw_axes(self, table):
        """Ranges that depend on m, k and σ only, never on λ: every critical value lies between 0
        and the origin's loss ‖X‖²_F (the row I = ∅, a critical point at every λ), and no row has
        more than km descending directions."""
        top = table.row(()).loss
        self.ladder.y_range.update(start=-0.03 * top, end=1.06 * top)
        self.ladder.x_range.update(start=-0.5, end=table.k * table.m + 0.5)
        self.table.height = 26 * (min(len(table.rows), TABLE_ROWS) + 1) + 4  # every index set, gone or not
        self.escape_fig.y_range.update(start=-0.03 * top, end=1.06 * top)
        self.escape_fig.x_range.update(start=0, end=100)

    # ---------------------------------------------------------------- the σ box, the solver, the seed
    def _spectrum_typed(self, event):
        st = self.state
        kept = f"σ stays {st.sigma}."
        try:
            values = read_spectrum(event.new, st.m)
        except ValueError as exc:
            self.notices.clear("warning")
            self.notices.show(f"{_cut(str(exc))}. {kept}")
            return
        self.notices.clear("warning")
        text = format_spectrum(values)
        if self.spectrum_input.value != text:
            self.spectrum_input.value = text
        st.sigma = text

    def _method_chosen(self, event):
        if event.new in self.state.methods():
            self.state.method = event.new

    def reroll_seed(self):
        """A new seed: new U, V and a new point on every manifold."""
        choices = [s for s in range(10_000) if s != self.state.seed]
        self.state.seed = random.choice(choices)

    def send_csv(self):
        """The table as CSV (``theorem.to_csv``), handed to the browser to save."""
        table = self.table_now
        self._downloads += 1
        name = f"theorem-{table.kind}-m{table.m}-k{table.k}-lam{table.lam:g}.csv"
        self.table.tags = [theorem.to_csv(table), name, self._downloads]

    # ---------------------------------------------------------------- the escape
    def _row_clicked(self, attr, old, new):
        if not new or new[0] >= len(self.rows_shown) or self.compact_table is not None:
            return  # the compact view (embed, the deck) shows no escape, and runs none
        I = self.rows_shown[new[0]].I
        if I != self.chosen or self.escape_steps is None:
            self.chosen = I
            self.guarded(self.start_escape)

    def start_escape(self):
        """Push the chosen row's point off and run the solver from there, a chunk per tick."""
        self.stop_escape(None)
        table, I = self.table_now, self.chosen
        if I is None:
            return
        row = table.row(I)
        self.theorem_numbers.object = theorem_numbers(table, row)
        self.escape_steps = theorem.escape_steps(table, I, self.state.method, seed=table.seed,
                                                 max_iter=ESCAPE_MAX_ITER, chunk=ESCAPE_CHUNK)
        self.escape_shown = 0
        self.ends.data = dict(iteration=[0], loss=[row.loss], color=[START_COLOR], what=[f"start: {row.label}"])
        low = table.global_min.loss
        span = max(row.loss - low, 1e-9 * max(abs(row.loss), 1.0))
        self.escape_fig.y_range.update(start=low - 0.08 * span, end=row.loss + 0.12 * span)
        self.escape_fig.x_range.update(start=0, end=100)
        self.progress.value = 0
        self._show_progress(True)
        self.run_button.param.update(label="■ Stop", disabled=False)
        self.escape_status.object = plots.status(
            f"Escaping from {row.label} with {METHOD_LABELS.get(self.state.method, self.state.method)}: pushed "
            f"{theorem.DEFAULT_STEP:g} along the Hessian's most negative eigenvector …")
        self.escape_callback = pn.state.add_periodic_callback(lambda: self.guarded(self.escape_tick),
                                                              period=ESCAPE_PERIOD_MS)
        self.escape_tick()

    def escape_tick(self, budget: float = ESCAPE_SLICE_S):
        """Run solver steps for about ``budget`` seconds and show them."""
        if self.escape_steps is None:
            return
        until = time.perf_counter() + budget
        progress = None
        try:
            while progress is None or (not progress.done and time.perf_counter() < until):
                progress = next(self.escape_steps)
        except Exception:
            self.stop_escape("failed")
            raise
        new = slice(self.escape_shown, progress.iterations + 1)
        points = dict(iteration=np.arange(progress.iterations + 1)[new].tolist(), loss=progress.loss[new].tolist())
        if self.escape_shown:
            self.run_source.stream(points)
        else:  # the first chunk replaces the last run's line (a stream beside it would be sent twice)
            self.run_source.data = points
        self.escape_shown = progress.iterations + 1
        self.escape_fig.x_range.end = max(100, math.ceil(1.05 * progress.iterations))
        self.progress.value = int(100 * progress.fraction)
        if progress.done:
            self._finish_escape(progress.run)

    def _finish_escape(self, run: theorem.EscapeRun):
        self.stop_escape(None)
        table = self.table_now
        end = table.row(run.ended_at).label if run.ended_at is not None else "between manifolds"
        start = dict(self.ends.data)
        self.ends.data = dict(iteration=[0, run.iterations], loss=[start["loss"][0], run.end_loss],
                              color=[START_COLOR, MIN_COLOR if run.reached_global_min else "#d62728"],
                              what=[start["what"][0], f"end: {end}"])
        verdict = ("It reached the global minimum." if run.reached_global_min and table.m0 >= table.k else
                   "It reached the best surviving manifold." if run.reached_global_min else
                   "It did not reach the global minimum.")
        self.escape_status.object = (
            f'<span class="status-text escape-summary">{_e(run.summary)}</span> '
            f'<span class="escape-end" data-end="{_e(end)}" style="font-weight:600">{_e(verdict)}</span>')

    def stop_escape(self, why: str | None):
        if self.escape_callback is not None:
            self.escape_callback.stop()
            self.escape_callback = None
        running = self.escape_steps is not None
        self.escape_steps = None
        if hasattr(self, "run_button"):
            self.run_button.param.update(label="▶ Run again", disabled=self.chosen is None)
            self._show_progress(False)
            if why and running:
                self.escape_status.object = plots.status(f"The escape {why}. Click a row to run again.")

    @property
    def progress_shown(self) -> bool:
        return self.progress_box.styles.get("visibility") == "visible"

    def _show_progress(self, shown: bool) -> None:
        self.progress_box.styles = dict(self.progress_box.styles, visibility="visible" if shown else "hidden")

    def toggle_escape(self):
        if self.escape_steps is not None:
            self.stop_escape("was stopped")
        else:
            self.start_escape()

    # ---------------------------------------------------------------- sweep
    def sweep_end(self) -> float:
        sigma = self.state.spectrum()
        return min(LAM_MAX, round(SWEEP_OVER * float(sigma[0]) ** 2, 2))

    def toggle_sweep(self):
        if self.sweep_callback is not None:
            self.stop_sweep()
        else:
            self.start_sweep()

    def start_sweep(self, now: float | None = None):
        """λ from 0 to ``sweep_end()`` over ``SWEEP_SECONDS``, a frame every ``SWEEP_PERIOD_MS``."""
        self.sweep_started = time.monotonic() if now is None else now
        self._set_lam(0.0)
        self.sweep_button.label = "■ Stop the sweep"
        self.sweep_callback = pn.state.add_periodic_callback(lambda: self.guarded(self.sweep_tick),
                                                             period=SWEEP_PERIOD_MS)

    def sweep_tick(self, now: float | None = None):
        elapsed = (time.monotonic() if now is None else now) - self.sweep_started
        end = self.sweep_end()
        lam = min(round(end * elapsed / SWEEP_SECONDS, 2), end)
        if lam != self.state.lam:
            self._set_lam(lam)
        if lam >= end:
            self.stop_sweep()

    def stop_sweep(self):
        if self.sweep_callback is not None:
            self.sweep_callback.stop()
            self.sweep_callback = None
        self.sweep_button.label = "▶ Sweep λ"

    def _set_lam(self, lam: float):
        self._sweeping = True
        try:
            self.state.lam = lam
        finally:
            self._sweeping = False


def _count(text: str) -> int:
    """How many values a stored spectrum holds (its text is the page's own, always valid)."""
    return len(parse_spectrum(text, max_count=theorem.MAX_M, sort=False))


def _cut(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


#: the page class the registry (app.pages) names
PAGE = TheoremPage


def create(**kwargs):
    """Build one session's page (Panel calls this once per visitor)."""
    return TheoremPage(**kwargs).view()
