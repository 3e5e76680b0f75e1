"""Project paths, all derived from the repository root."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = ROOT / "config"
CONTRACT_FILE = CONFIG_DIR / "contract.yaml"
SYNTHETIC_CONFIG_FILE = CONFIG_DIR / "synthetic.yaml"
PARAMS_DIR = ROOT / "params"
NOTEBOOKS_DIR = ROOT / "notebooks"
DATA_DIR = ROOT / "data"
RAW_DIR = DATA_DIR / "raw"
SYNTHETIC_DIR = DATA_DIR / "synthetic"
RESULTS_DIR = DATA_DIR / "results"
BUILD_DIR = ROOT / "build"
REPORTS_DIR = ROOT / "reports"
# The forecast backtest's summary per horizon (written by `make backtest`, quoted by the reports).
FORECAST_BACKTEST = ROOT / "docs" / "forecast_backtest.json"
