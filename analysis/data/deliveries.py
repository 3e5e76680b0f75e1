"""Successive data deliveries: which extract each quarter's results are computed from.

Every quarter the municipality and Statistics Denmark deliver a new *full* extract,
in which earlier quarters may be revised. ``DATA`` (``--data``) is either

* a single extract (a folder of table files), cut "as of" each quarter as before; or
* a folder of deliveries, ``<dir>/<YYYYQn>/``, each a full extract as delivered after
  that quarter. The results of quarter Q are computed from the latest delivery at or
  before Q (:func:`for_quarter`).

The *reach* of the data (:func:`reach`) is the last quarter a report can be computed
for: the label of the last delivery, or for a single extract the last quarter of its
register data plus the register lag. No report, settlement or period beyond it is
built.

Synthetic deliveries (:func:`write_synthetic`) are cut from the generator's complete
extract, as the registers would have delivered them: register rows arrive one
quarter late and a few later still (late registrations), a few benefit categories
and school-absence counts are wrong at first and corrected a few deliveries later,
and some households' exits are registered late. The rates are in
``config/synthetic.yaml`` (``deliveries``); the draws come from the seed, so the
same configuration gives byte-identical deliveries.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from analysis import atomic, quarters
from analysis.config import Contract, SyntheticConfig
from analysis.data import synth as generator
from analysis.data.io import SUFFIXES, read_table
from analysis.data.synth import generate

_QUARTER = re.compile(r"^[0-9]{4}Q[1-4]$")
MANIFEST = "manifest.json"
TABLE_NAMES = (
    "households",
    "persons",
    "benefits",
    "social_measures",
    "school_absence",
    "life_satisfaction",
    "action_plans",
)
REGISTER_TABLES = ("benefits", "social_measures", "school_absence")
# A wrong benefit category as registers make it: the person's category read as the
# neighbouring rung (employment recorded as job-ready social assistance, and so on).
WRONG_CATEGORY = {
    "beskaeftigelse": "kontanthjaelp_jobparat",
    "kontanthjaelp_jobparat": "kontanthjaelp_aktivitetsparat",
    "kontanthjaelp_aktivitetsparat": "kontanthjaelp_jobparat",
    "fleksjob": "ressourceforloeb",
    "dagpenge": "kontanthjaelp_jobparat",
    "sygedagpenge_kort": "sygedagpenge_lang",
    "sygedagpenge_lang": "sygedagpenge_kort",
    "uddannelseshjaelp_uddannelsesparat": "uddannelseshjaelp_aktivitetsparat",
    "su": "uddannelseshjaelp_uddannelsesparat",
}


class DeliveryError(ValueError):
    """A folder of deliveries that cannot be used for the quarter asked for."""


def _has_tables(folder: Path) -> bool:
    return any(
        p.suffix in SUFFIXES and p.is_file() and not p.name.startswith(".")
        for p in folder.iterdir()
    )


def deliveries(path: Path | str) -> list[tuple[str, Path]]:
    """The deliveries in a folder of deliveries, oldest first ([] for a single extract)."""
    folder = Path(path)
    if not folder.is_dir() or _has_tables(folder):
        return []
    return sorted(
        (p.name, p)
        for p in folder.iterdir()
        if p.is_dir() and _QUARTER.match(p.name) and not p.name.startswith(".")
    )


def is_deliveries(path: Path | str) -> bool:
    """Whether ``path`` is a folder of deliveries (``<dir>/<YYYYQn>/``) rather than one extract."""
    return bool(deliveries(path))


def for_quarter(path: Path | str, quarter: str) -> Path:
    """The extract the results of ``quarter`` are computed from: the latest delivery at or before it."""
    found = deliveries(path)
    if not found:
        return Path(path)
    usable = [
        folder
        for label, folder in found
        if quarters.label_index(label) <= quarters.to_index(quarter)
    ]
    if not usable:
        raise DeliveryError(
            f"{path}: no delivery at or before {quarter} (the first is {found[0][0]})"
        )
    return usable[-1]


def _last_register_quarter(extract: Path) -> int | None:
    """The last quarter of any register table's rows (read from the quarter column only)."""
    last = None
    for name in REGISTER_TABLES:
        for suffix in SUFFIXES:
            file = extract / f"{name}{suffix}"
            if not file.is_file():
                continue
            if suffix == ".parquet":
                values = pq.read_table(file, columns=["quarter"]).column(0).to_pylist()
            else:
                values = read_table(file).frame.get("quarter", pd.Series(dtype=str)).tolist()
            # A column of data: parsed per distinct label (quarters.series_to_index).
            labels = pd.Series([v.strip() for v in values if isinstance(v, str)], dtype="string")
            valid = quarters.series_to_index(labels).dropna()
            if len(valid):
                top = int(valid.max())
                last = top if last is None else max(last, top)
    return last


def reach(path: Path | str, contract: Contract) -> str | None:
    """The last quarter the data reach: the last delivery, or a single extract's last
    register quarter plus the register lag. None when the data hold no register row."""
    found = deliveries(path)
    if found:
        return found[-1][0]
    last = _last_register_quarter(Path(path))
    if last is None:
        return None
    return quarters.from_index(last + contract.timeline.register_lag_quarters)


def label(extract: Path | str, checksums: dict[str, str]) -> str:
    """A delivery's name in the settlement record: its quarter (or ``extract``) and a digest of its files."""
    extract = Path(extract)
    digest = hashlib.sha256(
        json.dumps(dict(sorted(checksums.items())), sort_keys=True).encode()
    ).hexdigest()[:12]
    name = extract.name if _QUARTER.match(extract.name) else "extract"
    return f"{name}@{digest}"


def label_quarter(text: str) -> int | None:
    """The quarter index of a delivery label (None for a single extract's)."""
    name = text.split("@", 1)[0]
    return quarters.label_index(name) if _QUARTER.match(name) else None


# -- synthetic deliveries ---------------------------------------------------------
def _read(folder: Path, table: str) -> pd.DataFrame:
    return pd.read_parquet(folder / f"{table}.parquet")


def _revision_draws(frame: pd.DataFrame, rng: np.random.Generator, rate: float, delay: int):
    """Per row: whether it is revised, and for how many deliveries it stays wrong (1..delay)."""
    flagged = rng.random(len(frame)) < rate
    lasting = rng.integers(1, max(1, delay) + 1, len(frame))
    return flagged, lasting


def _cut(
    truth: dict[str, pd.DataFrame],
    draws: dict,
    delivery: int,
    lag: int,
) -> dict[str, pd.DataFrame]:
    """The extract as delivered after quarter index ``delivery``."""
    households = truth["households"].copy()
    # Households enrolled after the delivery are not in it (nor their persons' rows):
    # each row's enrolment quarter (comparison households: never) decides.
    keep = draws["households_enrol"] <= delivery
    shown_exit = draws["households_exit"] + draws["exit_delay"] <= delivery
    households.loc[~shown_exit, "exit_quarter"] = None
    households = households.loc[keep].reset_index(drop=True)
    persons = truth["persons"]
    persons = persons.loc[draws["persons_enrol"] <= delivery].reset_index(drop=True)
    out = {"households": households, "persons": persons}
    register_last = delivery - lag
    for name in REGISTER_TABLES:
        frame = truth[name]
        t = draws[f"{name}_t"]
        late = draws[f"{name}_late"]
        arrived = (t <= register_last) & ~(late & (t == register_last))
        rows = arrived & (draws[f"{name}_enrol"] <= delivery)
        part = frame.loc[rows].copy()
        wrong, lasting = draws[f"{name}_wrong"]
        still_wrong = (wrong & (delivery < t + lag + lasting))[rows]
        if name == "benefits" and still_wrong.any():
            part.loc[still_wrong, "benefit_category"] = (
                part.loc[still_wrong, "benefit_category"]
                .map(WRONG_CATEGORY)
                .fillna(part.loc[still_wrong, "benefit_category"])
            )
        if name == "school_absence" and still_wrong.any():
            shift = draws["absence_shift"][rows][still_wrong]
            days = part.loc[still_wrong, "school_days"].to_numpy(dtype=float)
            absent = np.clip(part.loc[still_wrong, "days_absent"].to_numpy() + shift, 0, days)
            part.loc[still_wrong, "days_absent"] = absent
            part.loc[still_wrong, "days_unauthorised"] = np.minimum(
                part.loc[still_wrong, "days_unauthorised"].to_numpy(), absent
            )
        out[name] = part.reset_index(drop=True)
    for name in ("life_satisfaction", "action_plans"):
        rows = (draws[f"{name}_t"] <= delivery) & (draws[f"{name}_enrol"] <= delivery)
        out[name] = truth[name].loc[rows].reset_index(drop=True)
    return out


def _enrolment_of_rows(truth: dict[str, pd.DataFrame]) -> dict[str, np.ndarray]:
    """Per row of every table: from which delivery on it is there, by its household's enrolment
    (a comparison household, never enrolled, is in every delivery)."""
    never = np.iinfo(np.int64).max // 2
    households = truth["households"]
    enrol = quarters.series_to_index(households["enrolment_quarter"])
    by_household = pd.Series(
        enrol.fillna(-never).astype("int64").to_numpy(), index=households["household_id"].to_numpy()
    )
    persons = truth["persons"]
    by_person = pd.Series(
        by_household.reindex(persons["household_id"].to_numpy()).to_numpy(),
        index=persons["person_id"].to_numpy(),
    )
    out = {
        "households_enrol": by_household.to_numpy(),
        "persons_enrol": by_person.to_numpy(),
        "action_plans_enrol": by_household.reindex(
            truth["action_plans"]["household_id"].to_numpy()
        ).to_numpy(),
    }
    for name in (*REGISTER_TABLES, "life_satisfaction"):
        out[f"{name}_enrol"] = by_person.reindex(truth[name]["person_id"].to_numpy()).to_numpy()
    exits = quarters.series_to_index(households["exit_quarter"])
    out["households_exit"] = exits.fillna(never).astype("int64").to_numpy()
    return out


def _draws(truth: dict[str, pd.DataFrame], synth: SyntheticConfig, seed: int) -> dict:
    rates = synth.deliveries
    rng = np.random.default_rng(np.random.SeedSequence([seed, 2]))
    draws: dict = {}
    for name in REGISTER_TABLES:
        frame = truth[name]
        draws[f"{name}_t"] = quarters.series_to_index(frame["quarter"]).to_numpy()
        draws[f"{name}_late"] = rng.random(len(frame)) < rates.late_registration
        rate = {
            "benefits": rates.benefit_correction,
            "school_absence": rates.absence_correction,
        }.get(name, 0.0)
        draws[f"{name}_wrong"] = _revision_draws(frame, rng, rate, rates.correction_quarters)
    absent = truth["school_absence"]
    draws["absence_shift"] = rng.choice([-3.0, -2.0, 2.0, 3.0, 4.0], len(absent))
    households = truth["households"]
    draws["exit_delay"] = np.where(
        rng.random(len(households)) < rates.late_exit, rates.correction_quarters, 0
    )
    draws["life_satisfaction_t"] = quarters.series_to_index(
        truth["life_satisfaction"]["quarter"]
    ).to_numpy()
    draws["action_plans_t"] = quarters.series_to_index(
        truth["action_plans"]["review_quarter"]
    ).to_numpy()
    draws.update(_enrolment_of_rows(truth))
    return draws


def _write_table(frame: pd.DataFrame, schema: pa.Schema, path: Path) -> None:
    table = pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
    pq.write_table(table, path, compression="zstd")


def _write_one(
    folder: Path,
    complete: Path,
    truth: dict[str, pd.DataFrame],
    draws: dict,
    schemas: dict,
    index: int,
    lag: int,
    base_manifest: dict,
    recorded: dict | None = None,
) -> dict:
    """Write the delivery after quarter index ``index`` to ``folder``; returns its manifest.

    ``recorded``: the arguments of the cut beyond the generator's own (None: the cut
    cannot be recorded, so the manifest names no writer and the delivery is real).

    The one writer of a delivery, used by :func:`write_synthetic` and by
    :func:`write_delivery` (regeneration), so both write the same bytes.
    """
    name = quarters.from_index(index)
    folder.mkdir()
    tables = _cut(truth, draws, index, lag)
    for table, frame in tables.items():
        _write_table(frame, schemas[table], folder / f"{table}.parquet")
    shutil.copyfile(complete / "truth.json", folder / "truth.json")
    manifest = {
        **base_manifest,
        "delivery": name,
        "rows": {table: len(frame) for table, frame in tables.items()},
    }
    manifest.pop(generator.GENERATOR, None)
    if recorded is not None and isinstance(base_manifest.get(generator.GENERATOR), dict):
        # How to write this delivery again: the complete extract's arguments, the cut's
        # and its quarter.
        manifest[generator.GENERATOR] = generator.derive(
            base_manifest[generator.GENERATOR], "delivery", delivery=name, **recorded
        )
    (folder / MANIFEST).write_text(
        json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    return manifest


def _prepare(complete: Path, contract: Contract, synth: SyntheticConfig, seed: int):
    truth = {name: _read(complete, name) for name in TABLE_NAMES}
    schemas = {name: pq.read_schema(complete / f"{name}.parquet") for name in TABLE_NAMES}
    draws = _draws(truth, synth, seed)
    base_manifest = json.loads((complete / MANIFEST).read_text(encoding="utf-8"))
    base_manifest.pop("files", None)
    return truth, schemas, draws, base_manifest


def write_delivery(
    out: Path | str,
    contract: Contract,
    synth: SyntheticConfig,
    seed: int,
    comparison_persons: int | None = None,
    delivery: str | None = None,
    cut: SyntheticConfig | None = None,
    cut_seed: int | None = None,
) -> None:
    """Write one synthetic delivery again to ``out``: the writer a delivery's manifest names.

    Generates the complete extract with the same arguments in a scratch folder and
    cuts the delivery of quarter ``delivery`` from it, as :func:`write_synthetic` did
    (:func:`analysis.data.regenerate.regenerate` calls it). ``cut`` and ``cut_seed``: the
    configuration and seed the deliveries were cut with, when not the generator's.
    """
    if delivery is None or not quarters.is_quarter(delivery):
        raise TypeError(f"delivery must be a quarter YYYYQn, not {delivery!r}")
    out = Path(out)
    scratch = Path(tempfile.mkdtemp(prefix=".delivery-complete."))
    try:
        complete = scratch / "complete"
        generate(complete, contract, synth, seed, comparison_persons=comparison_persons)
        cut_synth = synth if cut is None else cut
        cut_with = seed if cut_seed is None else cut_seed
        truth, schemas, draws, base_manifest = _prepare(complete, contract, cut_synth, cut_with)
        lag = contract.timeline.register_lag_quarters
        _write_one(
            out,
            complete,
            truth,
            draws,
            schemas,
            quarters.to_index(delivery),
            lag,
            base_manifest,
            _recorded(base_manifest, contract, cut_synth, cut_with),
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _recorded(base_manifest: dict, contract: Contract, synth: SyntheticConfig, seed: int):
    """The cut's arguments to record beside the generator's, or None when they cannot be.

    A cut under another contract than the generator's is not recorded (its
    deliveries cannot be written again, so they count as real).
    """
    entry = base_manifest.get(generator.GENERATOR)
    if not isinstance(entry, dict):
        return None
    arguments = json.loads(entry["arguments"])
    if arguments.get("contract") != contract.model_dump(mode="json"):
        return None
    recorded = {}
    if arguments.get("synth") != synth.model_dump(mode="json"):
        recorded["cut"] = synth.model_dump(mode="json")
    if arguments.get("seed") != seed:
        recorded["cut_seed"] = seed
    return recorded


def write_synthetic(
    complete: Path | str, out: Path | str, contract: Contract, synth: SyntheticConfig, seed: int
) -> list[str]:
    """Write a delivery per quarter (intervention start to the data's end plus the lag) to ``out``.

    ``complete`` is the generator's complete extract (every quarter as finally
    registered). Each delivery gets the complete extract's ``truth.json`` and a
    ``manifest.json`` naming the delivery and how to write it again
    (:func:`write_delivery`); ``out/manifest.json`` lists them and is written last,
    so a killed run leaves no folder that looks whole.
    """
    complete, out = Path(complete), Path(out)
    truth, schemas, draws, base_manifest = _prepare(complete, contract, synth, seed)
    recorded = _recorded(base_manifest, contract, synth, seed)
    lag = contract.timeline.register_lag_quarters
    first = quarters.to_index(contract.timeline.intervention.start)
    last = quarters.to_index(synth.data_end) + lag
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    labels = []
    try:
        for index in range(first, last + 1):
            name = quarters.from_index(index)
            folder = tmp / name
            manifest = _write_one(
                folder, complete, truth, draws, schemas, index, lag, base_manifest, recorded
            )
            if generator.GENERATOR in manifest:
                # What a regeneration would find: cached, so no delivery is written twice.
                generator.remember(manifest[generator.GENERATOR], folder)
            generator.list_checksums(folder)
            os.chmod(folder, 0o755)
            labels.append(name)
        summary = {
            "synthetic": True,
            "seed": seed,
            "parameters": synth.model_dump(),
            "deliveries": labels,
        }
        (tmp / MANIFEST).write_text(
            json.dumps(summary, indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
        os.chmod(tmp, 0o755)
        atomic.move_into_place(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return labels
