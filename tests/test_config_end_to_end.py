"""``--config`` reaches the numbers: a contract with another rate card changes the rendered amounts.

The notebooks used to read the default contract whatever ``--config`` said, so a
custom contract reached the title page and the disclosure check but not the
amounts. A quarterly report is the cheapest report to render.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from analysis.paths import CONTRACT_FILE
from analysis.pipeline.cli import main
from analysis.render.numbers import dkk

AS_OF = "2024Q4"


def _report(tmp: Path, config: Path, synthetic_dir: Path, render: bool) -> dict:
    quarterly = tmp / "quarterly"
    args = ["--config", str(config)]
    assert (
        main(
            [
                *args,
                "quarterly",
                "--data",
                str(synthetic_dir),
                "--as-of",
                AS_OF,
                "--out",
                str(quarterly / AS_OF),
            ]
        )
        == 0
    )
    key = json.loads((quarterly / AS_OF / "key_numbers.json").read_text(encoding="utf-8"))
    if not render:
        return {"key": key}
    common = ["--data", str(synthetic_dir), "--quarterly-dir", str(quarterly)]
    reports = tmp / "reports"
    command = ["report", "quarterly", "--as-of", AS_OF, "--lang", "en", *common]
    assert main([*args, *command, "--reports", str(reports)]) == 0
    (html,) = reports.rglob("*.html")
    (results,) = reports.rglob("*.results.json")
    return {
        "key": key,
        "html": html.read_text(encoding="utf-8"),
        "results": json.loads(results.read_text(encoding="utf-8")),
    }


def test_custom_rate_card_changes_the_rendered_amounts(tmp_path, synthetic_dir, contract):
    content = yaml.safe_load(CONTRACT_FILE.read_text(encoding="utf-8"))
    # Room under the caps, so doubled prices double the amounts (the forecast is
    # what will be paid, after the caps).
    content["caps"]["investor_annual_return"] = 1.0
    uncapped = tmp_path / "uncapped.yaml"
    uncapped.write_text(yaml.safe_dump(content, allow_unicode=True), encoding="utf-8")
    content["rate_card"] = {k: 2 * v for k, v in content["rate_card"].items()}
    content["caps"]["total_outcome_payments"] *= 2
    # The investment too, so that the investors' return (the cap on it) is the same with
    # every amount doubled: the forecast's futures with large early payments meet the
    # return cap, and only when all cash flows scale does it withhold in proportion.
    content["investment"]["total"] *= 2
    custom = tmp_path / "custom.yaml"
    custom.write_text(yaml.safe_dump(content, allow_unicode=True), encoding="utf-8")

    default = _report(tmp_path / "default", uncapped, synthetic_dir, render=False)
    doubled = _report(tmp_path / "custom", custom, synthetic_dir, render=True)

    # The forecast of total payments (shown rounded to DKK 1,000) doubles.
    forecast = default["key"]["forecast_median"]
    assert forecast > 0 and abs(doubled["key"]["forecast_median"] - 2 * forecast) < 0.02
    assert abs(doubled["results"]["numbers"]["forecast_median"] - 2 * forecast) <= 500
    # pandoc wraps lines: compare with whitespace (and no-break spaces) collapsed.
    html = " ".join(doubled["html"].split())
    price = contract.rate_card.employment
    # The methods section prints the contract's prices: the custom one, not the default.
    assert f"Price {dkk(2 * price, 'en')} per step" in html
    assert f"Price {dkk(price, 'en')} per step" not in html
    assert doubled["results"]["parameters"]["config"] == "custom.yaml"
