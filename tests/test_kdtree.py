"""The compiled k-d tree (stations.index._kdtree) against brute force and scipy's cKDTree."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from scipy.spatial import cKDTree

from stations.index._kdtree import KDTree


def unit(rng, n):
    p = rng.normal(size=(n, 3))
    return p / np.linalg.norm(p, axis=1)[:, None]


def brute(pts, q, k, ub=np.inf, mask=None):
    d = np.sqrt(((pts - q) ** 2).sum(axis=1))
    ok = d < ub
    if mask is not None:
        ok &= mask
    idx = np.flatnonzero(ok)
    idx = idx[np.lexsort((idx, d[idx]))][:k]
    return d[idx], idx


@settings(max_examples=60, deadline=None)
@given(n=st.integers(0, 300), k=st.integers(1, 20), seed=st.integers(0, 2**32 - 1),
       dup=st.booleans(), masked=st.booleans(), ub=st.sampled_from([np.inf, 0.05, 0.5]))
def test_same_distances_as_brute_force(n, k, seed, dup, masked, ub):
    rng = np.random.default_rng(seed)
    pts = unit(rng, n)
    if dup and n > 4:  # many stations at the same few positions
        pts = pts[rng.integers(0, 4, n)]
    mask = rng.random(n) < 0.5 if masked else None
    tree = KDTree(pts, leafsize=4)
    for q in unit(rng, 5):
        found, d, ids, xyz = tree.query(*q, k, ub, None if mask is None else tree.tree_order(mask))
        want_d, want_i = brute(pts, q, k, ub, mask)
        assert found == len(want_d)
        np.testing.assert_allclose(d, want_d, rtol=0, atol=1e-15)
        np.testing.assert_array_equal(xyz, pts[ids])  # ids and points agree
        # Among equal distances the order is free; the set is not (unless tied at the k-th).
        if found and (found == n or (mask is not None and found == mask.sum()) or
                      brute(pts, q, k + 1, ub, mask)[0][-1] > want_d[-1]):
            assert sorted(ids.tolist()) == sorted(want_i.tolist())


def test_matches_scipy_on_200k_points():
    rng = np.random.default_rng(1)
    pts = unit(rng, 200_000)
    tree, ref = KDTree(pts), cKDTree(pts)
    qs = pts[rng.integers(0, len(pts), 300)] + 1e-5
    for q in qs:
        found, d, ids, _ = tree.query(*q, 6)
        rd, ri = ref.query(q, 6)
        assert found == 6 and ids.tolist() == ri.tolist() and d.tolist() == rd.tolist()
    d, ids = tree.query_many(qs, 6)
    rd, ri = ref.query(qs, 6)
    np.testing.assert_array_equal(ids, ri)
    np.testing.assert_array_equal(d, rd)


def test_ids_are_returned_instead_of_positions_and_missing_are_minus_one():
    pts = np.array([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0]])
    tree = KDTree(pts, ids=np.array([70, 71, 72]))
    found, d, ids, _ = tree.query(1.0, 0.0, 0.0, 5)
    assert found == 3 and ids[0] == 70 and sorted(ids[1:].tolist()) == [71, 72]
    assert d[0] == 0.0 and d[1] == pytest.approx(np.sqrt(2))
    d, ids = tree.query_many(np.array([[1.0, 0, 0]]), 5, ub=0.5)
    assert ids.tolist() == [[70, -1, -1, -1, -1]] and d[0, 1] == np.inf


def test_budget_gives_up_when_eligible_points_are_locally_rare():
    rng = np.random.default_rng(2)
    pts = unit(rng, 50_000)
    mask = pts[:, 2] > 0.9  # only near the north pole
    tree = KDTree(pts)
    m = tree.tree_order(mask)
    assert tree.query(0.0, 0.0, -1.0, 5, mask=m, budget=1000)[0] == -1  # from the south pole
    found, d, ids, _ = tree.query(0.0, 0.0, -1.0, 5, mask=m)
    assert found == 5 and mask[ids].all()


def test_bad_shape_is_refused():
    with pytest.raises(ValueError, match=r"shape \(n, 3\)"):
        KDTree(np.zeros((4, 2)))
