"""Project paths, all derived from the repository root.

Relative paths in a report notebook's parameters (``config/contract.yaml``,
``data/results/quarterly``) are relative to this root, not to the working
directory: :func:`from_root` resolves them, so a notebook runs the same when the
reports execute it (from the root), in ``make lab`` (kernels in the root) and where
Jupyter starts its kernel in ``notebooks/`` (plain ``jupyter lab``, ``jupyter
nbconvert --execute``, papermill).
"""

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


def from_root(*paths: str | Path) -> tuple[Path, ...]:
    """Each path as given when absolute, else taken relative to the repository root."""
    return tuple(Path(p) if Path(p).is_absolute() else ROOT / p for p in paths)
