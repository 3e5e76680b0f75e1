"""Code lists of the data contract and what each code means.

Each code list maps a code to (English meaning, Danish term, derived value). The
derived values (ladder step, support level) are what the payment targets use.
"""

from __future__ import annotations

from analysis.quarters import Quarter

# Benefit category -> (meaning, Danish term, self-sufficiency step; None = outside the ladder)
BENEFIT_CATEGORIES: dict[str, tuple[str, str, int | None]] = {
    "ressourceforloeb": ("resource programme", "ressourceforløb", 1),
    "jobafklaring": ("job clarification programme", "jobafklaringsforløb", 1),
    "kontanthjaelp_aktivitetsparat": (
        "social assistance, activity-ready",
        "aktivitetsparat kontanthjælp",
        1,
    ),
    "uddannelseshjaelp_aktivitetsparat": (
        "education benefit, activity-ready",
        "aktivitetsparat uddannelseshjælp",
        1,
    ),
    "sygedagpenge_lang": ("sickness benefit, long-term", "sygedagpenge (langvarig)", 1),
    "kontanthjaelp_jobparat": ("social assistance, job-ready", "jobparat kontanthjælp", 2),
    "uddannelseshjaelp_uddannelsesparat": (
        "education benefit, education-ready",
        "uddannelsesparat uddannelseshjælp",
        2,
    ),
    "dagpenge": ("unemployment insurance benefit", "a-dagpenge", 2),
    "sygedagpenge_kort": ("sickness benefit, short", "sygedagpenge (kortvarig)", 2),
    "fleksjob": ("flexi-job", "fleksjob", 3),
    "loentilskud": ("wage subsidy", "løntilskud", 3),
    "deltid_supplement": ("part-time work with top-up", "deltid med supplerende ydelse", 3),
    "beskaeftigelse": ("ordinary employment", "ordinær beskæftigelse", 4),
    "su": ("education with student grant", "uddannelse med SU", 4),
    "ingen_ydelse": ("no public benefit", "ingen offentlig ydelse", 4),
    "foertidspension": ("disability pension", "førtidspension", None),
    "folkepension": ("state pension", "folkepension", None),
    "efterloen": ("early retirement", "efterløn", None),
}

LADDER_STEPS: dict[int, tuple[str, str]] = {
    1: ("far from the labour market", "langt fra arbejdsmarkedet"),
    2: ("ready for work or education", "job- eller uddannelsesparat"),
    3: ("partly self-supporting", "delvist selvforsørgende"),
    4: ("self-supporting or in education", "selvforsørgende eller i uddannelse"),
}

# Social measure -> (meaning, Danish term, support level)
SOCIAL_MEASURES: dict[str, tuple[str, str, int]] = {
    "none": ("no measure", "ingen foranstaltning", 0),
    "SEL52_STOETTE": (
        "child: supporting measure (before 2024)",
        "Serviceloven §52, støttende foranstaltning",
        2,
    ),
    "SEL52_ANBR": (
        "child: out-of-home placement (before 2024)",
        "Serviceloven §52, anbringelse",
        3,
    ),
    "BL32": ("child: supporting measure", "Barnets Lov §32", 2),
    "BL46": ("child: out-of-home placement", "Barnets Lov §§46–47", 3),
    "SEL85": ("adult: support in own home", "Serviceloven §85", 2),
    "SEL107": ("adult: temporary residential care", "Serviceloven §107", 3),
    "SEL108": ("adult: long-term residential care", "Serviceloven §108", 3),
}
# The quarter the new Barnets lov took effect (its codes are valid from then).
BARNETS_LOV_FROM = Quarter("2024Q1")
BARNETS_LOV_CODES = ("BL32", "BL46")
PRE_BARNETS_LOV_CODES = ("SEL52_STOETTE", "SEL52_ANBR")

GROUPS: dict[str, tuple[str, str]] = {
    "intervention": ("intervention group", "indsatsgruppe"),
    "comparison": ("comparison group", "kontrolgruppe"),
}

HOUSEHOLD_TYPES: dict[str, tuple[str, str]] = {
    "single_parent": ("single adult with children", "enlig med børn"),
    "couple_children": ("couple with children", "par med børn"),
    "single": ("single adult without children", "enlig uden børn"),
    "couple": ("couple without children", "par uden børn"),
}

SEXES: dict[str, tuple[str, str]] = {"M": ("male", "mand"), "K": ("female", "kvinde")}

SURVEY_RESPONSES: dict[str, tuple[str, str]] = {
    "answered": ("answered", "besvaret"),
    "nonresponse": ("did not answer", "ikke besvaret"),
}

GOAL_DOMAINS: dict[str, tuple[str, str]] = {
    "employment": ("employment", "beskæftigelse"),
    "education": ("education", "uddannelse"),
    "health": ("health", "sundhed"),
    "family": ("family and children", "familie og børn"),
    "housing": ("housing", "bolig"),
    "economy": ("personal finances", "økonomi"),
    "network": ("social network", "netværk"),
}

GOAL_STATUSES: dict[str, tuple[str, str]] = {
    "open": ("not started", "ikke påbegyndt"),
    "in_progress": ("in progress", "i gang"),
    "achieved": ("achieved", "opfyldt"),
    "dropped": ("dropped", "opgivet"),
}

COMPARISON_AREA_PATTERN = r"^C\d{2,3}$"


def ladder_step(category: str) -> int | None:
    """Self-sufficiency step of a benefit category (None outside the ladder)."""
    return BENEFIT_CATEGORIES[category][2]


def support_level(measure: str) -> int:
    """Support level (0 none, 2 supporting, 3 placement/residential) of a measure."""
    return SOCIAL_MEASURES[measure][2]


# The self-sufficiency step of each benefit category (NaN: outside the ladder).
STEP_OF_CATEGORY = {
    code: (float("nan") if step is None else float(step))
    for code, (_, _, step) in BENEFIT_CATEGORIES.items()
}
# Support levels 0, 2, 3 are ranks 0, 1, 2: a fall from 3 to 0 is two steps.
RANK_OF_MEASURE = {
    code: {0: 0, 2: 1, 3: 2}[level] for code, (_, _, level) in SOCIAL_MEASURES.items()
}
