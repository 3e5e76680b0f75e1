"""The contract configuration loads, and bad keys or values are named in the error."""

import pytest
import yaml

from analysis import quarters
from analysis.config import ConfigError, load_contract
from analysis.paths import CONTRACT_FILE


def _write(tmp_path, mutate):
    content = yaml.safe_load(CONTRACT_FILE.read_text(encoding="utf-8"))
    mutate(content)
    path = tmp_path / "contract.yaml"
    path.write_text(yaml.safe_dump(content, allow_unicode=True), encoding="utf-8")
    return path


def test_contract_loads_the_design_defaults(contract):
    assert contract.programme.enrolment_target_households == 180
    assert contract.area_codes == ["HOU", "ELL", "KAR"]
    assert contract.timeline.evaluations.final == "2028Q3"
    # The rate card is calibrated (python -m analysis calibrate); the relative prices are in calibration.relative_prices.
    assert contract.calibration.relative_prices.employment == 20000


def test_unknown_key_is_named(tmp_path):
    path = _write(tmp_path, lambda c: c["rate_card"].update({"employmnet": 1}))
    with pytest.raises(ConfigError, match="rate_card.employmnet"):
        load_contract(path)


def test_bad_quarter_is_named(tmp_path):
    path = _write(tmp_path, lambda c: c["timeline"]["evaluations"].update({"final": "2028Q5"}))
    with pytest.raises(ConfigError, match="timeline.evaluations.final"):
        load_contract(path)


def test_shares_must_sum_to_one(tmp_path):
    path = _write(tmp_path, lambda c: c["investment"]["shares"].update({"DSI": 0.9}))
    with pytest.raises(ConfigError, match="investment.shares"):
        load_contract(path)


def test_quarter_arithmetic():
    assert quarters.span("2023Q4", "2024Q2") == ["2023Q4", "2024Q1", "2024Q2"]
    assert quarters.shift("2024Q1", -1) == "2023Q4"
    assert quarters.from_index(quarters.to_index("2028Q3")) == "2028Q3"
    with pytest.raises(ValueError):
        quarters.to_index("2024-Q1")
