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
