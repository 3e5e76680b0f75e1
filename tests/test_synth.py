"""The columnar generator writes byte for byte what the row-object generator wrote.

The generator builds its string columns as integer codes and Arrow ``take``s and
writes Parquet in a background thread. The digests below are those of the files
the earlier generator (pandas frames of Python strings, written in the main
thread) produced from the contract's seed and ``config/synthetic.yaml``: the
default extract (one comparison chunk) and, slow, an extract of 150 thousand
comparison persons (two comparison chunks, so the chunk hand-over is covered).
A deliberate change of the generator or of its configuration changes them; then
record the new digests here, in the same commit. The area × quarter shocks come
from their own stream: switched off, the data files are those of the generator
before them (only the manifest, which lists the parameters, differs).
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from analysis.config import AreaQuarterShocks, load_synthetic
from analysis.data.synth import CHUNK_HOUSEHOLDS, area_quarter_shocks, generate
from analysis.provenance import sign_extract

DEFAULT = {
    "action_plans.parquet": "def7c4e09ddbd4aeb24d98078b9aca3e2f921aadd0f54b04f5e1b70ac8b278a7",
    "benefits.parquet": "cba4d5da536c608435c397afcb4dcf9bb35def29a62966c892000b988d8c065e",
    "households.parquet": "325d06129db80b75b17b2c50bc95b8624d022908f99cea8793fcbeab1fc75a57",
    "life_satisfaction.parquet": "6b8b59212604a4a893e54106ba0216073e00eb9812cf1fd1fc4e534b3f5546ad",
    "persons.parquet": "bb99d5d33672b4098d8ca003af1a0c021974b1439515e6f5f5bb4389b4e441d3",
    "school_absence.parquet": "e64c89a2708631aced79a0ffd703e780a2f31c467afd170515de2249a4843d80",
    "social_measures.parquet": "04de45b05375c4a08d734db9f88db07cd27a1b7f818b5776e8747917bad64dac",
    "truth.json": "8db0749ab199870491cd40f9d681107e74718a39a29d9475a8ba957ac4b82a23",
}

COMPARISON_150K = {
    "action_plans.parquet": "c0ee7703d123c1f9cb308ca2c1b04dc843b7e3abae3a1676e9dd468c1d7280b4",
    "benefits.parquet": "72ce8e428909b4c36d7724d024f6b44a16ec11c5dcf811c71c20c271e0632f3f",
    "households.parquet": "5791c5e4508aacb8b146f6eab0d927b7b747866d217651900c72c97e34dd37b4",
    "life_satisfaction.parquet": "5c4b43bf8ba330344e6d4296bde5acb894c6f940582b0dedd320bfe2bfc0356d",
    "persons.parquet": "0f9c9da371d49449f299e4407231ddd15406a57f2949a2ef2621cc1f87c44336",
    "school_absence.parquet": "04a0a414d40374d559ae3afea49dfcf5fe0fa6a535d983746e9bd0c73e31b07b",
    "social_measures.parquet": "609147dac139e5c9965a1d0bfbe9209d5b2a7a5ba9feec41a0590769226bdc4c",
    "truth.json": "8db0749ab199870491cd40f9d681107e74718a39a29d9475a8ba957ac4b82a23",
}


def _without_shocks():
    return load_synthetic().model_copy(update={"area_quarter_shocks": AreaQuarterShocks()})


def _digests(directory):
    """The data files' checksums; the manifest is left out: it records the code version
    (its digest of the generator's source), which every change to the code changes."""
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(directory.iterdir())
        if path.name != "manifest.json"
    }


def test_default_extract_is_byte_identical_to_the_row_generator(tmp_path, contract):
    out = tmp_path / "synthetic"
    generate(out, contract, _without_shocks(), contract.seed)
    sign_extract(out)  # as ``python -m analysis synth`` does
    assert _digests(out) == DEFAULT


def test_area_quarter_shocks_move_only_the_latent_outcomes(tmp_path, contract):
    """Shocks on (the default): the register outcomes change, nothing else does."""
    out = tmp_path / "synthetic"
    generate(out, contract, load_synthetic(), contract.seed)
    digests = _digests(out)
    for name in ("households", "persons", "life_satisfaction", "action_plans"):
        assert digests[f"{name}.parquet"] == DEFAULT[f"{name}.parquet"], name
    for name in ("benefits", "social_measures", "school_absence"):
        assert digests[f"{name}.parquet"] != DEFAULT[f"{name}.parquet"], name


def test_area_quarter_shocks_are_stationary_ar1_paths():
    config = load_synthetic().model_copy(
        update={
            "area_quarter_shocks": AreaQuarterShocks(
                rho=0.5, ladder_step=0.1, support_level=0.2, absence_rate=0.0
            )
        }
    )
    areas = [f"A{i}" for i in range(4000)]
    shocks = area_quarter_shocks(areas, 12, config, seed=3)
    ladder = shocks["ladder_step"]
    assert ladder.shape == (4000, 12)
    # Stationary: the same spread in the first and the last quarter; AR(1) with rho.
    for column in (0, 11):
        assert abs(ladder[:, column].std() - 0.1) < 0.005
    lag = np.corrcoef(ladder[:, :-1].ravel(), ladder[:, 1:].ravel())[0, 1]
    assert abs(lag - 0.5) < 0.02
    assert abs(shocks["support_level"].std() - 0.2) < 0.005
    assert not shocks["absence_rate"].any()
    # Reproducible from the seed.
    assert np.array_equal(area_quarter_shocks(areas, 12, config, seed=3)["ladder_step"], ladder)


@pytest.mark.slow
def test_multi_chunk_extract_is_byte_identical_to_the_row_generator(tmp_path, contract):
    out = tmp_path / "synthetic"
    manifest = generate(out, contract, _without_shocks(), contract.seed, comparison_persons=150_000)
    assert manifest["comparison_households"] > CHUNK_HOUSEHOLDS  # more than one chunk
    assert _digests(out) == COMPARISON_150K
