"""The Grassmannian page without a browser: the Gr₂(ℝ⁴) index table, the counts against the
Betti numbers, the critical points of Gr₁(ℝ²) and Gr₁(ℝ³), the flow button, bad input.

Expected values come from the paper (Gr₂(ℝ⁴): indices 0, 1, 2, 2, 3, 4 and Betti numbers
1, 1, 2, 1, 1; RP²: 1, 1, 1) or from hand evaluation (a cloud rotated by θ has u₁ at θ).
"""

import re

import numpy as np
import pytest

from app import query
from app.pages import grassmann as page_module
from app.pages.grassmann import GrassmannPage, GrassmannState


def built(**state):
    page = GrassmannPage(**state)
    page.build()
    return page


def rows(page):
    """(I, index, loss) of each row of the rendered index table."""
    body = page.table.object.split("<tbody>")[1]
    out = []
    for row in re.findall(r'<tr class="index-row[^"]*">(.*?)</tr>', body):
        cells = [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row)]
        out.append((cells[0], int(cells[2]), cells[3]))
    return out


def test_default_table_is_gr2_r4_with_six_rows_of_indices_0_1_2_2_3_4():
    page = built()
    table = rows(page)
    assert [r[1] for r in table] == [0, 1, 2, 2, 3, 4]
    assert [r[0] for r in table] == ["{1, 2}", "{1, 3}", "{1, 4}", "{2, 3}", "{2, 4}", "{3, 4}"]
    # losses for σ = 4, 3, 2, 1.5: the discarded variances, e.g. {1, 2} leaves 4 + 2.25
    assert [float(r[2]) for r in table] == pytest.approx([6.25, 11.25, 13, 18.25, 20, 25])


def test_counts_per_index_equal_the_betti_numbers_of_gr2_r4():
    st = GrassmannState()
    counts, betti = st.index_counts()
    assert counts == betti == [1, 1, 2, 1, 1]
    page = built()
    assert "Equal for every d" in page.betti.object


@pytest.mark.parametrize("m, k", [(2, 1), (3, 1), (5, 2), (6, 3), (6, 5)])
def test_every_grassmannian_in_range_is_perfect(m, k):
    counts, betti = GrassmannState(m=m, k=k).index_counts()
    assert counts == betti and sum(counts) == len(GrassmannState(m=m, k=k).index_rows())


def test_lowering_m_to_k_moves_k_below_m():
    page = built(m=4, k=3)
    page.state.m = 3
    assert page.state.k == 2 and page.state.param.k.bounds == (1, 2)
    assert [r[1] for r in rows(page)] == [0, 1, 2]


def test_k_not_below_m_from_the_url_is_corrected_with_a_notice_and_nothing_else():
    page = GrassmannPage(m=3, k=5)
    assert page.state.k == 2 and page.notices.items == [("warning", "k must be smaller than m = 3; using k = 2.")]
    page.build()  # the correction is drawn with the page, not before it (no error notice on opening)
    assert page.notices.items == [("warning", "k must be smaller than m = 3; using k = 2.")]
    assert [r[1] for r in rows(page)] == [0, 1, 2]


def test_fewer_singular_values_than_m_shows_indices_without_losses():
    page = built(m=6, k=2)
    page.spectrum_input.value = "3, 2, 1"
    table = rows(page)
    assert len(table) == 15 and all(r[2] == "—" for r in table)
    assert "enter m values" in page.table.object


def test_bad_table_spectrum_gives_a_notice_and_keeps_the_table():
    page = built()
    before = page.table.object
    page.spectrum_input.value = "3, banana"
    assert page.table.object == before
    (level, text), = page.notices.items
    assert level == "warning" and "banana" in text


def test_plane_critical_lines_are_the_rotated_axes_with_indices_0_and_1():
    st = GrassmannState(plane_angle=40.0, plane_s1=2.0, plane_s2=1.0)
    (phi0, p0), (phi1, p1) = st.plane_critical(st.plane_data())
    assert (p0.index, p1.index) == (0, 1)
    assert phi0 == pytest.approx(40.0) and phi1 == pytest.approx(130.0)
    assert p0.loss == pytest.approx(1.0) and p1.loss == pytest.approx(4.0)  # σ₂², σ₁²


def test_plane_curve_and_the_line_follow_phi():
    page = built(plane_angle=30.0, phi=75.0)
    assert page.curve_now.data["phi"] == [75.0]
    # L_X(75°) = σ₁² sin²(45°) + σ₂² cos²(45°) = 2.5
    assert page.curve_now.data["loss"][0] == pytest.approx(2.5)
    assert page.cloud_loss.text == "L_X(φ = 75.0°) = 2.500"
    # the phase line's arrows point towards the minimum at 30°: left of it rightwards, …
    x0, x1 = np.array(page.curve_arrows.data["x0"]), np.array(page.curve_arrows.data["x1"])
    mid = (x0 + x1) / 2
    assert np.all(x1[(mid > 30) & (mid < 120)] < x0[(mid > 30) & (mid < 120)])
    assert np.all(x1[mid < 30] > x0[mid < 30])


def test_flow_moves_phi_to_the_minimum_and_stops(monkeypatch):
    stops = []
    monkeypatch.setattr(page_module.pn.state, "add_periodic_callback",
                        lambda cb, period: type("C", (), {"stop": lambda self: stops.append(1)})())
    page = built(plane_angle=30.0, phi=150.0)
    page.start_flow(now=0.0)
    # the first step is taken in the click's own reply, not a timer period later
    assert page.state.phi != 150.0 and page.flow_callback is not None
    seen = [150.0, page.state.phi]
    for t in np.linspace(0, page_module.FLOW_SECONDS + 0.2, 30):
        page.flow_tick(now=t)
        seen.append(page.state.phi)
    assert stops and page.flow_callback is None
    # from 150° the flow goes through 180° ≡ 0° to 30°: the loss never rises on the way
    assert page.state.phi == pytest.approx(30.0, abs=0.2)
    X = page.plane_X
    losses = [page_module.grassmann.gr1_circle(X, np.radians(p))[0] for p in seen]
    assert np.all(np.diff(losses) <= 1e-9)
    assert "arrived" in page.flow_status.object


def test_flow_at_a_critical_line_or_equal_sigmas_says_nothing_flows(monkeypatch):
    monkeypatch.setattr(page_module.pn.state, "add_periodic_callback", lambda cb, period: pytest.fail("started"))
    for state in (dict(plane_angle=30.0, phi=30.0), dict(plane_s1=1.0, plane_s2=1.0)):
        page = built(**state)
        page.start_flow(now=0.0)
        assert "Nothing to flow" in page.flow_status.object and page.flow_callback is None


def test_rp2_has_one_critical_point_per_index_matching_betti_numbers():
    page = built()
    counts, betti, points = page.state.space_counts(page.space_X)
    assert counts == betti == [1, 1, 1]
    assert sorted(page.disk_critical.data["index"]) == [0, 1, 2]
    assert [p.eigenvalue for p in points] == pytest.approx([9.0, 4.0, 1.0])
    assert "Equal: one critical point per index" in page.space_summary.object


def test_rp2_heat_map_is_transparent_outside_the_disk_and_streamlines_end_at_u1():
    page = built(seed=4)
    image = page.disk_image.data["image"][0]
    assert image[0, 0] == 0 and image[page_module.DISK_N // 2, page_module.DISK_N // 2] > 0
    u1 = page.state.space_counts(page.space_X)[2][0].direction
    ends = page.paths[-1]
    assert np.all(np.abs(ends @ u1) > 0.99)  # every flow line has reached ±u₁


def test_repeated_sigma_in_space_says_the_loss_is_not_morse():
    page = built(space_s1=2.0, space_s2=2.0, space_s3=1.0)
    assert "not a Morse function" in page.space_summary.object


def test_sphere_is_drawn_only_when_asked():
    page = built()
    assert page.sphere.data == [] and not page.sphere.shown
    page.show3d.value = True
    assert page.sphere.shown and page.sphere.data[0]["type"] == "surface"
    page.state.seed = 9
    assert page.sphere.shown and len(page.sphere.data) == 1 + 2 + 3


def test_sphere_colours_and_flow_lines_match_the_closed_form():
    """L_X(u) = Σσⱼ² − ‖Xᵀu‖²: on the sphere its least value is σ₂² + σ₃² (at ±u₁), its largest
    σ₁² + σ₂² (at ±u₃); every drawn flow line (NaN between lines) ends beside ±u₁."""
    page = built(space_s1=3.0, space_s2=2.0, space_s3=1.0, seed=4)
    page.show3d.value = True
    assert set(page.sphere.arrays).isdisjoint(page.sphere.fixed)  # the grid is sent once, not per change
    a = {**page.sphere.fixed, **page.sphere.arrays}
    assert all(v.dtype == np.float32 for v in a.values())  # binary float32, not JSON text
    loss = a["loss"].astype(float)
    assert loss.shape == a["x"].shape == a["z"].shape
    assert loss.min() == pytest.approx(2.0 ** 2 + 1.0 ** 2, abs=0.05)
    assert loss.max() == pytest.approx(3.0 ** 2 + 2.0 ** 2, abs=0.05)
    assert np.allclose(a["x"] ** 2 + a["y"] ** 2 + a["z"] ** 2, 1.0, atol=1e-5)  # points on S²
    u1 = page.state.space_directions()[:, 0]
    for lift, sign in (("up", 1.0), ("down", -1.0)):
        xyz = np.stack([a[f"{lift}_{c}"] for c in "xyz"], axis=1).astype(float)
        breaks = np.flatnonzero(np.isnan(xyz[:, 0]))
        assert len(breaks) == page_module.STREAM_STARTS  # one gap after each flow line
        ends = xyz[breaks - 1] / np.linalg.norm(xyz[breaks - 1], axis=1)[:, None]
        assert np.abs(ends @ u1).min() > 0.98, "a flow line stops away from ±u₁"
        starts = xyz[np.concatenate([[0], breaks[:-1] + 1])] / 1.005
        assert np.allclose(starts @ np.array([0, 0, sign]) >= -1e-6, True)  # upper (lower) hemisphere lift


@pytest.mark.parametrize("name, raw", [("phi", "nan"), ("m", "99"), ("seed", "-5"), ("plane_s1", "1e400"),
                                       ("k", "abc")])
def test_hostile_query_values_are_clamped_or_refused_with_a_notice(name, raw):
    st = GrassmannState()
    values, notices = query.parse(st, st.URL_PARAMS, {name: [raw.encode()]})
    st.param.update(**values)
    assert notices
    page = GrassmannPage(**values)
    page.build()
    assert page.notices.items == [] or all(level != "error" for level, _ in page.notices.items)


def test_three_d_shown_is_part_of_the_state_and_the_url():
    """A link to the page with the sphere open opened it closed: the toggle was not state."""
    st = GrassmannState()
    values, notices = query.parse(st, st.URL_PARAMS, {"show3d": [b"true"]})
    assert values == {"show3d": True} and not notices
    page = built(**values)
    assert page.show3d.value and page.sphere.shown and page.sphere.data[0]["type"] == "surface"
    page.show3d.value = False
    assert not page.state.show3d and not page.sphere.shown
    assert query.encode(page.state, ["show3d"]) == {"show3d": "false"}
