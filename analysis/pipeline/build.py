"""``python -m analysis build``: everything ``make report`` does, without make.

Analysts at Statistics Denmark's research service often work on Windows without
make. This module runs the same rules the Makefile runs: the :class:`RuleSet` of
:func:`analysis.pipeline.rules.report_rules` (the synthetic extract, one rule per
quarterly result and per report, with their real inputs), which the Makefile
includes as text, expanded here with the same variables' values, and executed with
make's out-of-date logic: a rule runs when one of its targets is missing or older
than one of its inputs, or when a rule it depends on ran. Every step is a
``python -m analysis <command>`` process started with the running interpreter, so
there is no shell, no ``/tmp`` and nothing POSIX-only; paths are ``pathlib`` paths
relative to the repository.

The Makefile's variables take the same values here (:func:`variables`); only the
environment stamp differs: the Makefile's code dependencies include
``.venv/.installed-<version>``, here the stamp of the running environment is used
when there is one.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from analysis.config import load_contract
from analysis.data.deliveries import reach
from analysis.paths import ROOT, SYNTHETIC_DIR
from analysis.pipeline.rules import RuleSet, report_rules

VARIABLE = re.compile(r"\$\(([A-Za-z_]+)\)")
# The Makefile's CODE_DEPS: the package without the renderer (RENDER_DEPS) and
# without the commands that never feed a report.
# The pipeline but its command line (which runs every step) and the benchmarks of methods
# (backtest, size, sweep) feed no report.
FEEDING_PIPELINE = ("analysis/pipeline/__init__.py", "analysis/pipeline/cli.py")
NOT_CODE = ("analysis/backtest.py", "analysis/size.py", "analysis/sweep.py")
CONFIG = ("config/contract.yaml", "config/synthetic.yaml")
# The Makefile's PRESENTATION: code that only presents results. The synthetic extract,
# the quarterly results and the evaluation stages depend on RESULTS_DEPS (CODE_DEPS
# without these), so a change to a table or figure re-renders without re-estimating.
PRESENTATION = (
    "analysis/reports/evaluation.py",
    "analysis/reports/sections.py",
    "analysis/reports/dashboard.py",
    "analysis/reports/quarterly_view.py",
    "analysis/reports/forecast_text.py",
)
# The build's record of the contract file it was given (make's is build/targets.args).
CONTRACT_ARGS = "build/contract.args"
# Each goal is the Makefile variables its phony target depends on.
GOALS = {
    "data": ("DATA_DEPS",),
    "results": ("QUARTERLY_RESULTS", "LEDGER_FILES", "EVALUATION_RESULTS"),
    "report": ("REPORT_FILES", "PORTAL"),
}


class BuildError(RuntimeError):
    """A rule cannot be run: a missing input without a rule, or a failed step."""


@dataclass
class Step:
    """One rule with the variables' values put in: targets made together by its commands."""

    targets: list[str]
    inputs: list[str]
    commands: list[list[str]] = field(default_factory=list)
    # Run after a failed input too, when keeping going (Rule.despite_failures: the portal).
    despite_failures: bool = False


def code_files(root: Path = ROOT) -> list[str]:
    """The Makefile's CODE_DEPS without the stamp: ``analysis/**/*.py`` outside ``render/``."""
    found = []
    for path in (root / "analysis").rglob("*.py"):
        relative = path.relative_to(root)
        if "render" in relative.parts or "__pycache__" in relative.parts:
            continue
        pipeline = relative.parts[:2] == ("analysis", "pipeline")
        if relative.as_posix() in NOT_CODE or (
            pipeline and relative.as_posix() not in FEEDING_PIPELINE
        ):
            continue
        found.append(relative.as_posix())
    return sorted(found)


def render_files(root: Path = ROOT) -> list[str]:
    """The Makefile's RENDER_DEPS: every file under ``analysis/render``, the Markdown the
    notebooks include (``notebooks/_*.md``) and the catalogue of short strings."""
    rendered = sorted(
        p.relative_to(root).as_posix()
        for p in (root / "analysis" / "render").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    )
    included = sorted(p.relative_to(root).as_posix() for p in (root / "notebooks").glob("_*.md"))
    return sorted([*rendered, *included, "analysis/catalogue.yaml", "docs/forecast_backtest.json"])


def environment_stamp() -> list[str]:
    """The stamp ``make setup`` leaves in the running environment, if this is such one."""
    stamp = Path(sys.prefix) / f".installed-{sys.version_info[0]}.{sys.version_info[1]}"
    return [str(stamp)] if stamp.exists() else []


def _relative(path: Path | str) -> str:
    """A user's path as the Makefile would write it: relative to the repository when inside."""
    resolved = Path(path).resolve()
    try:
        return resolved.relative_to(ROOT).as_posix()
    except ValueError:
        return str(resolved)


def is_synthetic(data: str) -> bool:
    return (ROOT / data).resolve() == SYNTHETIC_DIR.resolve()


def data_files(data: str) -> list[str]:
    """The Makefile's DATA_DEPS: the generator's manifest, or an extract's table files."""
    if is_synthetic(data):
        return [f"{_relative(SYNTHETIC_DIR)}/manifest.json"]
    folder = ROOT / data
    patterns = ("*.csv", "*.parquet", "*Q?/*.csv", "*Q?/*.parquet")
    return sorted(_relative(p) for pattern in patterns for p in folder.glob(pattern))


def variables(
    data: str, results: str, reports: str, config: str = CONFIG[0]
) -> dict[str, list[str]]:
    """The Makefile's variables, each a list of words (a path with spaces stays one word)."""
    return {
        "PY": ["$(PY)"],
        "DATA": [data],
        "RESULTS": [results],
        "REPORTS": [reports],
        "CONTRACT": [config],
        "CONTRACT_ARGS": [CONTRACT_ARGS],
        "SECTIONS": ["build/contract"],
        "CONFIG": [config, *CONFIG[1:]],
        "PLAN": ["config/analysis_plan.yaml"],
        "CODE_DEPS": environment_stamp() + code_files(),
        "RESULTS_DEPS": environment_stamp() + [f for f in code_files() if f not in PRESENTATION],
        "RENDER_DEPS": render_files(),
        "DATA_DEPS": data_files(data),
        # The settlement record: the default of the data (LEDGER= of the Makefile left empty).
        "LEDGER_ARG": [],
    }


def record_contract_args(config: str, root: Path = ROOT) -> None:
    """Write ``build/contract.args`` (the contract's path and checksum) when it differs: the
    build's ``$(CONTRACT_ARGS)``, as ``build/targets.args`` is make's, so that the contract's
    sections are written again for another contract file, however old."""
    digest = hashlib.sha256((root / config).read_bytes()).hexdigest()
    text = f"{config} {digest}\n"
    path = root / CONTRACT_ARGS
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def _expand(word: str, values: dict[str, list[str]]) -> list[str]:
    whole = VARIABLE.fullmatch(word)
    if whole:
        if whole.group(1) not in values:
            raise BuildError(f"unknown variable {word} in the generated rules")
        return list(values[whole.group(1)])

    def one(match: re.Match) -> str:
        name = match.group(1)
        if name not in values:
            raise BuildError(f"unknown variable $({name}) in the generated rules")
        return " ".join(values[name])

    return [VARIABLE.sub(one, word)]


def expand(rule_set: RuleSet, values: dict[str, list[str]]) -> list[Step]:
    """The rules with the variables' values put in; ``values`` gains the rule set's groups
    (``REPORT_FILES`` …), so that the goals can be looked up."""
    for name, words in rule_set.groups.items():
        values[name] = [w for word in words for w in _expand(word, values)]

    def words(seq) -> list[str]:
        return [w for word in seq for w in _expand(word, values)]

    return [
        Step(
            words(rule.targets),
            words(rule.inputs),
            [words(rule.command)] if rule.command else [],
            rule.despite_failures,
        )
        for rule in rule_set.rules
    ]


def rules_for(
    data: str,
    as_of: str | None,
    langs: Sequence[str],
    quarterly_langs: Sequence[str],
    results: str,
    reports: str,
    contract,
    config: str = CONFIG[0],
) -> tuple[list[Step], dict[str, list[str]]]:
    """Every step ``make report`` would use, with the variables' values (``config``: the contract file)."""
    values = variables(data, results, reports, config)
    # The synthetic demo is made by the first rule and reaches every report.
    folder = ROOT / data
    reached = None if is_synthetic(data) or not folder.is_dir() else reach(folder, contract)
    rule_set = report_rules(
        contract, as_of or None, list(langs), list(quarterly_langs), reach=reached
    )
    return expand(rule_set, values), values


def _mtime(path: str, root: Path) -> float | None:
    try:
        return (root / path).stat().st_mtime
    except FileNotFoundError:
        return None


@dataclass
class Plan:
    """The rules needed for the goals, in an order where inputs come first."""

    rules: list[Step]
    needs: dict[int, list[int]]  # rule index -> indices of the rules making its inputs


def plan(rules: list[Step], goals: Sequence[str], root: Path = ROOT) -> Plan:
    """The rules the goals need, each after the rules that make its inputs."""
    maker = {target: i for i, rule in enumerate(rules) for target in rule.targets}
    order: list[int] = []
    needs: dict[int, list[int]] = {}
    state: dict[int, str] = {}

    def visit(i: int, chain: tuple[str, ...]) -> None:
        if state.get(i) == "done":
            return
        if state.get(i) == "visiting":
            raise BuildError("circular rules: " + " <- ".join(chain))
        state[i] = "visiting"
        needs[i] = []
        for path in rules[i].inputs:
            if path in maker:
                visit(maker[path], (*chain, path))
                needs[i].append(maker[path])
            elif _mtime(path, root) is None:
                raise BuildError(
                    f"no rule to make {path}, needed by {rules[i].targets[0]} "
                    "(is the extract folder right?)"
                )
        state[i] = "done"
        order.append(i)

    for goal in goals:
        if goal in maker:
            visit(maker[goal], (goal,))
        elif _mtime(goal, root) is None:
            raise BuildError(f"no rule to make {goal}")
    return Plan(
        [rules[i] for i in order],
        {order.index(i): [order.index(j) for j in needs[i]] for i in order},
    )


def out_of_date(rule: Step, root: Path = ROOT) -> bool:
    """Make's test: a target is missing, or an input is newer than the oldest target."""
    target_times = [_mtime(t, root) for t in rule.targets]
    if any(t is None for t in target_times):
        return True
    oldest = min(target_times)
    return any((_mtime(p, root) or 0.0) > oldest for p in rule.inputs)


def run_command(command: list[str], root: Path = ROOT) -> None:
    """Run one recipe line: ``$(PY) -m analysis …`` with this interpreter, no shell."""
    if command[:3] != ["$(PY)", "-m", "analysis"]:
        raise BuildError(
            "the build runs only `$(PY) -m analysis …` steps (no shell); cannot run: "
            + " ".join(command)
        )
    # The steps run in the pre-imported worker (analysis.pipeline.worker), as under make.
    env = {**os.environ, "ANALYSIS_WORKER": os.environ.get("ANALYSIS_WORKER", "1")}
    completed = subprocess.run([sys.executable, *command[1:]], cwd=root, check=False, env=env)
    if completed.returncode != 0:
        raise BuildError(f"step failed (exit {completed.returncode}): {' '.join(command)}")


def execute(
    build_plan: Plan,
    jobs: int = 1,
    dry_run: bool = False,
    root: Path = ROOT,
    runner: Callable[[list[str], Path], None] = run_command,
    echo: Callable[[str], None] = print,
    keep_going: bool = False,
) -> list[Step]:
    """Run the out-of-date rules of the plan (``jobs`` at a time); return those run.

    A rule runs when a target is missing, an input is newer than its oldest target,
    or a rule making one of its inputs ran (with ``dry_run``: would run). A failed
    step stops the build after the steps already running have finished, like
    ``make -j``; with ``keep_going`` (``make -k``, as ``make report`` runs) only the
    rules that need its targets are left out (a rule made ``despite_failures``, the
    portal, runs from the inputs there are) and at the end a :class:`BuildError`
    names every failed step and how many rules were left out. What finished stays
    (every step writes its outputs atomically).

    Kept whole: a scheduler: one loop and four small closures over the same sets of
    started, finished and failed rules and the failures; as separate functions they
    would pass those five values to each other.
    """
    rules, needs = build_plan.rules, build_plan.needs
    ran: list[int] = []
    done: set[int] = set()
    started: set[int] = set()
    failed: set[int] = set()
    failures: list[BaseException] = []

    def decide(i: int) -> bool:
        # Like make, the times are read again after the rules making the inputs ran: a
        # rule that left its target as it was (the contract's sections) redoes nothing.
        # A dry run cannot know, so it counts every input rule that would run.
        if dry_run and any(j in ran for j in needs[i]):
            return True
        return out_of_date(rules[i], root)

    def work(i: int) -> None:
        for command in rules[i].commands:
            echo(" ".join(_shown(command)))
            if not dry_run:
                runner(command, root)

    def finish(i: int, error: BaseException | None) -> None:
        if error is not None:
            failed.add(i)
            failures.append(error)
        done.add(i)

    def stopped() -> bool:
        return bool(failures) and not keep_going

    def left_out(i: int) -> bool:
        # make -k: not remade because of errors in what it needs.
        return any(j in failed for j in needs[i]) and not (keep_going and rules[i].despite_failures)

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        running: dict[Future, int] = {}
        while len(done) < len(rules):
            for i in range(len(rules)):
                if stopped() or len(running) >= max(1, jobs):
                    break
                if i in started or not all(j in done for j in needs[i]):
                    continue
                started.add(i)
                if left_out(i):
                    failed.add(i)
                    done.add(i)
                elif not decide(i):
                    done.add(i)
                elif dry_run or jobs <= 1:
                    ran.append(i)
                    try:
                        work(i)
                    except Exception as error:
                        finish(i, error)
                    else:
                        finish(i, None)
                else:
                    ran.append(i)
                    running[pool.submit(work, i)] = i
            if not running:
                if stopped() or all(i in started for i in range(len(rules))):
                    break
                continue
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                finish(running.pop(future), future.exception())
    if failures:
        raise _failed(failures, len(failed) - len(failures)) if keep_going else failures[0]
    return [rules[i] for i in ran]


def _failed(failures: list[BaseException], left_out: int) -> BuildError:
    """One error naming every failed step and how many rules needing them were not made."""
    steps = "; ".join(str(error) for error in failures)
    count = "1 step" if len(failures) == 1 else f"{len(failures)} steps"
    return BuildError(
        f"{count} failed: {steps}; {left_out} rule(s) that need it were not made, "
        "every other one was"
    )


def _shown(command: list[str]) -> list[str]:
    return ["python" if word == "$(PY)" else word for word in command]


def build(
    data: str | os.PathLike = SYNTHETIC_DIR,
    as_of: str | None = None,
    langs: Sequence[str] = ("da", "en"),
    quarterly_langs: Sequence[str] = ("da",),
    results: str | os.PathLike = "data/results",
    reports: str | os.PathLike = "reports",
    goal: str = "report",
    jobs: int = 1,
    dry_run: bool = False,
    contract=None,
    config: str | os.PathLike = CONFIG[0],
) -> list[Step]:
    """Bring the goal (``data``, ``results`` or ``report``) up to date; return the rules run.

    ``config`` is the contract file every step is run with (``contract`` is read from it).
    """
    if contract is None:
        contract = load_contract(config)
    data, results, reports = _relative(data), _relative(results), _relative(reports)
    record_contract_args(_relative(config))
    rules, values = rules_for(
        data, as_of, langs, quarterly_langs, results, reports, contract, _relative(config)
    )
    goals = [target for name in GOALS[goal] for target in values.get(name, [])]
    # Like `make report` (-k): a failed evaluation step leaves the payment reports be made.
    return execute(plan(rules, goals), jobs=jobs, dry_run=dry_run, keep_going=goal == "report")
