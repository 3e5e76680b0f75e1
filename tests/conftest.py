"""Shared fixtures: the contract and one synthetic extract per test session."""

from __future__ import annotations

import pandas as pd
import pytest

# In CI (RV_NO_SKIPS=1) a skipped test fails: the hook is found here by its name.
from no_skips import pytest_runtest_makereport  # noqa: F401

from analysis.config import load_contract, load_synthetic
from analysis.data.synth import generate
from analysis.data.validate import load_extract
from analysis.provenance import sign_extract


@pytest.fixture(scope="session", autouse=True)
def _receipts(tmp_path_factory):
    """Validation receipts of the tests go to a folder of their own, not the repository's build/."""
    from analysis.data import receipt

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(receipt, "FOLDER", tmp_path_factory.mktemp("validated"))
        yield


@pytest.fixture(scope="session", autouse=True)
def _failure_records(tmp_path_factory):
    """A test whose evaluation command fails on purpose notes it in a folder of its own,
    not in build/failed/ (which the repository's portal reads)."""
    from analysis.render import failures

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(failures, "FOLDER", tmp_path_factory.mktemp("failed"))
        yield


@pytest.fixture(scope="session", autouse=True)
def _session_settlement_records(tmp_path_factory):
    """Settlement records made by default go to a folder of the session's, not data/settlement
    (also in the commands the tests run: the variable is inherited)."""
    from analysis.payments import settlement

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(settlement.FOLDER_VARIABLE, str(tmp_path_factory.mktemp("settlement")))
        yield


@pytest.fixture(autouse=True)
def _settlement_records(tmp_path_factory, monkeypatch):
    """Each test settles into records of its own: money one test settles is not another's fact."""
    from analysis.payments import settlement

    monkeypatch.setenv(settlement.FOLDER_VARIABLE, str(tmp_path_factory.mktemp("settlement")))


@pytest.fixture(scope="session")
def contract():
    return load_contract()


@pytest.fixture(scope="session")
def synthetic_dir(tmp_path_factory, contract):
    out = tmp_path_factory.mktemp("extract") / "synthetic"
    generate(out, contract, load_synthetic(), contract.seed)
    sign_extract(out)
    return out


@pytest.fixture(scope="session")
def extract(synthetic_dir, contract):
    return load_extract(synthetic_dir, contract)


@pytest.fixture(scope="session")
def small_tables(extract):
    """A valid small extract: four intervention and four comparison households."""
    households = extract["households"]
    keep = pd.concat(
        [
            households.loc[households["group"] == "intervention"].head(4),
            households.loc[households["group"] == "comparison"].head(4),
        ]
    )["household_id"]
    persons = extract["persons"].loc[extract["persons"]["household_id"].isin(keep)]
    tables = {
        "households": households.loc[households["household_id"].isin(keep)],
        "persons": persons,
    }
    for name in ("benefits", "social_measures", "school_absence", "life_satisfaction"):
        tables[name] = extract[name].loc[extract[name]["person_id"].isin(persons["person_id"])]
    tables["action_plans"] = extract["action_plans"].loc[
        extract["action_plans"]["household_id"].isin(keep)
    ]
    return {k: v.reset_index(drop=True) for k, v in tables.items()}
