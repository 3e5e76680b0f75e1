"""The build's rules as data: one list that both ``make`` and ``python -m analysis build`` run.

Every report is a real file target with real inputs. :func:`report_rules` returns
them as :class:`Rule` objects whose words may name the Makefile's variables
(``$(RESULTS)``, ``$(DATA_DEPS)`` …); :func:`makefile` writes them as the text the
Makefile includes (``build/targets.mk``), and :mod:`analysis.pipeline.build`
expands the same objects with the same variables' values and runs them without
make. So a second ``make report`` with nothing changed does nothing, changing one
notebook re-renders only its reports, and a rule added here is built both ways.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from analysis import quarters
from analysis.config import Contract
from analysis.paths import ROOT, SYNTHETIC_DIR
from analysis.reports.kinds import KINDS, load_kind

# A step is always this interpreter running the package's command line.
STEP = ("$(PY)", "-m", "analysis", "--config", "$(CONTRACT)")
# The contract's sections as files (analysis.pipeline.sections), each rewritten only when
# it changed, and the sections a step that does not read the whole contract reads
# (tests/test_build.py records them): the evaluations' estimates do not wait for a
# changed price, cap or disclosure threshold.
SECTIONS_DIR = "$(SECTIONS)"
SECTIONS_STAMP = f"{SECTIONS_DIR}/.stamp"
READS = {"estimates": ("programme", "seed", "timeline")}


@dataclass(frozen=True)
class Rule:
    """Targets made together by one command from the inputs (words may be ``$(VARIABLES)``).

    ``despite_failures``: when a step it needs has failed and the build keeps going
    (``make report``, ``python -m analysis build``), the rule is still run once
    everything else is done, from the inputs there are (the portal lists the
    reports that were made); otherwise it is left out, as make leaves out whatever
    needs a failed step.
    """

    targets: tuple[str, ...]
    inputs: tuple[str, ...]
    command: tuple[str, ...]
    despite_failures: bool = False


@dataclass
class RuleSet:
    """The rules, the named groups of targets the goals are made of, and make's scheduling hints.

    ``groups``: ``QUARTERLY_RESULTS``, ``LEDGER_FILES``, ``EVALUATION_RESULTS``,
    ``ESTIMATE_RESULTS``, ``REPORT_FILES``, ``PORTAL``. ``waits``: order-only
    prerequisites (targets, what they wait for) that only order the steps of
    ``make report`` (:func:`_lanes`); they change no result, so the build without
    make, which schedules by itself, does not need them.
    """

    rules: list[Rule] = field(default_factory=list)
    groups: dict[str, list[str]] = field(default_factory=dict)
    waits: list[tuple[tuple[str, ...], tuple[str, ...]]] = field(default_factory=list)


def _relative(path) -> str:
    return str(path.relative_to(ROOT))


def _sections(step: str) -> tuple[str, ...]:
    return tuple(f"{SECTIONS_DIR}/{name}.json" for name in READS[step])


def section_rules() -> list[Rule]:
    """The rule writing the contract's sections (only those that changed), and one without a
    command per section file read by a step, so that make knows where it comes from.

    ``$(CONTRACT_ARGS)`` changes with the contract's path and contents (``build/targets.args``
    under make), so that another, older contract file still writes its sections.
    """
    stamp = Rule(
        (SECTIONS_STAMP,),
        ("$(CONTRACT)", "$(CONTRACT_ARGS)", "analysis/config.py", "analysis/pipeline/sections.py"),
        (*STEP, "contract-sections", "--out", SECTIONS_DIR),
    )
    files = sorted({path for step in READS for path in _sections(step)})
    return [stamp, *(Rule((path,), (SECTIONS_STAMP,), ()) for path in files)]


def synthetic_rule() -> Rule:
    """The synthetic demo extract (every delivery), made from the generator's code and configuration."""
    out = _relative(SYNTHETIC_DIR)
    return Rule(
        (f"{out}/manifest.json",),
        ("$(RESULTS_DEPS)", "$(CONFIG)"),
        (*STEP, "synth", "--deliveries", "--out", out),
    )


@dataclass
class _Collected:
    """What :func:`report_rules` gathers while it walks the reports."""

    rules: list[Rule]
    results: list[str] = field(default_factory=list)  # quarterly results' markers
    reports: list[str] = field(default_factory=list)  # quarterly reports (HTML, PDF)
    evaluation_reports: list[str] = field(default_factory=list)
    ledgers: list[str] = field(default_factory=list)
    evaluations: list[str] = field(default_factory=list)  # evaluation stages' markers
    estimates: list[str] = field(default_factory=list)  # evaluation estimates' markers
    # The outputs of the steps that wait for the gate, and the gate (see _lanes); the
    # quarterly (payment) reports wait for the chain's end only.
    held_steps: list[tuple[str, ...]] = field(default_factory=list)
    payment_steps: list[tuple[str, ...]] = field(default_factory=list)
    gate: list[str] = field(default_factory=list)


def report_rules(
    contract: Contract,
    as_of: str | None,
    langs: list[str],
    quarterly_langs: list[str],
    jobs: int | None = None,
    reach: str | None = None,
) -> RuleSet:
    """Every rule of ``make report``: the synthetic extract, quarterly results and reports,
    ledgers, evaluation estimates, stages and reports, and the portal.

    ``reach``: the last quarter the data reach (:func:`analysis.data.deliveries.reach`).
    Only reports whose cut-off the data reach get rules: the quarterly reports up to
    it, and an evaluation once its cut-off has data; the others are due later (the
    portal lists them as due).

    ``jobs``: the job slots of ``make -j`` (the cores). With two or more, the
    evaluations' estimates run beside the chain of quarterly results in ``jobs - 1``
    lanes, so that the chain always has a slot of its own, and the other steps after
    the chain wait for what the final stage needs, so that it starts first
    (:func:`_lanes`).
    """
    last = as_of or load_kind("quarterly").default_as_of(contract)
    if reach is not None and quarters.to_index(last) > quarters.to_index(reach):
        last = reach
    report_quarters = quarters.span(contract.timeline.intervention.start, last)
    got = _Collected([synthetic_rule(), *section_rules()])
    for quarter in report_quarters:
        _quarterly(got, quarter, quarterly_langs)
    # The evaluation reports, the last evaluation first: make walks the goals in this
    # order, so that the longest steps after the chain (the final stage) start first.
    for name in KINDS[1:]:
        cutoff = load_kind(name).as_of(contract, None)
        if reach is None or quarters.to_index(cutoff) <= quarters.to_index(reach):
            _evaluation(got, name, cutoff, report_quarters, langs)
    reports = got.evaluation_reports + got.reports
    waits = []
    if jobs and jobs > 1:
        # Without final reports (LANGS empty) nothing needs the final stage: no gate.
        gate = tuple(dict.fromkeys([got.results[-1], *(got.gate if langs else [])]))
        waits = _lanes(got.estimates, got.held_steps, gate, jobs - 1)
        waits += [(outputs, (got.results[-1],)) for outputs in got.payment_steps]
    # The portal lists every report: redone when any of them is, and after a failed
    # step too, from the reports that were made (a failed estimate leaves the quarterly
    # payment reports, and a portal that links them).
    portal = "$(REPORTS)/index.html"
    got.rules.append(
        Rule(
            (portal,),
            (*reports, "$(RENDER_DEPS)"),
            (*STEP, "portal", "--reports", "$(REPORTS)"),
            despite_failures=True,
        )
    )
    groups = {
        "QUARTERLY_RESULTS": got.results,
        "LEDGER_FILES": got.ledgers,
        "EVALUATION_RESULTS": got.evaluations,
        # The steps that read the extract (the Makefile has them wait for its validation).
        "ESTIMATE_RESULTS": got.estimates,
        "REPORT_FILES": reports,
        "PORTAL": [portal],
    }
    return RuleSet(got.rules, groups, waits)


def _report_outputs(kind, as_of: str, lang: str) -> tuple[str, ...]:
    return tuple(
        f"$(REPORTS)/{_relative(p)[len('reports/') :]}"
        for p in kind.paths(as_of, lang, ROOT / "reports").values()
    )


def _quarterly(got: _Collected, quarter: str, langs: list[str]) -> None:
    """The quarter's results (after the quarter before) and its report in each language."""
    kind = load_kind("quarterly")
    # The folder's completion marker, written last (whole or nothing).
    key = f"$(RESULTS)/quarterly/{quarter}/provenance.json"
    # Disclosure control of a quarter starts from what the one before published.
    before = got.results[-1:]
    got.results.append(key)
    got.rules.append(
        Rule(
            (key,),
            (*before, "$(DATA_DEPS)", "$(RESULTS_DEPS)", "$(CONFIG)"),
            (*STEP, "quarterly", "--data", "$(DATA)", "--as-of", quarter)
            + ("--out", f"$(RESULTS)/quarterly/{quarter}", "$(LEDGER_ARG)"),
        )
    )
    for lang in langs:
        outputs = _report_outputs(kind, quarter, lang)
        got.reports += outputs[:2]
        got.payment_steps.append(outputs)
        got.rules.append(
            Rule(
                outputs,
                (key, _relative(kind.notebook), "params/quarterly.yaml")
                + ("$(CODE_DEPS)", "$(RENDER_DEPS)"),
                (*STEP, "report", "quarterly", "--as-of", quarter, "--lang", lang)
                + ("--data", "$(DATA)", "--quarterly-dir", "$(RESULTS)/quarterly")
                + ("--reports", "$(REPORTS)", "$(LEDGER_ARG)"),
            )
        )


def _evaluation(
    got: _Collected, name: str, cutoff: str, report_quarters: list[str], langs: list[str]
) -> None:
    """An evaluation's ledger (when no quarterly results are at its cut-off), estimates,
    results stage and its report in each language."""
    kind = load_kind(name)
    published = [
        f"$(RESULTS)/quarterly/{q}/provenance.json"
        for q in report_quarters
        if quarters.to_index(q) <= quarters.to_index(cutoff)
    ][-1:]
    if cutoff not in report_quarters:
        # No quarterly results at the cut-off: the ledger is carried forward
        # from the last quarterly folder, with the result reports due since settled,
        # and the payment results as of the cut-off are computed beside it (the
        # evaluation reads them; analysis.payments.stored).
        ledger = f"$(RESULTS)/ledger/{cutoff}.csv"
        payments = f"$(RESULTS)/payments/{cutoff}"
        if ledger not in got.ledgers:
            got.ledgers.append(ledger)
            got.rules.append(
                Rule(
                    (ledger, f"{payments}/provenance.json"),
                    (*published, "$(DATA_DEPS)", "$(RESULTS_DEPS)", "$(CONFIG)"),
                    (*STEP, "ledger", "--data", "$(DATA)", "--as-of", cutoff)
                    + ("--quarterly-dir", "$(RESULTS)/quarterly", "--out", ledger)
                    + ("--results", payments, "$(LEDGER_ARG)"),
                )
            )
        published = [*published, ledger, f"{payments}/provenance.json"]
    # The results stage: every estimate the report shows, once for all languages.
    # It depends on the code that computes (RESULTS_DEPS), not on the presentation.
    # Its estimates need no quarterly results: a rule of their own, which runs
    # beside the chain of quarterly results (make -j) instead of after it.
    estimated = f"$(RESULTS)/estimates/{name}/{cutoff}"
    staged = f"$(RESULTS)/{name}/{cutoff}/provenance.json"
    got.evaluations.append(staged)
    got.estimates.append(f"{estimated}/provenance.json")
    # The final stage is the longest step after the chain: what it needs (its
    # estimates, the last quarter's results, its ledger) is the gate (_lanes).
    final = name == KINDS[-1]
    if final:
        got.gate = [f"{estimated}/provenance.json", *published]
    else:
        got.held_steps.append((staged,))
    params = f"params/{name}.yaml"
    got.rules += [
        Rule(
            (f"{estimated}/provenance.json",),
            ("$(DATA_DEPS)", params, "$(RESULTS_DEPS)", "config/synthetic.yaml")
            + (*_sections("estimates"), "$(PLAN)"),
            (*STEP, "evaluate", name, "--estimates-only", "--data", "$(DATA)")
            + ("--out", estimated),
        ),
        Rule(
            (staged,),
            (f"{estimated}/provenance.json", *published, "$(DATA_DEPS)", params)
            + ("$(RESULTS_DEPS)", "$(CONFIG)", "$(PLAN)"),
            (*STEP, "evaluate", name, "--data", "$(DATA)")
            + ("--quarterly-dir", "$(RESULTS)/quarterly", "--estimates", estimated)
            + ("--out", f"$(RESULTS)/{name}/{cutoff}"),
        ),
    ]
    kind_reports = []
    for lang in langs:
        outputs = _report_outputs(kind, cutoff, lang)
        kind_reports += outputs[:2]
        if not final:
            got.held_steps.append(outputs)
        got.rules.append(
            Rule(
                outputs,
                (staged, *published, "$(DATA_DEPS)", _relative(kind.notebook), params)
                + ("$(CODE_DEPS)", "$(RENDER_DEPS)", "$(CONFIG)", "$(PLAN)"),
                (*STEP, "report", name, "--lang", lang, "--data", "$(DATA)")
                + ("--quarterly-dir", "$(RESULTS)/quarterly", "--reports", "$(REPORTS)")
                + ("$(LEDGER_ARG)",),
            )
        )
    got.evaluation_reports[:0] = kind_reports


def _lanes(
    estimates: list[str], held_steps: list[tuple[str, ...]], gate: tuple[str, ...], lanes: int
) -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
    """Order-only prerequisites that keep a slot for the chain and start the final stage first.

    GNU make starts the steps in the order it walks the goals, and a step it has
    picked waits for the next free slot, whichever step freed it: with the three
    estimates picked while the chain's first step ran, the chain waited about
    30 s for them (three steps of 10 to 14 CPU seconds). So the estimates
    (``estimates``, their folders' markers), which need no quarterly results, run one after the other in
    ``lanes`` sequences beside the chain, the last evaluation's first (at most
    ``lanes`` picked at once, and a slot the chain frees is taken by its next step).

    The evaluation steps beside or after the chain (``held_steps``: the earlier
    evaluations' stages and reports) wait for ``gate``: the chain's last quarter and
    what the final stage needs (its estimates and its ledger). The quarterly reports
    wait for the chain's last quarter only (:func:`report_rules`): they are the
    payments, which never wait for estimation, so that with ``make -k`` (as ``make
    report`` runs) a failed estimate stops the evaluation reports and none of them. That stage is the longest step after the chain and its two reports
    follow it. When the gate opens, none of the held steps has started, so make,
    walking its goals from the first (the final report), starts that stage before
    them. Its estimates ran last in the lane before, so make was part-way through a
    walk when they ended, picked the midterm stage and the quarterly reports first,
    and started the final stage 9 s later.
    Only for ``make report`` (the lanes bring in reports that ``make results``
    does not make).
    """
    # The last evaluation's estimates first: its stage is the first step after the gate.
    order = estimates[::-1]
    waits = [((order[i],), (order[i - lanes],)) for i in range(lanes, len(order))]
    return waits + [(outputs, gate) for outputs in held_steps]


def makefile(rule_set: RuleSet) -> str:
    """The rules as the Makefile text ``build/targets.mk`` (targets made together: ``&:``).

    make has no rule that runs after a prerequisite failed: the commands of the rules
    made ``despite_failures`` are ``AFTER_FAILURE``, which the Makefile's ``report``
    runs when the steps of ``report-files`` failed. make does not run a target whose
    order-only prerequisite failed either, so the waits (:func:`_lanes`) are left out
    with ``WAITS=no``, in the pass the Makefile's ``report`` makes after a failure.
    """
    lines = ["# Generated by `python -m analysis make-targets`; do not edit.", ""]
    for rule in rule_set.rules:
        together = " &:" if len(rule.targets) > 1 else ":"
        head = f"{' '.join(rule.targets)}{together} {' '.join(rule.inputs)}"
        # A rule without a command (" ;"): its target is made by the rule it depends on.
        lines += (
            [f"{head} ;", ""] if not rule.command else [head, "\t" + " ".join(rule.command), ""]
        )
    if rule_set.waits:
        # WAITS=no: the pass after a failed step (the Makefile's report), in which an
        # order-only wait on a failed step would leave out steps that do not need it.
        lines.append("ifneq ($(filter report report-files,$(MAKECMDGOALS)),)")
        lines.append("ifneq ($(WAITS),no)")
        lines += [f"{' '.join(targets)}: | {' '.join(gate)}" for targets, gate in rule_set.waits]
        lines += ["endif", "endif", ""]
    lines += [f"{name} := {' '.join(words)}" for name, words in rule_set.groups.items()]
    after = [" ".join(rule.command) for rule in rule_set.rules if rule.despite_failures]
    lines.append(f"AFTER_FAILURE := {' && '.join(after) or 'true'}")
    return "\n".join([*lines, ""])


def make_targets(
    contract: Contract,
    as_of: str | None,
    langs: list[str],
    quarterly_langs: list[str],
    jobs: int | None = None,
    reach: str | None = None,
) -> str:
    """The Makefile text of :func:`report_rules` (``python -m analysis make-targets``)."""
    return makefile(report_rules(contract, as_of, langs, quarterly_langs, jobs, reach))
