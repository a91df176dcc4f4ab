"""lae_core.pca: the data sets, the visitor's upload, reference PCA, the error metrics, the
alignment heat map, the synthetic loss and the race runner.

Expected values come from independent constructions written here: NumPy's ``cov``, ``svd`` and
``eigh`` of the data, subspaces rotated by a known angle, Table 1's decoder, the paper's losses
written out, finite differences, and Petrevski's construction.
"""

from __future__ import annotations

import builtins
import io
import math
import threading

import numpy as np
import pytest

from lae_core import landscape, solvers
from lae_core.pca import (alignment, authors_svd_error, decoder_directions, digits, direction_cosines,
                          largest_principal_angle, over_regularized, parse_upload, race, reference_pca,
                          suggested_lam, surviving_directions)


@pytest.fixture(scope="module")
def digits_data():
    return digits()


def orthonormal(m, r, seed):
    Q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(m, r)))
    return Q


def paper_loss(kind, X, lam, W1, W2, w_sigma=None):
    data = np.sum((X - W2 @ W1 @ X) ** 2)
    if kind == "sum":
        return data + lam * (np.sum(W1**2) + np.sum(W2**2))
    if kind == "product":
        return data + lam * np.sum((W2 @ W1) ** 2)
    if kind == "synthetic":       # Petrevski: w_σ L_σ + w_π L_π with w_π = 1 − w_σ
        return w_sigma * paper_loss("sum", X, lam, W1, W2) + (1 - w_sigma) * paper_loss("product", X, lam, W1, W2)
    return data


# --------------------------------------------------------------------------- data sets


def test_digits_are_sklearns_digits_centred_with_the_covariance_as_x_xt(digits_data):
    from sklearn.datasets import load_digits
    raw = load_digits()
    X = digits_data.X
    assert X.shape == (64, 1797) and digits_data.image_shape == (8, 8)
    np.testing.assert_allclose(X.mean(axis=1), 0.0, atol=1e-12)
    np.testing.assert_allclose(X @ X.T, np.cov(raw.data.T, bias=True), rtol=1e-10, atol=1e-10)
    np.testing.assert_array_equal(digits_data.labels, raw.target)
    assert set(digits_data.labels.tolist()) == set(range(10))


def test_over_regularized_is_petrevskis_construction():
    data = over_regularized(seed=3)
    X = data.X
    assert X.shape == (20, 30)
    U, s, _ = np.linalg.svd(X)
    np.testing.assert_allclose(s[:20], (21 - np.arange(1, 21)) / 5, rtol=1e-12)   # 4.0, 3.8, …, 0.2
    np.testing.assert_allclose(X.mean(axis=1), 0.0, atol=1e-12)
    np.testing.assert_allclose(np.abs(U[:, :20].T @ data.directions), np.eye(20), atol=1e-9)
    np.testing.assert_allclose(data.eigenvalues, s[:20] ** 2, rtol=1e-12)
    np.testing.assert_array_equal(over_regularized(seed=3).X, X)
    assert not np.allclose(over_regularized(seed=4).X, X)
    with pytest.raises(ValueError, match="seed"):
        over_regularized(seed=-1)


def test_suggested_lam_keeps_k_directions_and_bounds_the_read_off_error():
    ev = np.array([9.0, 4.0, 1.0])
    lam = suggested_lam(ev, 2)
    assert lam == 1.0 and surviving_directions(ev, lam) == 2
    assert 1 - lam / ev[1] == 0.75                     # s_k² = 3/4
    for bad, name in [(([1.0, 2.0], 1), "eigenvalues"), (([1.0, -1.0], 1), "eigenvalues"),
                      (([2.0, 1.0], 3), "k"), (([np.nan], 1), "eigenvalues")]:
        with pytest.raises(ValueError, match=name):
            suggested_lam(*bad)


# --------------------------------------------------------------------------- the visitor's upload


TABLE = np.array([[1.0, 2.0, 0.5], [3.0, -1.0, 2.5], [0.0, 4.0, 1.0], [2.0, 1.0, -0.5]])


def expected_X(table):
    centred = table - table.mean(axis=0)
    return centred.T / math.sqrt(len(table))


def npy_bytes(array, allow_pickle=False):
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=allow_pickle)
    return buf.getvalue()


@pytest.mark.parametrize("text", [
    "1,2,0.5\n3,-1,2.5\n0,4,1\n2,1,-0.5\n",
    "1;2;0.5\r\n3;-1;2.5\r\n0;4;1\r\n2;1;-0.5",
    "1\t2\t0.5\n3\t-1\t2.5\n\n0\t4\t1\n2\t1\t-0.5\n",
    "1 2 0.5\n 3 -1   2.5\n0 4 1\n2 1 -0.5",
    "\ufeff1, 2, 0.5\n3, -1, 2.5\n0, 4, 1e0\n2, 1, -5e-1\n",
])
def test_a_csv_of_numbers_becomes_centred_covariance_data(text):
    data = parse_upload(text.encode("utf-8"), "mine.csv")
    np.testing.assert_allclose(data.X, expected_X(TABLE), rtol=1e-14)
    assert data.name == "mine.csv" and data.labels is None


@pytest.mark.parametrize("array", [TABLE, TABLE.astype(np.float32), (TABLE * 2).astype(np.int64)])
def test_an_npy_of_numbers_becomes_centred_covariance_data(array):
    data = parse_upload(npy_bytes(array), "mine.npy")
    np.testing.assert_allclose(data.X, expected_X(array.astype(float)), rtol=1e-6)


def test_an_npy_is_recognised_by_its_magic_whatever_its_name():
    np.testing.assert_allclose(parse_upload(npy_bytes(TABLE), "data.bin").X, expected_X(TABLE))


BAD_UPLOADS = [
    (b"1,2\n3,abc\n", "x.csv", r"row 2, column 2 is 'abc', not a number"),
    (b"a,b\n1,2\n3,4\n", "x.csv", r"row 1, column 1 .*header row is not allowed"),
    (b"1,2\nnan,4\n", "x.csv", r"row 2, column 1 is nan.*finite"),
    (b"1,2\n3,inf\n", "x.csv", r"row 2, column 2 is inf.*finite"),
    (b"1,2,3\n4,5\n", "x.csv", r"row 2 has 2 values but row 1 has 3"),
    (b"1,2,3\n", "x.csv", r"1 row.*at least 2 samples"),
    (b"", "x.csv", r"empty"),
    (b"\n\n  \n", "x.csv", r"empty"),
    (b"1,2\n1,5\n1,2\n", "ok.csv", None),                          # one constant column is fine
    (b"1,2\n1,2\n1,2\n", "x.csv", r"every column is constant"),
    (bytes(range(256)) * 4, "junk.csv", r"binary, not a text CSV"),
    (b"\xff\xfe\xfa1,2\n", "x.csv", r"not UTF-8"),
    (b"1e200,1\n-1e200,2\n", "x.csv", r"too large: their covariance overflows"),
    ("\n".join(["1,2"] * 5001).encode(), "x.csv", r"too big: 5001 rows"),
    ((",".join(["1"] * 1001) + "\n" + ",".join(["2"] * 1001)).encode(), "x.csv", r"too big: 1001 columns"),
    (b"0" * (10 * 1024 * 1024 + 1), "x.csv", r"too big: 10\.0 MiB; at most 10 MiB"),
    (npy_bytes(np.array([{"a": 1}, {"b": 2}], dtype=object), allow_pickle=True), "x.npy", r"pickle"),
    (npy_bytes(TABLE.astype(complex)), "x.npy", r"real numbers.*complex"),
    (npy_bytes(np.array(["a", "b"])), "x.npy", r"real numbers"),
    (npy_bytes(np.array([True, False])), "x.npy", r"real numbers"),
    (npy_bytes(np.arange(5.0)), "x.npy", r"2-D table.*1 dimension"),
    (npy_bytes(np.zeros((2, 2, 2))), "x.npy", r"2-D table.*3 dimension"),
    (npy_bytes(np.ones((1, 4))), "x.npy", r"at least 2 samples"),
    (npy_bytes(np.full((3, 2), np.nan)), "x.npy", r"finite"),
    (npy_bytes(np.zeros((5001, 1))), "x.npy", r"too big"),
    (npy_bytes(TABLE)[:-7], "x.npy", r"not a readable \.npy"),
    (b"\x93NUMPY\x01\x00garbage", "x.npy", r"not a readable \.npy"),
]


@pytest.mark.parametrize("data, filename, message", BAD_UPLOADS,
                         ids=[f"{i}-{m or 'fine'}"[:40] for i, (_, _, m) in enumerate(BAD_UPLOADS)])
def test_a_bad_file_is_refused_with_a_message_saying_what_is_wrong(data, filename, message):
    if message is None:
        assert parse_upload(data, filename).X.shape == (2, 3)
        return
    with pytest.raises(ValueError, match=message):
        parse_upload(data, filename)


def test_an_upload_is_read_in_memory_and_never_written_to_disk(monkeypatch):
    def no_files(*args, **kwargs):
        raise AssertionError("parse_upload opened a file")
    monkeypatch.setattr(builtins, "open", no_files)
    monkeypatch.setattr(io, "open", no_files)
    parse_upload(b"1,2\n3,4\n5,7\n", "x.csv")
    parse_upload(npy_bytes(TABLE), "x.npy")


@pytest.mark.parametrize("data, filename, name", [("1,2\n3,4", "x.csv", "data"), (b"1,2\n3,4", None, "filename"),
                                                   (b"1,2\n3,4", 3, "filename")])
def test_parse_upload_argument_types(data, filename, name):
    with pytest.raises(ValueError, match=name):
        parse_upload(data, filename)


# --------------------------------------------------------------------------- reference PCA


def test_reference_pca_is_the_eigendecomposition_of_x_xt(digits_data):
    exact, randomized = reference_pca(digits_data.X, 8)
    E, V = np.linalg.eigh(digits_data.X @ digits_data.X.T)
    np.testing.assert_allclose(exact.eigenvalues, E[::-1][:8], rtol=1e-10)
    np.testing.assert_allclose(np.abs(exact.directions.T @ V[:, ::-1][:, :8]), np.eye(8), atol=1e-8)
    # randomized SVD: close, not exact
    np.testing.assert_allclose(randomized.eigenvalues, exact.eigenvalues, rtol=1e-3)
    assert largest_principal_angle(randomized.directions, exact.directions) < 0.05
    assert exact.seconds > 0 and randomized.seconds > 0
    assert exact.method == "numpy.linalg.svd" and randomized.method == "sklearn randomized_svd"
    # each direction signed so that its largest-magnitude entry is positive
    for U in (exact.directions, randomized.directions):
        assert (U[np.argmax(np.abs(U), axis=0), np.arange(8)] > 0).all()


@pytest.mark.parametrize("bad, name", [(dict(X=[[np.nan, 1.0]]), "X"), (dict(k=0), "k"), (dict(k=4), "k"),
                                       (dict(seed=-2), "seed")])
def test_reference_pca_validation(bad, name):
    args = dict(X=np.random.default_rng(0).normal(size=(3, 10)), k=2)
    args.update(bad)
    with pytest.raises(ValueError, match=name):
        reference_pca(args.pop("X"), args.pop("k"), **args)


# --------------------------------------------------------------------------- error metrics


@pytest.mark.parametrize("theta", [0.0, 1e-9, 1e-5, 0.3, math.pi / 2])
def test_largest_principal_angle_of_a_subspace_turned_by_a_known_angle(theta):
    U = orthonormal(7, 4, seed=1)
    k = 3
    # turn the k-th direction towards the (k+1)-th by θ, and mix the decoder's columns
    turned = U[:, :k].copy()
    turned[:, k - 1] = math.cos(theta) * U[:, k - 1] + math.sin(theta) * U[:, k]
    W2 = turned @ np.array([[0.9, 0.1, 0.0], [0.2, 0.5, 0.3], [0.0, 0.4, 0.2]])
    angle = largest_principal_angle(W2, U)
    assert angle == pytest.approx(theta, rel=1e-6, abs=1e-14)


def test_direction_cosines_and_the_authors_error_of_known_directions():
    U = orthonormal(6, 3, seed=2)
    theta = 0.2
    Uh = U.copy()
    Uh[:, 1] = -(math.cos(theta) * U[:, 1] + math.sin(theta) * U[:, 2])   # turned, and flipped
    Uh[:, 2] = math.cos(theta) * U[:, 2] - math.sin(theta) * U[:, 1]
    W2 = Uh * np.array([0.9, 0.6, 0.3])                # distinct singular values keep the order
    np.testing.assert_allclose(direction_cosines(W2, U), [1.0, math.cos(theta), math.cos(theta)], atol=1e-12)
    # Σᵢ min(‖uᵢ − ûᵢ‖, ‖uᵢ + ûᵢ‖): 0 + 2 sin(θ/2) + 2 sin(θ/2)
    assert authors_svd_error(W2, U) == pytest.approx(4 * math.sin(theta / 2), rel=1e-12)
    # a subspace-only error: the span is right, so the angle is 0 but the directions are not
    assert largest_principal_angle(W2, U) == pytest.approx(0.0, abs=1e-12)


def test_decoder_directions_are_the_svd_of_the_decoder():
    U = orthonormal(5, 2, seed=3)
    O = np.array([[0.6, -0.8], [0.8, 0.6]])
    W2 = U * np.array([0.8, 0.5]) @ O.T                # Table 1's W2 = U_k S Oᵀ
    directions, s = decoder_directions(W2)
    np.testing.assert_allclose(s, [0.8, 0.5], rtol=1e-12)
    np.testing.assert_allclose(np.abs(directions.T @ U), np.eye(2), atol=1e-12)


def test_the_alignment_heat_map_of_table_1_decoders():
    U = orthonormal(6, 6, seed=4)
    sigma2, lam, k = np.array([9.0, 5.0, 3.0, 2.0, 1.0, 0.5]), 1.2, 3
    O = orthonormal(3, 3, seed=5)
    # sum loss (Table 1): W2 = U_k (I − λΣ⁻²)^{1/2} Oᵀ learns the directions: the identity
    W2 = U[:, :k] * np.sqrt(1 - lam / sigma2[:k]) @ O.T
    heat = alignment(W2, U)
    assert heat.shape == (3, 6)
    np.testing.assert_allclose(heat, np.eye(3, 6), atol=1e-12)
    # unregularized (Table 1): W2 = U_k G⁺ learns only the subspace: a full orthogonal block
    G = np.array([[1.0, 0.5, 0.0], [0.2, 1.0, 0.3], [0.0, 0.4, 1.0]])
    heat = alignment(U[:, :k] @ np.linalg.pinv(G), U)
    np.testing.assert_allclose(heat[:, k:], 0.0, atol=1e-12)
    np.testing.assert_allclose((heat[:, :k] ** 2).sum(axis=0), 1.0, atol=1e-12)   # an orthogonal matrix's squares
    assert (heat[:, :k] < 1 - 1e-3).sum() >= 4                                     # not the identity


def test_over_regularized_sum_loss_leaves_a_noise_block_and_the_synthetic_loss_removes_it():
    data = over_regularized(seed=0)
    k, lam = 8, 10.0
    m0 = surviving_directions(data.eigenvalues, lam)           # σᵢ² > 10: σᵢ ≥ 3.2, i ≤ 5
    assert m0 == 5
    run = solvers.solve("exact_sync", data.X, k, lam, max_iter=5000, tol=1e-12)
    heat = alignment(run.W2[-1], data.directions[:, :k])
    np.testing.assert_allclose(heat[:m0, :m0], np.eye(m0), atol=1e-6)
    block = heat[m0:, m0:]
    assert np.diag(block).max() < 0.9 and block.max() < 1 - 1e-3   # arbitrary: no direction found
    w_sigma = 0.1
    assert surviving_directions(data.eigenvalues, lam, kind="synthetic", w_sigma=w_sigma) >= k
    run = solvers.solve("exact_sync", data.X, k, lam, kind="synthetic", w_sigma=w_sigma, max_iter=5000, tol=1e-12)
    np.testing.assert_allclose(alignment(run.W2[-1], data.directions[:, :k]), np.eye(k), atol=1e-6)
    # and its decoder gives back the eigenvalues: σ² = λ/(1 − s²) − w_πλ
    s = np.linalg.svd(run.W2[-1], compute_uv=False)
    np.testing.assert_allclose(solvers.recovered_eigenvalues(s, lam, kind="synthetic", w_sigma=w_sigma),
                               data.eigenvalues[:k], rtol=1e-8)


def test_surviving_directions_counts_sigma_squared_above_the_weight_penalty():
    ev = [16.0, 9.0, 4.0, 1.0]
    assert surviving_directions(ev, 4.0) == 2                     # σ² = λ collapses
    assert surviving_directions(ev, 4.0, kind="synthetic", w_sigma=0.5) == 3
    assert surviving_directions(ev, 100.0, kind="product") == 4
    assert surviving_directions(ev, 0.0) == 4


@pytest.mark.parametrize("call, name", [
    (lambda: largest_principal_angle(np.ones((3, 4)), np.eye(3)), "W2"),
    (lambda: largest_principal_angle(np.ones((3, 2)), np.eye(3)[:, :1]), "U"),
    (lambda: direction_cosines(np.ones((3, 2)), np.ones((3, 2))), "U"),
    (lambda: authors_svd_error(np.ones((3, 2)), np.eye(4)[:, :2]), "U"),
    (lambda: alignment([[np.nan], [1.0]], np.eye(2)), "W2"),
    (lambda: decoder_directions(np.ones((2, 3))), "W2"),
    (lambda: surviving_directions([-1.0], 1.0), "eigenvalues"),
    (lambda: surviving_directions([1.0], 1.0, kind="synthetic"), "w_sigma"),
    (lambda: surviving_directions([1.0], -1.0), "lam"),
])
def test_metric_validation_errors_name_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()


# --------------------------------------------------------------------------- the synthetic loss


@pytest.mark.parametrize("w_sigma", [0.0, 0.3, 1.0])
def test_synthetic_loss_is_the_weighted_sum_and_its_gradient_is_the_finite_difference(w_sigma):
    rng = np.random.default_rng(6)
    X, W1, W2, lam = rng.normal(size=(4, 7)), rng.normal(size=(2, 4)), rng.normal(size=(4, 2)), 0.8
    assert landscape.loss("synthetic", X, lam, W1, W2, w_sigma=w_sigma) == pytest.approx(
        paper_loss("synthetic", X, lam, W1, W2, w_sigma), rel=1e-12)
    if w_sigma == 1.0:
        assert landscape.loss("synthetic", X, lam, W1, W2, w_sigma=1.0) == pytest.approx(
            landscape.loss("sum", X, lam, W1, W2), rel=1e-14)
    if w_sigma == 0.0:
        assert landscape.loss("synthetic", X, lam, W1, W2, w_sigma=0.0) == pytest.approx(
            landscape.loss("product", X, lam, W1, W2), rel=1e-14)
    dW1, dW2 = landscape.gradient("synthetic", X, lam, W1, W2, w_sigma=w_sigma)
    h = 1e-6
    for W, dW, which in ((W1, dW1, 0), (W2, dW2, 1)):
        for idx in np.ndindex(W.shape):
            plus, minus = [W1.copy(), W2.copy()], [W1.copy(), W2.copy()]
            plus[which][idx] += h
            minus[which][idx] -= h
            fd = (paper_loss("synthetic", X, lam, *plus, w_sigma) - paper_loss("synthetic", X, lam, *minus, w_sigma)) / (2 * h)
            assert dW[idx] == pytest.approx(fd, rel=1e-6, abs=1e-6)


@pytest.mark.parametrize("call, name", [
    (lambda: landscape.loss("synthetic", [[1.0]], 0.5, [[1.0]], [[1.0]]), "w_sigma"),
    (lambda: landscape.loss("synthetic", [[1.0]], 0.5, [[1.0]], [[1.0]], w_sigma=1.5), "w_sigma"),
    (lambda: landscape.loss("sum", [[1.0]], 0.5, [[1.0]], [[1.0]], w_sigma=0.5), "w_sigma"),
    (lambda: landscape.gradient("synthetic", [[1.0]], 0.5, [[1.0]], [[1.0]], w_sigma="half"), "w_sigma"),
    (lambda: landscape.gradient("synthetc", [[1.0]], 0.5, [[1.0]], [[1.0]]), "kind"),
])
def test_synthetic_loss_validation(call, name):
    with pytest.raises(ValueError, match=name):
        call()


# --------------------------------------------------------------------------- LAE-PCA on digits


def test_lae_pca_on_digits_reaches_pcas_directions_and_eigenvalues(digits_data):
    exact, _ = reference_pca(digits_data.X, 8)
    lam = suggested_lam(exact.eigenvalues, 8)
    directions, eigenvalues = solvers.lae_pca(digits_data.X, 8, lam, max_iter=500, tol=1e-12)
    assert largest_principal_angle(directions, exact.directions) <= 1e-4
    np.testing.assert_allclose(np.abs(np.sum(directions * exact.directions, axis=0)), 1.0, atol=1e-7)
    np.testing.assert_allclose(eigenvalues, exact.eigenvalues, rtol=1e-6)


# --------------------------------------------------------------------------- the race


def test_a_race_on_digits_reaches_the_targets_and_records_every_iteration(digits_data):
    exact, _ = reference_pca(digits_data.X, 8)
    run = race("exact_sync", 8, 1.0, X=digits_data.X, target_angle=1e-4, target_relative_error=1e-6,
               max_iter=1000)
    assert run.status == "reached" and run.message.startswith("reached the targets after")
    T = len(run.iterations)
    np.testing.assert_array_equal(run.iterations, np.arange(T))
    assert run.largest_angle[-1] <= 1e-4 and run.relative_error[-1] <= 1e-6
    assert (run.largest_angle[:-1] > 1e-4).any() or (run.relative_error[:-1] > 1e-6).any()
    for a in (run.seconds, run.loss, run.transpose_gap, run.largest_angle, run.authors_error):
        assert a.shape == (T,)
    assert run.cosines.shape == (T, 8) and run.eigenvalues.shape == (T, 8)
    assert np.all(np.diff(run.seconds) >= 0) and run.seconds[0] > 0 and run.metric_seconds > 0
    # the metrics are those of the last decoder, against the exact PCA
    assert run.largest_angle[-1] == pytest.approx(largest_principal_angle(run.W2, exact.directions), abs=1e-12)
    assert run.authors_error[-1] == pytest.approx(authors_svd_error(run.W2, exact.directions), abs=1e-9)
    np.testing.assert_allclose(run.transpose_gap[-1], np.linalg.norm(run.W1 - run.W2.T))
    rel = np.abs(run.eigenvalues[-1] - exact.eigenvalues) / exact.eigenvalues
    assert rel.max() == pytest.approx(run.relative_error[-1], rel=1e-6)


@pytest.mark.parametrize("method", ["untied_gd", "exact_untied", "exact_tied_averaged"])
def test_a_race_runs_the_solvers_iterates(method):
    data = over_regularized(seed=1)
    kw = dict(max_iter=40, tol=0.0, seed=2)
    run = race(method, 4, 2.0, X=data.X, **kw)
    same = solvers.solve(method, data.X, 4, 2.0, **kw)
    np.testing.assert_allclose(run.loss, same.loss, rtol=1e-12)
    np.testing.assert_allclose(run.W2, same.W2[-1], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(run.transpose_gap, same.transpose_gap, rtol=1e-10, atol=1e-15)
    assert (run.status, run.message) == (same.status, same.message)
    # given A = X Xᵀ instead of X: the same run
    byA = race(method, 4, 2.0, A=data.X @ data.X.T, **kw)
    np.testing.assert_allclose(byA.W2, run.W2, rtol=1e-9, atol=1e-12)


def test_a_race_of_a_loss_without_eigenvalues_records_none():
    data = over_regularized(seed=1)
    run = race("exact_sync", 4, 2.0, X=data.X, kind="product", max_iter=20)
    assert run.eigenvalues is None and run.relative_error is None
    with pytest.raises(ValueError, match="target_relative_error"):
        race("exact_sync", 4, 2.0, X=data.X, kind="product", target_relative_error=1e-3)


def test_a_race_in_a_worker_thread_reports_progress_and_stops_when_cancelled(digits_data):
    cancel = threading.Event()
    fractions = []

    def progress(fraction):
        fractions.append(fraction)
        cancel.set()                       # the page's Cancel, pressed at the first report

    result = {}
    worker = threading.Thread(target=lambda: result.setdefault(
        "run", race("untied_gd", 8, 1.0, X=digits_data.X, max_iter=10**7, tol=0.0, progress=progress, cancel=cancel)))
    worker.start()
    worker.join(timeout=60)
    assert not worker.is_alive(), "the race did not stop when cancelled"
    run = result["run"]
    assert run.status == "cancelled" and run.cancelled and run.message.startswith("cancelled after")
    assert 1 <= len(fractions) <= 2 and all(0 <= f < 1e-3 for f in fractions)
    assert len(run.iterations) > 1 and np.isfinite(run.largest_angle).all()


def test_a_race_reports_progress_up_to_one():
    data = over_regularized(seed=1)
    fractions = []
    race("untied_gd", 4, 2.0, X=data.X, max_iter=300, tol=0.0, progress=fractions.append)
    assert fractions[-1] == 1.0 and fractions == sorted(fractions)
    assert all(0.0 <= f <= 1.0 for f in fractions)
    assert fractions[0] == 1 / 300                     # the first step is reported at once


def test_a_race_streams_its_start_and_first_step_at_once(digits_data):
    pieces = []
    run = race("untied_gd", 8, 11.0, X=digits_data.X, max_iter=5, tol=0.0, stream=pieces.append)
    np.testing.assert_array_equal(pieces[0]["iteration"], [0, 1])      # the start and the first step
    assert sum(len(p["iteration"]) for p in pieces) == len(run.iterations) == 6


def test_a_race_streams_its_rows_and_the_pieces_are_the_races_columns(digits_data):
    pieces = []
    run = race("untied_gd", 8, 11.0, X=digits_data.X, max_iter=3000, tol=0.0, stream=pieces.append)
    assert len(pieces) >= 2                              # 3000 steps take more than one report's 0.1 s
    joined = {key: np.concatenate([p[key] for p in pieces]) for key in pieces[0]}
    np.testing.assert_array_equal(joined["iteration"], np.arange(3001))
    for key, column in [("seconds", run.seconds), ("loss", run.loss), ("transpose_gap", run.transpose_gap),
                        ("largest_angle", run.largest_angle), ("authors_error", run.authors_error),
                        ("relative_error", run.relative_error)]:
        np.testing.assert_array_equal(joined[key], column, err_msg=key)
    assert np.all(np.diff(joined["seconds"]) >= 0)


def test_a_race_without_eigenvalues_streams_none_for_them():
    pieces = []
    run = race("exact_sync", 4, 2.0, X=over_regularized(seed=1).X, kind="unregularized", max_iter=50,
               stream=pieces.append)
    assert all(p["relative_error"] is None for p in pieces)
    assert sum(len(p["iteration"]) for p in pieces) == len(run.iterations)


def test_a_race_cancelled_before_it_starts_keeps_the_start():
    data = over_regularized(seed=1)
    cancel = threading.Event()
    cancel.set()
    run = race("untied_gd", 4, 2.0, X=data.X, cancel=cancel)
    assert run.status == "cancelled" and len(run.iterations) == 1


@pytest.mark.parametrize("bad, name", [
    (dict(X=None), "X or A"),
    (dict(A=np.eye(20)), "X or A"),
    (dict(X=None, A=np.ones((20, 19))), "A"),
    (dict(X=None, A=np.triu(np.ones((20, 20)))), "symmetric"),
    (dict(X=None, A=-np.eye(20)), "positive semi-definite"),
    (dict(X=None, A=np.eye(20), batch_size=3), "batch_size"),
    (dict(reference=(np.eye(20)[:, :2], [1.0, 1.0])), "reference"),
    (dict(reference=(np.ones((20, 4)), [1.0] * 4)), "reference"),
    (dict(reference=(np.eye(20)[:, :4], [1.0, 0.0, 1.0, 1.0])), "reference"),
    (dict(reference="pca"), "reference"),
    (dict(target_angle=0.0), "target_angle"),
    (dict(target_relative_error=-1.0), "target_relative_error"),
    (dict(progress="yes"), "progress"),
    (dict(cancel=True), "cancel"),
    (dict(stream="rows"), "stream"),
    (dict(method="svd"), "method"),
    (dict(k=0), "k"),
    (dict(kind="synthetic"), "w_sigma"),
])
def test_race_validation_errors_name_the_argument(bad, name):
    args = dict(method="exact_sync", k=4, lam=2.0, X=over_regularized(seed=1).X)
    args.update(bad)
    with pytest.raises(ValueError, match=name):
        race(args.pop("method"), args.pop("k"), args.pop("lam"), **args)
