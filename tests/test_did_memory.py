"""Clustered influence sums by blocks of columns give exactly the whole-matrix numbers.

``analysis.did.influence`` sums influence functions within clusters a block of
``CLUSTER_BLOCK`` columns at a time to bound memory at national size. With a block
wider than the matrix the computation is the one-pass grouped sum it replaced;
every estimate, standard error and band must be bit-for-bit the same.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis import aggte, att_gt
from analysis.did import influence as influence_module
from tests.test_did import dgp


def _everything(data, bstrap):
    result = att_gt(data, "y", "t", "id", "g", cluster="hh", bstrap=bstrap, biters=49, seed=5)
    out = {"cells": result.table, "pretest": pd.DataFrame([result.pretest])}
    for kind in ("simple", "group", "dynamic", "calendar"):
        out[kind] = aggte(result, kind).summary()
    return out


@pytest.mark.parametrize("bstrap", [False, True])
def test_blocked_cluster_sums_change_no_number(monkeypatch, bstrap):
    data = dgp(seed=3, n=900, periods=9, cohorts=(0, 4, 5, 6, 7))
    monkeypatch.setattr(influence_module, "CLUSTER_BLOCK", 10_000)
    whole = _everything(data, bstrap)
    assert len(whole["cells"]) > 2 * 3  # more cells than the small blocks below
    monkeypatch.setattr(influence_module, "CLUSTER_BLOCK", 3)
    blocked = _everything(data, bstrap)
    for name, frame in whole.items():
        pd.testing.assert_frame_equal(frame, blocked[name], check_exact=True, obj=name)


def test_cluster_sums_by_block_equal_the_grouped_sum():
    rng = np.random.default_rng(0)
    influence = np.asfortranarray(rng.normal(size=(500, 37)))
    clusters = rng.integers(0, 60, 500)
    expected = pd.DataFrame(influence).groupby(clusters).sum().to_numpy()
    got = influence_module.cluster_sums(influence, clusters)
    assert np.array_equal(expected, got)
    assert (
        influence_module.standard_errors(influence, clusters, 500).tolist()
        == (np.sqrt((expected**2).sum(axis=0)) / 500).tolist()
    )


def test_wild_bootstrap_blocks_of_units_give_the_whole_matrix_result(monkeypatch):
    # The bootstrap's Gram matrix of the period dummies is summed over blocks of units
    # (a units × periods float matrix was most of its memory at national size): the
    # same as the whole-matrix product of before, on an unbalanced panel with units
    # nested in clusters, blocks of a few units.
    from analysis.did import inference
    from analysis.did import panel as panel_module

    rng = np.random.default_rng(5)
    units, periods = 300, 9
    frame = pd.DataFrame(
        {
            "unit": np.repeat(np.arange(units), periods),
            "t": np.tile(np.arange(periods), units),
            "area": np.repeat(rng.integers(0, 7, units), periods),
        }
    )
    frame = frame.loc[rng.random(len(frame)) > 0.15].reset_index(drop=True)
    frame["treated"] = ((frame["area"] < 3) & (frame["t"] >= 4)).astype(int)
    frame["y"] = rng.normal(size=len(frame)) + 0.3 * frame["treated"]
    unit = pd.factorize(frame["unit"])[0]
    time = pd.factorize(frame["t"])[0]
    groups = np.unique(frame["area"], return_inverse=True)[1]
    y = inference._two_way_demean(frame["y"].to_numpy(float), unit, time)
    d = inference._two_way_demean(frame["treated"].to_numpy(float), unit, time)
    # The whole-matrix computation the blocks replace.
    T, G = periods, 7
    D, E = np.zeros((T, G)), np.zeros((T, G))
    np.add.at(D, (time, groups), d)
    np.add.at(E, (time, groups), y)
    observed = np.zeros((units, T))
    observed[unit, time] = 1.0
    gram = np.diag(observed.sum(axis=0)) - (observed / observed.sum(axis=1)[:, None]).T @ observed
    whole = np.diag(np.bincount(groups, d * y, G)) - D[1:].T @ np.linalg.solve(gram[1:, 1:], E[1:])
    monkeypatch.setattr(panel_module, "CHUNK", 64)
    blocks = inference._projected_cross_products(y, d, unit, time, groups, G)
    # The cluster sums of products, chunk by chunk, are bincount's to the last bit.
    assert (inference._cluster_sums(groups, G, d, y) == np.bincount(groups, d * y, G)).all()
    beta = 0.37
    expected = np.bincount(groups, d * (y - beta * d), G)
    assert (inference._cluster_sums(groups, G, d, y, beta) == expected).all()
    np.testing.assert_allclose(blocks, whole, rtol=0, atol=1e-12 * np.abs(whole).max())
    # And the bootstrap's p-value is unchanged by the block size.
    full = inference.wild_bootstrap(frame, "y", "t", "unit", "treated", "area", reps=99, seed=2)
    monkeypatch.setattr(panel_module, "CHUNK", 1 << 21)
    again = inference.wild_bootstrap(frame, "y", "t", "unit", "treated", "area", reps=99, seed=2)
    # (The demeaning's chunked sums move β in its last bits.)
    assert full.p_value == again.p_value and full.att == pytest.approx(again.att, rel=1e-12)
    np.testing.assert_allclose(full.t_star, again.t_star, rtol=1e-12)
