"""The simplex least-squares solver behind every synth estimator (Wolfe's algorithm).

Expected values come from an independent solver (scipy's Lawson-Hanson NNLS on
the problem with the sum-to-one constraint as a heavily weighted extra row) and
from constructions whose answer is known by hand.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import nnls

from effekt.synth._weights import simplex_lstsq, solve_simplex


def _objective(a, b, eta, w):
    r = a @ w - b
    return float(r @ r + eta * w @ w)


def _reference(a, b, eta):
    # independent solver: NNLS with the equality as a row of weight M (error O(1/M^2))
    j = a.shape[1]
    m = 1e4
    aa = np.vstack([a, np.sqrt(eta) * np.eye(j), m * np.ones((1, j))])
    bb = np.concatenate([b, np.zeros(j), [m]])
    w, _ = nnls(aa, bb, maxiter=50 * j)
    return w / w.sum()


@pytest.mark.parametrize("seed", range(40))
def test_matches_independent_nnls_solution(seed):
    rng = np.random.default_rng(seed)
    k, j = int(rng.integers(2, 20)), int(rng.integers(2, 50))
    a = rng.normal(size=(k, j))
    b = rng.normal(size=k) * rng.uniform(0, 2)
    eta = 0.0 if seed % 2 else float(rng.uniform(0, 1))
    w = simplex_lstsq(a, b, eta)
    assert w.min() >= 0 and w.sum() == pytest.approx(1.0, abs=1e-12)
    # never worse than the reference, and the reference is (near) optimal
    assert _objective(a, b, eta, w) <= _objective(a, b, eta, _reference(a, b, eta)) + 1e-9


def test_vertex_and_edge_solutions_by_hand():
    # donors at (0,0), (1,0), (0,1); target (0.25, 0.25) is inside the triangle:
    # the unique convex combination is 0.5, 0.25, 0.25
    a = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    np.testing.assert_allclose(simplex_lstsq(a, np.array([0.25, 0.25])), [0.5, 0.25, 0.25])
    # target (2, 2) lies beyond the edge between (1,0) and (0,1): nearest point (0.5, 0.5)
    np.testing.assert_allclose(simplex_lstsq(a, np.array([2.0, 2.0])), [0.0, 0.5, 0.5])
    # target (-1, -1) is nearest to the vertex (0, 0)
    np.testing.assert_allclose(simplex_lstsq(a, np.array([-1.0, -1.0])), [1.0, 0.0, 0.0])


def test_ridge_spreads_weight_over_identical_donors():
    # two identical donors: without ridge any split is optimal; ridge makes it 50/50
    a = np.array([[1.0, 1.0], [2.0, 2.0]])
    np.testing.assert_allclose(simplex_lstsq(a, np.array([1.0, 2.0]), eta=0.1), [0.5, 0.5])


def test_many_donors_few_predictors_is_exact_and_sparse():
    rng = np.random.default_rng(3)
    a = rng.normal(size=(5, 2000))
    w_true = np.zeros(2000)
    w_true[[3, 70, 900]] = [0.2, 0.5, 0.3]
    w = simplex_lstsq(a, a @ w_true)
    assert np.sum((a @ w - a @ w_true) ** 2) < 1e-18
    assert (w > 0).sum() <= 6  # Caratheodory: at most K + 1 donors


def test_warm_start_gives_the_same_solution():
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=(6, 30)), rng.normal(size=6)
    p = a - b[:, None]
    w = solve_simplex(p)
    np.testing.assert_allclose(solve_simplex(p, start=np.flatnonzero(w)), w, atol=1e-12)
    np.testing.assert_allclose(solve_simplex(p, start=np.array([0, 1, 2])), w, atol=1e-10)


@settings(max_examples=60, deadline=None)
@given(
    k=st.integers(2, 8),
    j=st.integers(2, 12),
    seed=st.integers(0, 2**32 - 1),
)
def test_property_weights_on_simplex_and_convex_combination_recovered(k, j, seed):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(k, j))
    w = simplex_lstsq(a, rng.normal(size=k) * 3)
    assert np.all(w >= 0) and abs(w.sum() - 1) < 1e-12
    # a target that is a convex combination of the donors is matched exactly
    true = rng.dirichlet(np.ones(j))
    fit = simplex_lstsq(a, a @ true)
    assert np.sum((a @ fit - a @ true) ** 2) < 1e-16 * max(1.0, float(np.sum(a**2)))


@pytest.mark.parametrize("eta", [1e-3, 0.5])
def test_dense_ridge_path_matches_independent_solution(eta):
    # more than 200 donors with a ridge term goes to accelerated projected gradient
    rng = np.random.default_rng(9)
    a, b = rng.normal(size=(12, 300)), rng.normal(size=12)
    w = simplex_lstsq(a, b, eta)
    assert w.min() >= 0 and w.sum() == pytest.approx(1.0, abs=1e-12)
    assert _objective(a, b, eta, w) <= _objective(a, b, eta, _reference(a, b, eta)) + 1e-9
