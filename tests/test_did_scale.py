"""The estimators' national-size internals give today's numbers.

``att_gt`` keeps the never-treated units' influence as linear functions of their
outcomes (``analysis.did.influence.Influence``) instead of a units × cells matrix;
``twfe`` demeans a balanced panel in closed form, chunk by chunk, and codes ids
through lookup tables (``analysis.did.panel``). Each is compared here with the
computation it replaced: the dense influence matrix (``BY_SUMS = False``), the
alternating projections, ``pd.factorize`` and a hash-based duplicate check.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.did import aggte, att_gt, panel, twfe
from analysis.did import attgt as attgt_module
from analysis.did.checks import EstimationError


def _data(seed=0, n=1200, periods=10, holes=False):
    rng = np.random.default_rng(seed)
    ids = np.repeat(np.arange(n), periods)
    t = np.tile(np.arange(1, periods + 1), n)
    g = rng.choice([0, 0, 0, 4, 6, 8], n)[ids]
    y = (
        rng.normal(size=n)[ids]
        + 0.1 * t
        + rng.normal(size=n * periods)
        + 0.5 * ((g > 0) & (t >= g))
    )
    data = pd.DataFrame(
        {
            "id": ids.astype(np.int32),
            "t": t.astype(np.int32),
            "y": y,
            "g": g,
            "d": ((g > 0) & (t >= g)).astype(int),
            "hh": ids // 3,
            "w": rng.uniform(0.5, 2.0, n)[ids],
        }
    )
    if holes:  # some enrolled units miss a quarter: unbalanced where the sums allow it
        data = data[~((data["g"] > 0) & (data["t"] == 3) & (data["id"] % 5 == 0))]
    return data.sample(frac=1.0, random_state=seed).reset_index(drop=True)


def _everything(data, **options):
    result = att_gt(data, "y", "t", "id", "g", **options)
    out = {"cells": result.table, "pretest": result.pretest}
    for kind in ("simple", "group", "dynamic", "calendar"):
        out[kind] = aggte(result, kind).summary()
    return result, out


@pytest.mark.parametrize("control_group", ["nevertreated", "notyettreated"])
@pytest.mark.parametrize("cluster", [None, "hh"])
@pytest.mark.parametrize("holes", [False, True])
def test_influence_by_sums_gives_the_dense_numbers(monkeypatch, control_group, cluster, holes):
    data = _data(holes=holes)
    options = dict(
        control_group=control_group, cluster=cluster, weights="w", bstrap=True, biters=49
    )
    by_sums, ours = _everything(data, **options)
    assert isinstance(by_sums.influence, attgt_module.Influence)
    monkeypatch.setattr(attgt_module, "BY_SUMS", False)
    dense, theirs = _everything(data, **options)
    assert isinstance(dense.influence, np.ndarray)
    np.testing.assert_allclose(np.asarray(by_sums.influence), dense.influence, atol=1e-10)
    for name, frame in ours.items():
        if name == "pretest":
            assert frame["df"] == theirs[name]["df"]
            np.testing.assert_allclose(frame["statistic"], theirs[name]["statistic"], rtol=1e-10)
            continue
        pd.testing.assert_frame_equal(frame, theirs[name], check_exact=False, rtol=1e-10)


def test_a_never_treated_unit_with_a_missing_quarter_takes_the_dense_path():
    data = _data()
    never = data.loc[data["g"] == 0, "id"].min()
    data = data[~((data["id"] == never) & (data["t"] == 5))]
    result = att_gt(data, "y", "t", "id", "g", cluster="hh")
    assert isinstance(result.influence, np.ndarray)


def test_cluster_sums_of_the_pieces_equal_those_of_the_matrix():
    result = att_gt(_data(), "y", "t", "id", "g", cluster="hh")
    dense = np.asarray(result.influence)
    expected = pd.DataFrame(dense).groupby(result.unit_clusters).sum().to_numpy()
    got = attgt_module.cluster_sums(result.influence, result.unit_clusters)
    np.testing.assert_allclose(got, expected, atol=1e-9)
    assert result.influence[:, [1, 3]].shape == (dense.shape[0], 2)
    np.testing.assert_allclose(np.asarray(result.influence[:, [1, 3]]), dense[:, [1, 3]])


@pytest.mark.parametrize("cluster", [None, "hh", "area"])
@pytest.mark.parametrize("rows", ["shuffled", "sorted"])
def test_balanced_twfe_in_closed_form_equals_alternating_projections(cluster, rows):
    # Sorted by unit and period, the panel is a units × periods matrix (twfe._grid_fit
    # when units are nested in the clusters); shuffled, the sums go by codes.
    data = _data().assign(one=1.0)
    data["area"] = (data["t"] + data["id"]) % 4  # clusters that cut across units
    if rows == "sorted":
        data = data.sort_values(["id", "t"], ignore_index=True)
    ours = twfe(data, "y", "t", "id", "d", cluster=cluster)
    # Weights (all one) take the alternating projections on the same panel.
    theirs = twfe(data, "y", "t", "id", "d", cluster=cluster, weights="one")
    assert ours.att == pytest.approx(theirs.att, rel=1e-12)
    assert ours.se == pytest.approx(theirs.se, rel=1e-10)
    assert (ours.n_obs, ours.n_units, ours.n_clusters) == (
        theirs.n_obs,
        theirs.n_units,
        theirs.n_clusters,
    )


def test_twfe_refuses_a_second_row_for_a_unit_and_period():
    data = _data()
    doubled = pd.concat([data, data.iloc[[7]]], ignore_index=True)
    with pytest.raises(EstimationError, match="more than one row"):
        twfe(doubled, "y", "t", "id", "d", cluster="hh")
    with pytest.raises(EstimationError, match="more than one row"):
        att_gt(doubled, "y", "t", "id", "g")


def test_twfe_on_string_ids_and_shuffled_rows_is_the_same():
    data = _data()
    base = twfe(data, "y", "t", "id", "d", cluster="hh")
    strings = data.assign(id="p" + data["id"].astype(str), hh="h" + data["hh"].astype(str))
    other = twfe(strings.iloc[::-1], "y", "t", "id", "d", cluster="hh")
    assert other.att == pytest.approx(base.att, rel=1e-12)
    assert other.se == pytest.approx(base.se, rel=1e-10)
    assert (other.n_units, other.n_clusters) == (base.n_units, base.n_clusters)


@pytest.mark.parametrize(
    "values",
    [
        pd.Series(np.array([5, 3, 3, 9, 0, 5], dtype=np.int32)),
        pd.Series(["b", "a", "b", "c"]),
        pd.Series(np.array([10**12, 3, 10**12])),  # too wide a range for a lookup table
    ],
)
@pytest.mark.parametrize("sort", [False, True])
def test_codes_are_those_of_factorize(values, sort):
    codes, levels = panel.codes(values, sort=sort)
    expected_codes, expected_levels = pd.factorize(values, sort=sort)
    assert codes.tolist() == expected_codes.tolist()
    assert list(levels) == list(expected_levels)


def test_first_rows_and_first_appearance_codes():
    rng = np.random.default_rng(1)
    unit = rng.integers(0, 50, 5000)
    unit = np.unique(unit, return_inverse=True)[1]
    first = panel.first_rows(unit, unit.max() + 1)
    assert first.tolist() == [int(np.flatnonzero(unit == u)[0]) for u in range(unit.max() + 1)]
    cluster_of_unit = rng.integers(0, 12, unit.max() + 1)
    column = cluster_of_unit[unit]
    expected = pd.factorize(column)[0][first]
    assert panel.first_appearance_codes(column[first], first).tolist() == expected.tolist()
