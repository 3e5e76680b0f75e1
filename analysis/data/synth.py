"""Synthetic extract with a known truth, meeting the data contract.

Real data never leave the secure environment, so every report, estimator and
payment rule is exercised on data from this generator. Each outcome is generated
twice per person and quarter, without (``Y(0)``) and with (``Y(1)``) the
intervention; the extract shows ``Y(1)`` for enrolled households from their
enrolment quarter on and ``Y(0)`` elsewhere. ``truth.json`` records the configured
effects and the realised average effect on the treated, ``mean(Y(1) - Y(0))`` over
treated post-enrolment cells, overall, by quarters since enrolment and by area:
the numbers the estimators must recover.

Design (all parameters in ``config/synthetic.yaml``):

* selection on levels: intervention households have more open cases, adults
  further from self-sufficiency, more social measures, more school absence and
  lower life satisfaction; the latent indices are stationary, so parallel trends
  hold in the observed (discretised) outcomes
  and a naive post-period comparison is biased while difference-in-differences
  is not;
* effects on a latent index grow linearly over ``full_after`` quarters after
  enrolment and are scaled by area;
* staggered enrolment over the enrolment period, an enrolment shortfall,
  attrition and survey non-response;
* area × quarter shocks (``area_quarter_shocks``): an AR(1) path per area on each
  outcome's latent scale, shared by all the area's households and the same for
  ``Y(0)`` and ``Y(1)``, drawn from their own stream so that switching them off
  leaves every other draw as it was.

Households are generated in chunks, each with its own random stream spawned from
the seed, and written chunk by chunk to Parquet, so memory stays bounded for a
national-size comparison pool and the output is byte-identical for a given seed.

**Synthetic is a fact that can be checked.** The manifest records the generator's
every argument (the contract, the generator configuration, the seed, the pool
size: whatever :func:`generate` was called with), the writer's name and a digest
of the code and libraries that wrote it (:func:`code_version`).
:func:`regenerate` writes the extract again from a manifest alone, to a scratch
folder, and returns the SHA-256 of every file: an extract is synthetic only when
its files have exactly those checksums (:func:`analysis.provenance.extract_kind`).
The answer of a regeneration is cached under the git-ignored ``build/regenerated/``
(and the generator caches its own answer when it writes an extract), so the
default extract is regenerated at most once per code version; see
:func:`regenerate` for what that cache trusts.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from analysis import atomic, quarters
from analysis.config import Contract, SyntheticConfig
from analysis.data.codes import BARNETS_LOV_FROM, BENEFIT_CATEGORIES
from analysis.data.io import sha256
from analysis.data.schemas import TABLES

CHUNK_HOUSEHOLDS = 50_000
# Chunks generated at once (each in a thread of its own, from a stream of its own).
GENERATING = 2
TYPE_PROBS = {
    "intervention": {
        "single_parent": 0.40,
        "couple_children": 0.25,
        "single": 0.25,
        "couple": 0.10,
    },
    "comparison": {"single_parent": 0.33, "couple_children": 0.30, "single": 0.25, "couple": 0.12},
}
LATENT_MEAN = {"intervention": -0.45, "comparison": 0.35}  # self-sufficiency index
SUPPORT_MEAN = {"intervention": 0.35, "comparison": -0.25}  # support-need index
ABSENCE_SCALE = {"intervention": 0.031, "comparison": 0.024}  # gamma scale, shape 3
SATISFACTION_MEAN = 6.2
LADDER_CUTS = np.array([-0.1, 0.6, 1.1])
SUPPORT_CUTS = np.array([0.9, 1.9])
STEP_CATEGORIES = {
    step: [code for code, (_, _, s) in BENEFIT_CATEGORIES.items() if s == step]
    for step in (1, 2, 3, 4)
}
# Categorical columns are generated as integer codes into these vocabularies and
# turned into strings by one Arrow ``take`` per chunk: Python string objects per
# person-quarter cost most of the generator's time at a national-size pool.
CATEGORY_OFFSET = {}
_vocabulary: list[str] = []
for _step, _cats in STEP_CATEGORIES.items():
    CATEGORY_OFFSET[_step] = len(_vocabulary)
    _vocabulary += _cats
_vocabulary += ["folkepension", "foertidspension"]
CATEGORY_CODE = {code: i for i, code in reversed(list(enumerate(_vocabulary)))}
CATEGORY_VOCABULARY = pa.array(_vocabulary, pa.large_string())
NO_WEEKS = np.isin(np.array(_vocabulary), ["su", "beskaeftigelse", "ingen_ydelse"])
_measures = ["none", "BL32", "SEL52_STOETTE", "BL46", "SEL52_ANBR", "SEL85", "SEL107", "SEL108"]
MEASURE_CODE = {code: i for i, code in enumerate(_measures)}
MEASURE_VOCABULARY = pa.array(_measures, pa.large_string())
SCHOOL_DAYS = {1: 58, 2: 46, 3: 30, 4: 52}
SURVEY_EVERY = 4
REVIEW_EVERY = 2


@dataclass
class Truth:
    """Running sums of Y(1) - Y(0) over treated post-enrolment cells."""

    sums: dict = field(default_factory=dict)

    def add(self, outcome: str, diff: np.ndarray, event_time: np.ndarray, area: np.ndarray) -> None:
        store = self.sums.setdefault(outcome, {"all": [0.0, 0], "event": {}, "area": {}})
        store["all"][0] += float(diff.sum())
        store["all"][1] += int(diff.size)
        if (
            diff.size == 1
            and not pd.isna(diff[0])
            and not pd.isna(event_time[0])
            and not pd.isna(area[0])
        ):
            # One survey answer at a time (life satisfaction): the grouped sums below
            # would cost a pandas groupby each, for the same single value (a missing
            # value or key takes the grouped way, which skips it).
            for key, values in (("event", event_time), ("area", area)):
                cell = store[key].setdefault(str(values[0]), [0.0, 0])
                cell[0] += float(diff[0])
                cell[1] += 1
            return
        for key, values in (("event", event_time), ("area", area)):
            frame = pd.DataFrame({"k": values, "d": diff}).groupby("k")["d"].agg(["sum", "count"])
            for k, row in frame.iterrows():
                cell = store[key].setdefault(str(k), [0.0, 0])
                cell[0] += float(row["sum"])
                cell[1] += int(row["count"])

    def as_dict(self) -> dict:
        def mean(cell):
            return round(cell[0] / cell[1], 10) if cell[1] else None

        out = {}
        for outcome, store in self.sums.items():
            out[outcome] = {
                "att": mean(store["all"]),
                "cells": store["all"][1],
                "by_event_time": {
                    k: mean(v) for k, v in sorted(store["event"].items(), key=lambda kv: int(kv[0]))
                },
                "by_area": {k: mean(v) for k, v in sorted(store["area"].items())},
            }
        return out


def _ids(prefix: str, first: int, n: int, digits: int) -> pa.Array:
    """``f"{prefix}{i:0{digits}d}"`` for ``i`` from ``first``, ``n`` of them, built in Arrow."""
    numbers = pc.cast(pa.array(np.arange(first, first + n, dtype=np.int64)), pa.large_string())
    padded = pc.utf8_lpad(numbers, width=digits, padding="0")
    empty = pa.scalar("", pa.large_string())
    return pc.binary_join_element_wise(pa.scalar(prefix, pa.large_string()), padded, empty)


def _ramp(event_time: np.ndarray, full_after: int) -> np.ndarray:
    return np.where(event_time >= 0, np.minimum(1.0, (event_time + 1) / full_after), 0.0)


class _Chunk:
    """One chunk of households and everything generated for them."""

    def __init__(
        self,
        rng,
        group,
        n_households,
        first_household,
        first_person,
        first_goal,
        areas,
        enrol_q,
        exit_q,
        ctx,
    ):
        self.rng = rng
        self.group = group
        self.ctx = ctx
        types = list(TYPE_PROBS[group])
        probs = list(TYPE_PROBS[group].values())
        htype = rng.choice(types, size=n_households, p=probs)
        adults = np.where(np.isin(htype, ["single_parent", "single"]), 1, 2)
        children = np.where(
            np.isin(htype, ["single_parent", "couple_children"]),
            1 + rng.poisson(0.8, n_households),
            0,
        )
        open_cases = 2 + rng.poisson(2.0 if group == "intervention" else 0.9, n_households)
        self.household_ids = _ids("H", first_household, n_households, 7)
        self.areas = np.asarray(areas)
        self.households = {
            "household_id": self.household_ids,
            "group": pa.array(np.full(n_households, group), pa.large_string()),
            "area": pa.array(self.areas, pa.large_string()),
            "household_type": pa.array(htype, pa.large_string()),
            "enrolment_quarter": pa.array(enrol_q, pa.large_string()),
            "exit_quarter": pa.array(exit_q, pa.large_string()),
            "open_cases": pa.array(open_cases.astype("int64")),
        }
        size = adults + children
        hh_index = np.repeat(np.arange(n_households), size)
        # Position within the household: the running count minus the household's first row.
        starts = np.cumsum(size) - size
        within = np.arange(len(hh_index)) - np.repeat(starts, size)
        is_adult = within < np.repeat(adults, size)
        n_persons = len(hh_index)
        ref_year = 2024
        age_adult = rng.integers(20, 62, n_persons)
        age_child = rng.integers(0, 18, n_persons)
        birth_year = ref_year - np.where(is_adult, age_adult, age_child)
        self.person_ids = _ids("P", first_person, n_persons, 8)
        self.persons = {
            "person_id": self.person_ids,
            "household_id": self.household_ids.take(hh_index),
            "birth_year": pa.array(birth_year.astype("int64")),
            "sex": pa.array(rng.choice(["M", "K"], n_persons), pa.large_string()),
        }
        self.hh_index = hh_index
        self.is_adult = is_adult
        self.birth_year = birth_year
        self.person_area = self.areas[hh_index]
        # Comparison households are never enrolled: no per-household parsing needed.
        if group == "intervention":
            enrol_index = np.array(
                [quarters.to_index(q) if isinstance(q, str) else -1 for q in enrol_q], dtype=int
            )
            exit_index = np.array(
                [quarters.to_index(q) if isinstance(q, str) else -1 for q in exit_q], dtype=int
            )
        else:
            enrol_index = np.full(n_households, -1)
            exit_index = np.full(n_households, -1)
        self.enrol_hh = enrol_index
        self.exit_hh = exit_index
        self.enrol = enrol_index[hh_index]
        self.first_goal = first_goal

    def _rows(self, p: np.ndarray, tt: np.ndarray) -> dict:
        """Person id and quarter label columns of grid rows (Arrow ``take``, no Python strings)."""
        return {
            "person_id": self.person_ids.take(p),
            "quarter": self.ctx.label_array.take(tt - self.ctx.t_index[0]),
        }

    # Quarter grid -------------------------------------------------------
    def _grid(self, mask: np.ndarray):
        t = self.ctx.t_index
        persons = np.flatnonzero(mask)
        p = np.repeat(persons, len(t))
        tt = np.tile(t, len(persons))
        return p, tt

    def _effect(self, p, tt, value):
        if self.group != "intervention":
            # Never enrolled: no effect, no post-enrolment cell (the general formula
            # gives the same, in several passes over every person-quarter).
            return np.zeros(len(p)), np.zeros(len(p), bool), np.full(len(p), -1)
        enrol = self.enrol[p]
        treated = enrol >= 0
        event = np.where(treated, tt - enrol, -1)
        ramp = _ramp(event, self.ctx.synth.true_effects.full_after)
        multipliers = self.ctx.synth.true_effects.area_multiplier
        # One lookup per person, then indexed by row: rows are persons × quarters.
        person_multiplier = pd.Series(self.person_area).map(multipliers).fillna(1.0).to_numpy()
        mult = person_multiplier[p]
        post = treated & (event >= 0)
        return value * ramp * mult * post, post, event

    def _shock(self, outcome: str, p: np.ndarray, tt: np.ndarray) -> np.ndarray | float:
        """The area × quarter shock of grid rows ``(p, tt)`` (0 when switched off)."""
        matrix = self.ctx.shocks.get(outcome)
        if matrix is None or not matrix.any():
            return 0.0
        if not hasattr(self, "_area_rows"):
            # One lookup per household, then indexed by person.
            codes, inverse = np.unique(self.areas.astype(str), return_inverse=True)
            rows = np.array([self.ctx.area_row[c] for c in codes])[inverse]
            self._area_rows = rows[self.hh_index]
        return matrix[self._area_rows[p], tt - self.ctx.t_index[0]]

    def _ar1(self, n_units, rho, sd):
        t = len(self.ctx.t_index)
        out = np.empty((n_units, t))
        out[:, 0] = self.rng.normal(0, sd, n_units)
        innovation_sd = sd * np.sqrt(1 - rho**2)
        for j in range(1, t):
            out[:, j] = rho * out[:, j - 1] + self.rng.normal(0, innovation_sd, n_units)
        return out.ravel()

    def benefits(self, truth: Truth | None) -> pd.DataFrame:
        ctx = self.ctx
        mask = self.is_adult
        p, tt = self._grid(mask)
        n = int(mask.sum())
        alpha = self.rng.normal(LATENT_MEAN[self.group], 0.8, n)
        alpha_long = np.repeat(alpha, len(ctx.t_index))
        # The latent index is stationary: a common trend on a latent index is not a
        # parallel trend in a discretised outcome when the groups sit at different
        # places on the scale, so a trend here would break parallel trends.
        z0 = alpha_long + self._ar1(n, 0.8, 0.45)
        z0 = z0 + self._shock("ladder_step", p, tt)
        effect, post, event = self._effect(p, tt, ctx.synth.true_effects.ladder_step)
        z1 = z0 + effect
        step0 = 1 + np.searchsorted(LADDER_CUTS, z0)
        step1 = 1 + np.searchsorted(LADDER_CUTS, z1)
        age = ctx.year[tt - ctx.t_index[0]] - self.birth_year[p]
        outside = np.repeat(self.rng.random(n) < 0.07, len(ctx.t_index)) | (age >= 65)
        step = np.where(post, step1, step0)
        working_age = (age >= 18) & (age <= 64) & ~outside
        if truth is not None:
            sel = post & working_age
            diff = (step1 - step0)[sel].astype(float)
            truth.add("ladder_step", diff, event[sel], self.person_area[p][sel])
            truth.add(
                "self_supporting",
                ((step1 == 4).astype(float) - (step0 == 4))[sel],
                event[sel],
                self.person_area[p][sel],
            )
        # A person keeps a preferred benefit within each step, so categories are sticky.
        pick = np.repeat(self.rng.integers(0, 60, n), len(ctx.t_index))
        # Categories as codes into CATEGORY_VOCABULARY (strings only at the end).
        category = np.empty(len(p), dtype=np.int64)
        for s, cats in STEP_CATEGORIES.items():
            sel = (step == s) & ~outside
            category[sel] = CATEGORY_OFFSET[s] + pick[sel] % len(cats)
        pension = np.where(
            age >= 65, CATEGORY_CODE["folkepension"], CATEGORY_CODE["foertidspension"]
        )
        category[outside] = pension[outside]
        weeks = np.where(np.isin(step, [1, 2]) | outside, 13, np.where(step == 3, 13, 0))
        weeks = np.where(NO_WEEKS[category], 0, weeks)
        keep = np.flatnonzero(age >= 18)
        return {
            **self._rows(p[keep], tt[keep]),
            "benefit_category": CATEGORY_VOCABULARY.take(category[keep]),
            "weeks_on_benefit": pa.array(weeks[keep].astype("int64")),
        }

    def social_measures(self, truth: Truth | None) -> pd.DataFrame:
        ctx = self.ctx
        n = len(self.hh_index)
        p, tt = self._grid(np.ones(n, bool))
        beta = self.rng.normal(SUPPORT_MEAN[self.group], 0.7, n)
        s0 = np.repeat(beta, len(ctx.t_index)) + self._ar1(n, 0.85, 0.45)
        s0 = s0 + self._shock("support_level", p, tt)
        effect, post, event = self._effect(p, tt, ctx.synth.true_effects.support_level)
        s1 = s0 + effect
        levels = np.array([0, 2, 3])
        level0 = levels[np.searchsorted(SUPPORT_CUTS, s0)]
        level1 = levels[np.searchsorted(SUPPORT_CUTS, s1)]
        level = np.where(post, level1, level0)
        if truth is not None:
            truth.add(
                "support_level",
                (level1 - level0)[post].astype(float),
                event[post],
                self.person_area[p][post],
            )
        age = ctx.year[tt - ctx.t_index[0]] - self.birth_year[p]
        child = age < 18
        new_law = tt >= quarters.to_index(BARNETS_LOV_FROM)
        residential = np.where(
            np.repeat(self.rng.random(n) < 0.5, len(ctx.t_index)),
            MEASURE_CODE["SEL107"],
            MEASURE_CODE["SEL108"],
        )
        code = MEASURE_CODE
        measure = np.full(len(p), code["none"], dtype=np.int64)
        measure[(level == 2) & child] = np.where(new_law, code["BL32"], code["SEL52_STOETTE"])[
            (level == 2) & child
        ]
        measure[(level == 3) & child] = np.where(new_law, code["BL46"], code["SEL52_ANBR"])[
            (level == 3) & child
        ]
        measure[(level == 2) & ~child] = code["SEL85"]
        measure[(level == 3) & ~child] = residential[(level == 3) & ~child]
        born = np.flatnonzero(age >= 0)
        return {
            **self._rows(p[born], tt[born]),
            "measure": MEASURE_VOCABULARY.take(measure[born]),
        }

    def school_absence(self, truth: Truth | None) -> pd.DataFrame:
        ctx = self.ctx
        n = len(self.hh_index)
        p, tt = self._grid(np.ones(n, bool))
        # School year starts in Q3: grade 0 in the calendar year a child turns 6.
        year = ctx.year[tt - ctx.t_index[0]]
        qnum = (tt % 4) + 1
        school_year_start = np.where(qnum >= 3, year, year - 1)
        grade = school_year_start - self.birth_year[p] - 6
        pupil = (grade >= 0) & (grade <= 9)
        base = self.rng.gamma(3.0, ABSENCE_SCALE[self.group], n)
        rate0 = np.repeat(base, len(ctx.t_index)) + self.rng.normal(0, 0.02, len(p))
        rate0 = rate0 + self._shock("absence_rate", p, tt)
        effect, post, event = self._effect(p, tt, ctx.synth.true_effects.absence_rate)
        rate1 = rate0 + effect
        days = np.array([SCHOOL_DAYS[q] for q in range(1, 5)])[qnum - 1]
        absent0 = np.round(np.clip(rate0, 0, 0.9) * days * 2) / 2
        absent1 = np.round(np.clip(rate1, 0, 0.9) * days * 2) / 2
        absent = np.where(post, absent1, absent0)
        if truth is not None:
            sel = post & pupil
            truth.add(
                "absence_rate",
                ((absent1 - absent0) / days)[sel],
                event[sel],
                self.person_area[p][sel],
            )
        unauthorised = np.round(absent * self.rng.uniform(0.1, 0.4, len(p)) * 2) / 2
        pupil = np.flatnonzero(pupil)
        return {
            **self._rows(p[pupil], tt[pupil]),
            "grade": pa.array(grade[pupil].astype("int64")),
            "school_days": pa.array(days[pupil].astype("int64")),
            "days_absent": pa.array(absent[pupil].astype(float)),
            "days_unauthorised": pa.array(unauthorised[pupil].astype(float)),
        }

    def life_satisfaction(self, truth: Truth | None) -> pd.DataFrame:
        ctx = self.ctx
        if self.group != "intervention":
            return _empty("life_satisfaction")
        adults = np.flatnonzero(self.is_adult & (self.enrol >= 0))
        person_ids = self.person_ids.to_numpy(zero_copy_only=False)
        rows = []
        last = ctx.t_index[-1]
        for person in adults:
            enrol = self.enrol[person]
            exit_q = self.exit_hh[self.hh_index[person]]
            base = self.rng.normal(SATISFACTION_MEAN, 1.6)
            for wave, t in enumerate(range(enrol, last + 1, SURVEY_EVERY)):
                event = t - enrol
                effect = (
                    ctx.synth.true_effects.life_satisfaction
                    * _ramp(np.array([event]), ctx.synth.true_effects.full_after)[0]
                )
                effect *= ctx.synth.true_effects.area_multiplier.get(self.person_area[person], 1.0)
                noise = self.rng.normal(0, 0.9)
                score0 = float(np.clip(np.round(base + noise), 0, 10))
                score1 = float(
                    np.clip(np.round(base + noise + (effect if wave > 0 else 0.0)), 0, 10)
                )
                left = exit_q >= 0 and t > exit_q
                answered = (not left) and self.rng.random() >= ctx.synth.survey_nonresponse
                if truth is not None and wave > 0:
                    truth.add(
                        "life_satisfaction",
                        np.array([score1 - score0]),
                        np.array([event]),
                        np.array([self.person_area[person]]),
                    )
                rows.append(
                    (
                        person_ids[person],
                        wave,
                        ctx.labels[t - ctx.t_index[0]],
                        score1 if answered else np.nan,
                        "answered" if answered else "nonresponse",
                    )
                )
        frame = pd.DataFrame(rows, columns=["person_id", "wave", "quarter", "score", "response"])
        frame["wave"] = frame["wave"].astype("int64")
        frame["score"] = frame["score"].astype(float)
        return frame

    def action_plans(self) -> pd.DataFrame:
        ctx = self.ctx
        if self.group != "intervention":
            return _empty("action_plans")
        rows = []
        goal = self.first_goal
        household_ids = self.household_ids.to_numpy(zero_copy_only=False)
        domains = ["employment", "education", "health", "family", "housing", "economy", "network"]
        last = ctx.t_index[-1]
        for h in range(len(self.household_ids)):
            enrol = self.enrol_hh[h]
            exit_q = self.exit_hh[h]
            end = min(last, exit_q) if exit_q >= 0 else last
            multiplier = ctx.synth.true_effects.area_multiplier.get(self.areas[h], 1.0)
            for _ in range(int(self.rng.integers(1, 6))):
                goal_id = f"G{goal:07d}"
                goal += 1
                domain = domains[int(self.rng.integers(0, len(domains)))]
                status = "open"
                review = enrol + 1
                while review <= end:
                    draw = self.rng.random()
                    if draw < 0.16 * multiplier:
                        status = "achieved"
                    elif draw < 0.16 * multiplier + 0.03:
                        status = "dropped"
                    elif draw < 0.7:
                        status = "in_progress"
                    rows.append(
                        (
                            goal_id,
                            household_ids[h],
                            domain,
                            ctx.labels[enrol - ctx.t_index[0]],
                            ctx.labels[review - ctx.t_index[0]],
                            status,
                        )
                    )
                    if status in ("achieved", "dropped"):
                        break
                    review += REVIEW_EVERY
        self.first_goal = goal
        return pd.DataFrame(
            rows,
            columns=[
                "goal_id",
                "household_id",
                "domain",
                "set_quarter",
                "review_quarter",
                "status",
            ],
        )


def _empty(table: str) -> pd.DataFrame:
    columns = {
        "life_satisfaction": {
            "person_id": str,
            "wave": "int64",
            "quarter": str,
            "score": float,
            "response": str,
        },
        "action_plans": {
            "goal_id": str,
            "household_id": str,
            "domain": str,
            "set_quarter": str,
            "review_quarter": str,
            "status": str,
        },
    }[table]
    return pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in columns.items()})


def area_quarter_shocks(
    areas: list[str], n_quarters: int, synth: SyntheticConfig, seed: int
) -> dict[str, np.ndarray]:
    """Outcome → areas × quarters matrix of shocks (rows in the order of ``areas``).

    A stationary AR(1) per area: first quarter ``N(0, sd²)``, then
    ``e_t = ρ e_{t-1} + N(0, sd² (1 - ρ²))``, independent across areas and outcomes.
    The stream is spawned from ``(seed, 2)``, apart from the households' streams.
    """
    config = synth.area_quarter_shocks
    rng = np.random.default_rng(np.random.SeedSequence([seed, 2]))
    shocks = {}
    for outcome in ("ladder_step", "support_level", "absence_rate"):
        sd = getattr(config, outcome)
        path = np.empty((len(areas), n_quarters))
        path[:, 0] = rng.normal(0, sd, len(areas))
        for j in range(1, n_quarters):
            path[:, j] = config.rho * path[:, j - 1] + rng.normal(
                0, sd * np.sqrt(1 - config.rho**2), len(areas)
            )
        shocks[outcome] = path
    return shocks


@dataclass
class _Context:
    contract: Contract
    synth: SyntheticConfig
    t_index: np.ndarray
    labels: np.ndarray
    year: np.ndarray
    area_row: dict = field(default_factory=dict)  # area code → row of the shock matrices
    shocks: dict = field(default_factory=dict)  # outcome → areas × quarters

    @property
    def label_array(self) -> pa.Array:
        return pa.array(list(self.labels), pa.large_string())


def _intervention_design(rng, contract: Contract, synth: SyntheticConfig, last: int):
    # The generator's programme size, which may differ from the contract's target.
    planned = synth.intervention_households
    n = int(round(planned * (1 - synth.enrolment_shortfall)))
    codes = list(synth.area_shares)
    shares = np.array(list(synth.area_shares.values()))
    areas = rng.choice(codes, size=n, p=shares / shares.sum())
    enrol_quarters = contract.timeline.enrolment.quarters()
    # Enrolment ramps up and tails off: more households in the middle quarters.
    weights = np.hanning(len(enrol_quarters) + 2)[1:-1]
    enrol = rng.choice(len(enrol_quarters), size=n, p=weights / weights.sum())
    order = np.lexsort((areas, enrol))
    areas, enrol = areas[order], enrol[order]
    enrol_q = np.array([enrol_quarters[i] for i in enrol], dtype=object)
    exit_q = np.full(n, None, dtype=object)
    intervention_end = quarters.to_index(contract.timeline.intervention.end)
    for i in range(n):
        start = quarters.to_index(enrol_q[i])
        duration = (
            rng.geometric(synth.attrition_per_quarter) if synth.attrition_per_quarter > 0 else 10**6
        )
        leave = start + duration
        exit_q[i] = quarters.from_index(leave) if leave <= min(intervention_end, last) else None
    return n, areas, enrol_q, exit_q


def comparison_design(synth: SyntheticConfig, comparison_persons: int | None = None):
    """The comparison pool's households and areas (about 90 households an area, 5 at least).

    ``comparison_persons``: as :func:`generate`'s; by default ``comparison_ratio`` times
    the intervention households. Read by the size benchmark too (analysis/size.py), for
    the comparison areas of extracts whose records do not state them.
    """
    if comparison_persons is None:
        n_cmp = int(round(synth.comparison_ratio * synth.intervention_households))
    else:
        n_cmp = max(1, int(round(comparison_persons / 2.6)))
    return n_cmp, int(np.clip(n_cmp // 90, 5, 999))


def generate(
    out: Path | str,
    contract: Contract,
    synth: SyntheticConfig,
    seed: int,
    comparison_persons: int | None = None,
) -> dict:
    """Write a synthetic extract (Parquet tables, ``truth.json``, ``manifest.json``) to ``out``.

    ``comparison_persons`` overrides the comparison pool's size (in persons,
    approximately) for scale runs; by default it is ``comparison_ratio`` times the
    intervention group. The directory is written beside ``out`` and moved into
    place, so a failure never leaves a half-written extract.

    Kept whole: the generator's random streams are drawn in one fixed order (design,
    then each table), and that order is what makes an extract regenerate bit for bit
    from its manifest; the steps stay in one body so the order is visible and cannot be
    changed by moving a helper.
    """
    # Every argument but the destination, as called: the manifest records them all,
    # so :func:`regenerate` can call the writer again with exactly these (a new
    # parameter is recorded without a change here).
    arguments = {name: value for name, value in locals().items() if name != "out"}
    out = Path(out)
    sequence = np.random.SeedSequence(seed)
    design_rng, intervention_rng, *_ = [np.random.default_rng(s) for s in sequence.spawn(2)]
    first = quarters.to_index(contract.timeline.baseline_start)
    last = quarters.to_index(synth.data_end)
    t_index = np.arange(first, last + 1)
    ctx = _Context(
        contract,
        synth,
        t_index,
        np.array(quarters.index_to_labels(t_index), dtype=object),
        t_index // 4,
    )
    n_int, areas, enrol_q, exit_q = _intervention_design(design_rng, contract, synth, last)
    n_cmp, n_areas = comparison_design(synth, comparison_persons)
    cmp_areas_all = np.array(
        [f"C{i + 1:02d}" if n_areas < 100 else f"C{i + 1:03d}" for i in range(n_areas)],
        dtype=object,
    )
    all_areas = list(synth.area_shares) + list(cmp_areas_all)
    ctx.area_row = {code: row for row, code in enumerate(all_areas)}
    ctx.shocks = area_quarter_shocks(all_areas, len(t_index), synth, seed)

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    writers: dict[str, pq.ParquetWriter] = {}
    # Parquet encoding and compression (which release the GIL) run in one background
    # thread while the next chunk is generated; one chunk in flight bounds memory.
    background = ThreadPoolExecutor(max_workers=1)
    generators = None
    pending: list = []
    truth = Truth()
    counts = {table: 0 for table in TABLES}

    def write(table: str, columns: pd.DataFrame | dict) -> None:
        if isinstance(columns, pd.DataFrame):
            arrow = pa.Table.from_pandas(columns, preserve_index=False)
        else:
            arrow = pa.table(columns)
        if table not in writers:
            # The file's schema, pandas metadata included, is the one pandas gives
            # the first chunk (the intervention group's), as the files always had.
            schema = pa.Table.from_pandas(arrow.to_pandas(), preserve_index=False).schema
            writers[table] = pq.ParquetWriter(tmp / f"{table}.parquet", schema, compression="zstd")
        pending.append(
            background.submit(writers[table].write_table, arrow.cast(writers[table].schema))
        )
        counts[table] += arrow.num_rows

    try:
        chunk_sizes = [n_int] + [
            min(CHUNK_HOUSEHOLDS, n_cmp - s) for s in range(0, n_cmp, CHUNK_HOUSEHOLDS)
        ]
        chunk_rngs = [intervention_rng] + [
            np.random.default_rng(s)
            for s in np.random.SeedSequence([seed, 1]).spawn(len(chunk_sizes) - 1)
        ]

        def tables_of(chunk: _Chunk, record: Truth | None) -> dict:
            # Generated in this order (it fixes each table's draws from the chunk's stream).
            return {
                "households": chunk.households,
                "persons": chunk.persons,
                "benefits": chunk.benefits(record),
                "social_measures": chunk.social_measures(record),
                "school_absence": chunk.school_absence(record),
                "life_satisfaction": chunk.life_satisfaction(record),
                "action_plans": chunk.action_plans(),
            }

        def write_next() -> None:
            generated = generating.pop(0).result()
            for job in pending:  # the previous chunk is written before this one
                job.result()
            pending.clear()
            for table, columns in generated.items():
                write(table, columns)

        # Each chunk draws from a stream of its own (spawned above), so two chunks are
        # generated at once, in two threads (NumPy's and Arrow's loops release the GIL),
        # and written in order: the same files as one chunk after the other. Two chunks
        # generating and one being written bound memory.
        generators = ThreadPoolExecutor(max_workers=GENERATING)
        generating: list = []
        next_household, next_person, next_goal = 1, 1, 1
        for number, (size, rng) in enumerate(zip(chunk_sizes, chunk_rngs, strict=True)):
            if number == 0:
                group, chunk_areas, cq, xq = "intervention", areas, enrol_q, exit_q
            else:
                group = "comparison"
                chunk_areas = cmp_areas_all[rng.integers(0, n_areas, size)]
                cq = np.full(size, None, dtype=object)
                xq = np.full(size, None, dtype=object)
            chunk = _Chunk(
                rng, group, size, next_household, next_person, next_goal, chunk_areas, cq, xq, ctx
            )
            record = truth if group == "intervention" else None
            if len(generating) == GENERATING:
                write_next()
            generating.append(generators.submit(tables_of, chunk, record))
            if group == "intervention":
                # Its action plans number the goals; the next chunk's continue from them
                # (a comparison chunk has none and leaves the number as it was).
                generating[-1].result()
            next_household += size
            next_person += len(chunk.person_ids)
            next_goal = chunk.first_goal
            del chunk
        while generating:
            write_next()
        generators.shutdown()
        for job in pending:
            job.result()
        background.shutdown()
        for writer in writers.values():
            writer.close()
        truth_doc = {
            "configured": synth.true_effects.model_dump(),
            "realised_att": truth.as_dict(),
            "note": "realised_att is the mean of Y(1) - Y(0) over treated post-enrolment cells",
        }
        (tmp / "truth.json").write_text(
            json.dumps(truth_doc, indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
        manifest = {
            "synthetic": True,
            "seed": seed,
            "parameters": synth.model_dump(),
            "comparison_households": n_cmp,
            "intervention_households": n_int,
            "rows": counts,
            GENERATOR: describe("generate", arguments),
        }
        (tmp / "manifest.json").write_text(manifest_text(manifest), encoding="utf-8")
        # What these arguments write, as a regeneration would find it: cached, so the
        # extract just written is not generated a second time to prove it synthetic.
        remember(manifest[GENERATOR], tmp)
        os.chmod(tmp, 0o755)
        atomic.move_into_place(tmp, out)
    except BaseException:
        if generators is not None:
            generators.shutdown(wait=True, cancel_futures=True)
        background.shutdown(wait=True, cancel_futures=True)
        for writer in writers.values():
            writer.close()
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return manifest


# --------------------------------------------------------------- regeneration

GENERATOR = "generator"  # the manifest's record of how the extract was written
MANIFEST = "manifest.json"
# Source files whose every byte can change what a writer
# (:func:`analysis.data.regenerate.writers`) writes;
# with the libraries' versions they make the code version a manifest records and
# the key of every cached answer: a writer's module missing here would let a cached
# answer outlive a change to it.
GENERATOR_CODE = (
    "analysis/config.py",
    "analysis/quarters.py",
    "analysis/data/codes.py",
    "analysis/data/deliveries.py",  # the deliveries' writer (write_delivery)
    "analysis/data/io.py",
    "analysis/data/schemas.py",
    "analysis/data/synth.py",
)
# Where regeneration answers are cached (git-ignored); tests point it elsewhere.
CACHE = Path(__file__).resolve().parents[2] / "build" / "regenerated"


def manifest_text(manifest: dict) -> str:
    """A manifest as the generator writes it (sorted keys, two-space indent, final newline)."""
    return json.dumps(manifest, indent=2, sort_keys=True) + "\n"


def manifest_digest(manifest: dict) -> str:
    """SHA-256 of a manifest's content, the list of files aside (layout and key order aside too).

    What regeneration compares for ``manifest.json``: the writer's manifest and the
    one in the folder must say the same; rewriting it with other indentation or
    key order changes nothing, while an edited value does.
    """
    content = {k: v for k, v in manifest.items() if k != "files"}
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@functools.cache
def code_version() -> str:
    """SHA-256 of the generator's source and of the versions of the libraries that write its bytes."""
    root = Path(__file__).resolve().parents[2]
    digest = hashlib.sha256()
    for package in ("numpy", "pandas", "pyarrow", "pydantic"):
        try:
            digest.update(f"{package} {metadata.version(package)}\n".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{package} -\n".encode())
    for name in GENERATOR_CODE:
        digest.update(f"{name}\n".encode())
        digest.update((root / name).read_bytes())
    return digest.hexdigest()


def _encode(value):
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, Path):
        return str(value)
    return value


def describe(writer: str, arguments: dict) -> dict:
    """The manifest's ``generator`` entry: the writer, its arguments and the code version.

    The arguments are kept as JSON text: the order inside a mapping (the areas'
    shares) is part of what the generator draws, and a manifest rewritten with
    sorted keys must not change it.
    """
    encoded = {name: _encode(value) for name, value in arguments.items()}
    return {
        "writer": writer,
        "arguments": json.dumps(encoded, ensure_ascii=False),
        "code": code_version(),
    }


def derive(generator: dict, writer: str, **more) -> dict:
    """The ``generator`` entry of another writer that takes ``generator``'s arguments and ``more``.

    E.g. a delivery cut from a generated extract (:mod:`analysis.data.deliveries`).
    """
    arguments = {**json.loads(generator["arguments"]), **more}
    return {
        "writer": writer,
        "arguments": json.dumps(arguments, ensure_ascii=False),
        "code": code_version(),
    }


def list_checksums(directory: Path | str) -> dict:
    """List the SHA-256 of every file the generator wrote in its manifest (called right after it).

    The list is a quick first test (a changed file is real without regenerating);
    it proves nothing by itself: :func:`analysis.provenance.extract_kind` regenerates.
    """
    directory = Path(directory)
    path = directory / MANIFEST
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["files"] = {
        p.name: sha256(p)
        for p in sorted(directory.iterdir())
        if p.name != MANIFEST and p.is_file() and not p.name.startswith(".")
    }
    atomic.write_text(path, manifest_text(manifest))
    return manifest


def checksums(folder: Path) -> dict[str, str]:
    """SHA-256 of every regular file the writer left in ``folder`` (the manifest's content digest)."""
    files = {
        p.name: sha256(p)
        for p in sorted(Path(folder).iterdir())
        if p.is_file() and not p.name.startswith(".") and p.name != MANIFEST
    }
    path = Path(folder) / MANIFEST
    if path.is_file():
        files[MANIFEST] = manifest_digest(json.loads(path.read_text(encoding="utf-8")))
    return files


def remember(generator: dict, folder: Path) -> None:
    """Cache what ``generator`` writes, as found in ``folder`` just written by its writer."""
    _cache_store(generator, checksums(folder))


def _cache_key(generator: dict) -> str:
    # Sorted: the entry is read back from manifests written with sorted keys (its
    # arguments, whose order matters, are JSON text and keep theirs).
    text = json.dumps(generator, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"{text}\n{code_version()}".encode()).hexdigest()


def _cache_store(generator: dict, files: dict[str, str]) -> None:
    key = _cache_key(generator)
    _MEMO[key] = dict(files)
    try:
        atomic.write_json(Path(CACHE) / f"{key}.json", {"files": dict(sorted(files.items()))})
    except OSError:
        pass  # a read-only install: every check regenerates


_MEMO: dict[str, dict[str, str]] = {}


def cached(generator: dict) -> dict[str, str] | None:
    """The files ``generator`` writes as cached (:func:`remember`), or None."""
    key = _cache_key(generator)
    if key in _MEMO:
        return _MEMO[key]
    try:
        content = json.loads((Path(CACHE) / f"{key}.json").read_text(encoding="utf-8"))
        files = content["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(files, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in files.items()
    ):
        return None
    _MEMO[key] = files
    return files
