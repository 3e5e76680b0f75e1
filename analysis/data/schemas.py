"""Pandera schemas of the seven tables of the data contract (documented in data/README.md, generated from them).

Each column carries its meaning in English (``description``) and its Danish term
(``title``); ``data/README.md`` is generated from these schemas, so the document
and the checks cannot drift apart. Cross-table rules (referential integrity) live
in :mod:`analysis.data.validate`.
"""

from __future__ import annotations

import re

import pandas as pd
import pandera.pandas as pa

from analysis import quarters
from analysis.config import Contract
from analysis.data import codes

ID_PATTERN = r"^[A-Za-z][A-Za-z0-9_-]{0,31}$"
QUARTER_PATTERN = r"^[0-9]{4}Q[1-4]$"

TABLES = (
    "households",
    "persons",
    "benefits",
    "social_measures",
    "school_absence",
    "life_satisfaction",
    "action_plans",
)

TABLE_DESCRIPTIONS = {
    "households": (
        "household",
        "husstande",
        "Every household in the intervention or comparison group.",
    ),
    "persons": ("person", "personer", "Every member of those households."),
    "benefits": (
        "person × quarter",
        "ydelser",
        "Predominant public benefit of adults per quarter (DREAM-style, aggregated).",
    ),
    "social_measures": (
        "person × quarter",
        "sociale foranstaltninger",
        "Active social measure per person and quarter, or none.",
    ),
    "school_absence": (
        "pupil × quarter",
        "skolefravær",
        "School days and days absent of pupils in grades 0–9.",
    ),
    "life_satisfaction": (
        "person × wave",
        "livstilfredshed",
        "Survey answers of adults in the intervention group (0–10), or non-response.",
    ),
    "action_plans": (
        "goal × review",
        "handleplansmål",
        "Action-plan goals of intervention households and their status at each review.",
    ),
}

ID_COLUMNS = {"household_id", "person_id", "goal_id"}


def _codes(mapping: dict) -> list[str]:
    return list(mapping)


def _id(title: str, description: str, unique: bool = False) -> pa.Column:
    return pa.Column(
        str,
        pa.Check.str_matches(
            ID_PATTERN, error="pseudonymous id: a letter, then up to 31 letters, digits, _ or -"
        ),
        unique=unique,
        title=title,
        description=description,
    )


def _quarter(contract: Contract, title: str, description: str, nullable: bool = False) -> pa.Column:
    first = quarters.to_index(contract.timeline.baseline_start)
    last = quarters.to_index(contract.timeline.commitment.end)

    def inside(values: pd.Series) -> pd.Series:
        index = quarters.series_to_index(values)
        return (index >= first) & (index <= last) | values.isna()

    window = f"{contract.timeline.baseline_start}–{contract.timeline.commitment.end}"
    return pa.Column(
        str,
        [
            pa.Check.str_matches(QUARTER_PATTERN, error="quarter written YYYYQn"),
            pa.Check(
                inside, element_wise=False, error=f"quarter inside the programme window {window}"
            ),
        ],
        nullable=nullable,
        title=title,
        description=description,
    )


def _category(mapping: dict, title: str, description: str, nullable: bool = False) -> pa.Column:
    return pa.Column(
        str, pa.Check.isin(_codes(mapping)), nullable=nullable, title=title, description=description
    )


def build_schemas(contract: Contract) -> dict[str, pa.DataFrameSchema]:
    """The schema of every table, with windows and area codes from the contract.

    Kept whole: the schema of each table is declared in one place, table after table,
    with the checks that close over the contract's windows and area codes; split up,
    each table's declaration would need those closures passed in, and the schemas would
    no longer read as one contract.
    """
    intervention_areas = contract.area_codes
    area_regex = re.compile(codes.COMPARISON_AREA_PATTERN)

    def area_matches_group(frame: pd.DataFrame) -> pd.Series:
        is_intervention = frame["group"] == "intervention"
        in_programme_area = frame["area"].isin(intervention_areas)
        # The pattern once per distinct area, not once per household (a second at a
        # pool of a million persons).
        areas = frame["area"].astype(str)
        matches = {a: bool(area_regex.match(a)) for a in areas.unique()}
        in_comparison_area = areas.map(matches).astype(bool)
        return (is_intervention & in_programme_area) | (~is_intervention & in_comparison_area)

    def enrolment_matches_group(frame: pd.DataFrame) -> pd.Series:
        is_intervention = frame["group"] == "intervention"
        has_enrolment = frame["enrolment_quarter"].notna()
        return is_intervention == has_enrolment

    enrol_first = quarters.to_index(contract.timeline.intervention.start)
    enrol_last = quarters.to_index(contract.timeline.enrolment.end)

    def enrolment_in_window(frame: pd.DataFrame) -> pd.Series:
        enrol = quarters.series_to_index(frame["enrolment_quarter"])
        return (enrol.isna() | ((enrol >= enrol_first) & (enrol <= enrol_last))).astype(bool)

    def exit_only_enrolled(frame: pd.DataFrame) -> pd.Series:
        return (frame["exit_quarter"].isna() | (frame["group"] == "intervention")).astype(bool)

    def exit_after_enrolment(frame: pd.DataFrame) -> pd.Series:
        enrol = quarters.series_to_index(frame["enrolment_quarter"])
        leave = quarters.series_to_index(frame["exit_quarter"])
        return (leave.isna() | enrol.isna() | (leave >= enrol)).fillna(True).astype(bool)

    households = pa.DataFrameSchema(
        {
            "household_id": _id("husstands-id", "pseudonymous household id", unique=True),
            "group": _category(codes.GROUPS, "gruppe", "intervention or comparison"),
            "area": pa.Column(
                str,
                title="boligområde",
                description=f"housing area: {', '.join(intervention_areas)} for the intervention, C01… for comparison areas",
            ),
            "household_type": _category(
                codes.HOUSEHOLD_TYPES, "husstandstype", "composition at referral"
            ),
            "enrolment_quarter": _quarter(
                contract,
                "indskrivningskvartal",
                "quarter of enrolment (intervention only)",
                nullable=True,
            ),
            "exit_quarter": _quarter(
                contract,
                "udskrivningskvartal",
                "quarter the household left the intervention, if it did",
                nullable=True,
            ),
            "open_cases": pa.Column(
                int,
                pa.Check.in_range(2, 50),
                title="åbne sager",
                description="open municipal cases at referral (eligibility: two or more)",
            ),
        },
        checks=[
            pa.Check(
                area_matches_group,
                error="area must be a programme area for the intervention and a comparison area (C01…) otherwise",
            ),
            pa.Check(
                enrolment_matches_group,
                error="enrolment_quarter is given exactly for intervention households",
            ),
            pa.Check(exit_after_enrolment, error="exit_quarter is not before enrolment_quarter"),
            pa.Check(
                enrolment_in_window,
                error=f"enrolment_quarter inside the enrolment window {contract.timeline.intervention.start}–{contract.timeline.enrolment.end}",
            ),
            pa.Check(
                exit_only_enrolled,
                error="exit_quarter is given only for intervention households",
            ),
        ],
        strict=True,
        coerce=True,
        name="households",
    )
    persons = pa.DataFrameSchema(
        {
            "person_id": _id("person-id", "pseudonymous person id", unique=True),
            "household_id": _id("husstands-id", "household the person belongs to"),
            "birth_year": pa.Column(
                int, pa.Check.in_range(1920, 2028), title="fødselsår", description="year of birth"
            ),
            "sex": _category(codes.SEXES, "køn", "M male, K female (kvinde)"),
        },
        strict=True,
        coerce=True,
        name="persons",
    )
    benefits = pa.DataFrameSchema(
        {
            "person_id": _id("person-id", "person"),
            "quarter": _quarter(contract, "kvartal", "calendar quarter"),
            "benefit_category": _category(
                codes.BENEFIT_CATEGORIES,
                "ydelseskategori",
                "predominant benefit category in the quarter",
            ),
            "weeks_on_benefit": pa.Column(
                int,
                pa.Check.in_range(0, 14),
                title="uger på ydelse",
                description="weeks on public benefits in the quarter",
            ),
        },
        unique=["person_id", "quarter"],
        strict=True,
        coerce=True,
        name="benefits",
    )

    def barnets_lov_dates(frame: pd.DataFrame) -> pd.Series:
        index = quarters.series_to_index(frame["quarter"])
        start = quarters.to_index(codes.BARNETS_LOV_FROM)
        new_law = frame["measure"].isin(codes.BARNETS_LOV_CODES)
        old_law = frame["measure"].isin(codes.PRE_BARNETS_LOV_CODES)
        return (
            (~(new_law & (index < start)) & ~(old_law & (index >= start))).fillna(True).astype(bool)
        )

    social_measures = pa.DataFrameSchema(
        {
            "person_id": _id("person-id", "person"),
            "quarter": _quarter(contract, "kvartal", "calendar quarter"),
            "measure": _category(
                codes.SOCIAL_MEASURES, "foranstaltning", "active measure by legal basis, or none"
            ),
        },
        checks=[
            pa.Check(
                barnets_lov_dates,
                error=f"Barnets Lov codes only from {codes.BARNETS_LOV_FROM}, Serviceloven §52 codes only before",
            )
        ],
        unique=["person_id", "quarter"],
        strict=True,
        coerce=True,
        name="social_measures",
    )
    school_absence = pa.DataFrameSchema(
        {
            "person_id": _id("person-id", "pupil"),
            "quarter": _quarter(contract, "kvartal", "calendar quarter"),
            "grade": pa.Column(
                int,
                pa.Check.in_range(0, 10),
                title="klassetrin",
                description="grade (0 = børnehaveklasse)",
            ),
            "school_days": pa.Column(
                int,
                pa.Check.in_range(1, 70),
                title="skoledage",
                description="school days in the quarter",
            ),
            "days_absent": pa.Column(
                float,
                pa.Check.ge(0),
                title="fraværsdage",
                description="days absent (sickness, permitted and unauthorised)",
            ),
            "days_unauthorised": pa.Column(
                float,
                pa.Check.ge(0),
                title="ulovligt fravær",
                description="days of unauthorised absence",
            ),
        },
        checks=[
            pa.Check(
                lambda f: f["days_absent"] <= f["school_days"], error="days_absent ≤ school_days"
            ),
            pa.Check(
                lambda f: f["days_unauthorised"] <= f["days_absent"],
                error="days_unauthorised ≤ days_absent",
            ),
        ],
        unique=["person_id", "quarter"],
        strict=True,
        coerce=True,
        name="school_absence",
    )

    def score_matches_response(frame: pd.DataFrame) -> pd.Series:
        answered = frame["response"] == "answered"
        return answered == frame["score"].notna()

    life_satisfaction = pa.DataFrameSchema(
        {
            "person_id": _id("person-id", "respondent"),
            "wave": pa.Column(
                int,
                pa.Check.in_range(0, 20),
                title="runde",
                description="0 at enrolment, then follow-up waves 1, 2, …",
            ),
            "quarter": _quarter(contract, "kvartal", "quarter of the survey"),
            "score": pa.Column(
                float,
                [
                    pa.Check.in_range(0, 10),
                    pa.Check(lambda s: s.dropna() % 1 == 0, error="whole number"),
                ],
                nullable=True,
                title="score",
                description='"Alt i alt, hvor tilfreds er du med dit liv for tiden?" 0–10; empty on non-response',
            ),
            "response": _category(codes.SURVEY_RESPONSES, "besvarelse", "answered or nonresponse"),
        },
        checks=[
            pa.Check(
                score_matches_response, error="score is given exactly when response is 'answered'"
            )
        ],
        unique=["person_id", "wave"],
        strict=True,
        coerce=True,
        name="life_satisfaction",
    )

    def review_after_set(frame: pd.DataFrame) -> pd.Series:
        return (
            (
                quarters.series_to_index(frame["review_quarter"])
                >= quarters.series_to_index(frame["set_quarter"])
            )
            .fillna(True)
            .astype(bool)
        )

    action_plans = pa.DataFrameSchema(
        {
            "goal_id": _id("mål-id", "pseudonymous goal id"),
            "household_id": _id("husstands-id", "household whose plan holds the goal"),
            "domain": _category(codes.GOAL_DOMAINS, "område", "life domain of the goal"),
            "set_quarter": _quarter(contract, "fastsat", "quarter the goal was set"),
            "review_quarter": _quarter(contract, "opfølgning", "quarter of the review"),
            "status": _category(codes.GOAL_STATUSES, "status", "status at the review"),
        },
        checks=[pa.Check(review_after_set, error="review_quarter is not before set_quarter")],
        unique=["goal_id", "review_quarter"],
        strict=True,
        coerce=True,
        name="action_plans",
    )
    return {
        "households": households,
        "persons": persons,
        "benefits": benefits,
        "social_measures": social_measures,
        "school_absence": school_absence,
        "life_satisfaction": life_satisfaction,
        "action_plans": action_plans,
    }
