"""Shared fixtures: the contract and one synthetic extract per test session."""

from __future__ import annotations

import pytest

from analysis.config import load_contract, load_synthetic
from analysis.data.synth import generate
from analysis.data.validate import load_extract


@pytest.fixture(scope="session")
def contract():
    return load_contract()


@pytest.fixture(scope="session")
def synthetic_dir(tmp_path_factory, contract):
    out = tmp_path_factory.mktemp("extract") / "synthetic"
    generate(out, contract, load_synthetic(), contract.seed)
    return out


@pytest.fixture(scope="session")
def extract(synthetic_dir, contract):
    return load_extract(synthetic_dir, contract)
