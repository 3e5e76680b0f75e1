"""Command line: ``python -m analysis <command>``; the Makefile calls only this.

Every command has ``--help``. Errors a user can fix (bad configuration, an
extract that breaks the data contract, a failing notebook) print one clear
message and exit with status 1, without a traceback.
"""

# Imports inside functions: each command imports what it needs when it runs, so that a
# command needing little (`make-targets`, which every clean build waits for, and
# `contract-sections`) does not pay for the estimators, the renderer and the payments.

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

from analysis import paths, quarters


class UsageError(ValueError):
    """A command-line argument that cannot be used (named in the message)."""


class _Parser(argparse.ArgumentParser):
    """Argument errors in one line (the argument and what is wrong), exit status 2."""

    def error(self, message: str):
        from analysis.data.cpr import safe_message

        self.exit(2, f"{self.prog}: error: {safe_message(message)} (see --help)\n")


def _as_of_window(contract, as_of: str) -> None:
    """Quarterly results exist from the intervention's start to the end of the commitment."""
    try:
        quarters.check_window(
            as_of,
            contract.timeline.intervention.start,
            contract.timeline.commitment.end,
            "--as-of",
        )
    except ValueError as error:
        raise UsageError(f"{error}: the programme's quarterly reports cover that window") from None


def _last_quarter(contract, text: str | None) -> str | None:
    """``--as-of`` of ``build`` / ``make-targets``: empty = the default, else a quarter in the window.

    Checked before any rule is made, so ``make report AS_OF=2030Q1`` writes nothing.
    """
    if not text:
        return None
    if not quarters.is_quarter(text):
        raise UsageError(f"AS_OF / --as-of {text!r} is not a quarter written YYYYQn")
    _as_of_window(contract, text)
    return quarters.parse(text)


def _report_as_of(kind, contract, given: str | None) -> str:
    """The cut-off of a report: an evaluation's is the contract's, so another --as-of is refused."""
    as_of = kind.as_of(contract, given)
    if given and given != as_of:
        raise UsageError(
            f"--as-of {given}: the {kind.name} report's cut-off is fixed by the contract "
            f"({as_of}); leave --as-of out"
        )
    return as_of


def _contract(args):
    from analysis.config import load_contract

    return load_contract(args.config)


def _delivery(data: str, as_of: str) -> Path:
    """The extract a quarter's results are computed from (``--data`` may be a folder of deliveries)."""
    from analysis.data.deliveries import DeliveryError, for_quarter

    try:
        return for_quarter(data, as_of)
    except DeliveryError as error:
        raise UsageError(f"--data {error}") from None


def _within_reach(contract, data: str, as_of: str) -> None:
    """Refuse a quarter past the last one the data reach, in one line naming it."""
    from analysis.data.deliveries import reach

    if not Path(data).is_dir():
        return
    last = reach(data, contract)
    if last is not None and quarters.to_index(as_of) > quarters.to_index(last):
        raise UsageError(
            f"--as-of {as_of} is past the data: {data} reaches {last} (its register data end "
            f"{quarters.shift(last, -contract.timeline.register_lag_quarters)}); a report as of a "
            "later quarter waits for a later delivery"
        )


def _record(args) -> Path:
    """The settlement record: ``--ledger`` / ``LEDGER``, else the default for these data."""
    from analysis.payments.settlement import record_path

    return record_path(getattr(args, "ledger", None), args.data, args.config)


def cmd_synth(args) -> int:
    from analysis.config import load_synthetic
    from analysis.data.synth import generate
    from analysis.provenance import sign_extract

    contract = _contract(args)
    synth = load_synthetic(args.synthetic_config)
    seed = contract.seed if args.seed is None else args.seed
    if args.deliveries and args.format != "parquet":
        raise UsageError("--format danish-csv: write a single extract (without --deliveries)")
    if args.deliveries:
        import shutil
        import tempfile

        from analysis.data.deliveries import write_synthetic

        # The complete extract (every quarter as finally registered) is cut into the
        # deliveries and not kept.
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=f".{out.name}.complete.", dir=out.parent))
        try:
            complete = scratch / "complete"
            generate(complete, contract, synth, seed, comparison_persons=args.comparison_persons)
            sign_extract(complete)
            labels = write_synthetic(complete, out, contract, synth, seed)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        print(
            f"synthetic deliveries written to {args.out} (seed {seed}): "
            f"{len(labels)} deliveries, {labels[0]} to {labels[-1]}"
        )
        return 0
    manifest = generate(args.out, contract, synth, seed, comparison_persons=args.comparison_persons)
    if args.format == "danish-csv":
        import json

        from analysis import atomic
        from analysis.data.io import extract_to_danish_csv

        extract_to_danish_csv(args.out)
        # The format is part of how the files were made (regenerating them needs it).
        manifest["format"] = args.format
        path = Path(args.out) / "manifest.json"
        atomic.write_text(path, json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    sign_extract(args.out)
    rows = ", ".join(f"{k}={v:,}" for k, v in manifest["rows"].items())
    print(f"synthetic extract written to {args.out} (seed {seed}): {rows}")
    return 0


def cmd_validate(args) -> int:
    from analysis.data import receipt
    from analysis.data.deliveries import deliveries
    from analysis.data.validate import load_extract, summarise

    contract = _contract(args)
    found = deliveries(args.data)
    if found:
        # A folder of deliveries: every delivery is a full extract, checked as one.
        _validate_deliveries([folder for _, folder in found], contract)
        print(
            f"{args.data}: all {len(found)} deliveries ({found[0][0]} to {found[-1][0]}) "
            "meet the data contract"
        )
        return 0
    # Register tables in Parquet are checked out of core (same rules and messages).
    # The explicit check always checks every rule, and leaves the receipt later steps use.
    extract = load_extract(args.data, contract, out_of_core=True, revalidate=True)
    print(f"{args.data}: the extract meets the data contract")
    print(summarise(extract).to_string(index=False))
    path = receipt.path_for(extract.checksums, contract)
    if path.is_file():
        print(f"validation receipt: {path}")
    return 0


def _default_sigterm() -> None:
    """In a pool worker: die on SIGTERM as a process does, not through :func:`_terminate`.

    The worker is forked from a command that turned SIGTERM into ``SystemExit``; a
    worker has nothing to clean up that its parent does not, so it need not unwind.
    """
    import signal

    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _check_one(job) -> bool:
    from analysis.data.validate import load_extract

    folder, contract = job
    try:
        load_extract(folder, contract, out_of_core=True, revalidate=True)
    except Exception:
        return False
    return True


def _validate_deliveries(folders: list[Path], contract) -> None:
    """Check every delivery, on every core: nothing else runs while the extract is checked
    (every step waits for it), so ANALYSIS_JOBS, which leaves make's other slots free, does
    not apply. A delivery that fails is checked again here, for its one-line error."""
    import multiprocessing

    from analysis.data.validate import load_extract

    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
    workers = max(1, min(usable, 4, len(folders)))
    if workers > 1:
        with multiprocessing.get_context("fork").Pool(
            workers, initializer=_default_sigterm
        ) as pool:
            passed = pool.map(_check_one, [(folder, contract) for folder in folders])
            # Workers leave on the end-of-work sentinel. Leaving the block alone would
            # SIGTERM them, and on Python 3.13, which runs a forked child's atexit
            # functions, the signal met DuckDB's spill-folder cleanup and printed two
            # tracebacks under the one-line error (CI, tests/test_deliveries.py).
            pool.close()
            pool.join()
    else:
        passed = [False] * len(folders)
    for folder, ok in zip(folders, passed, strict=True):
        if not ok:
            load_extract(folder, contract, out_of_core=True, revalidate=True)


def cmd_quarterly(args) -> int:
    from analysis import provenance
    from analysis.payments.quarterly import write_quarterly_results
    from analysis.safety import guard_outputs
    from analysis.sdc.quarterly import publish

    contract = _contract(args)
    _as_of_window(contract, args.as_of)
    _within_reach(contract, args.data, args.as_of)
    out = Path(args.out)
    delivery = _delivery(args.data, args.as_of)
    kind, _ = provenance.results_kinds(delivery, out, args.as_of)
    guard_outputs(delivery, [out], kind)
    written = write_quarterly_results(
        Path(args.data),
        args.as_of,
        out,
        contract,
        (lambda folder: publish(out.parent, args.as_of, contract, folder))
        if out.name == args.as_of
        else None,
        record=_record(args),
    )
    print(f"quarterly results as of {args.as_of} ({kind} data) written to {written}")
    if out.name == args.as_of:
        from analysis.sdc.disclosure import solver_line

        print(solver_line(written))
    if out.name != args.as_of:
        print(
            f"note: {out} is not named {args.as_of}, so later reports cannot find what this "
            "quarter's report publishes (disclosure control across reports needs <dir>/<quarter>)"
        )
    return 0


def cmd_ledger(args) -> int:
    from analysis import provenance
    from analysis.atomic import atomic_path
    from analysis.payments.quarterly import write_ledger
    from analysis.safety import guard_outputs

    contract = _contract(args)
    _as_of_window(contract, args.as_of)
    if not Path(args.quarterly_dir).is_dir():
        raise UsageError(f"--quarterly-dir {args.quarterly_dir}: no such folder")
    # The ledger carries forward the quarterly folders' entries: real if any of them is.
    _within_reach(contract, args.data, args.as_of)
    delivery = _delivery(args.data, args.as_of)
    kind = provenance.report_kind(Path(args.quarterly_dir), args.as_of, delivery)
    guard_outputs(delivery, [Path(args.out), *([Path(args.results)] if args.results else [])], kind)
    # A single file has no folder record: its kind and checksum go beside it, for the
    # reports, written before the ledger is moved into place (the Makefile's target).
    with atomic_path(Path(args.out)) as written:
        if args.results:
            ledger = _payment_results(args, contract, written)
        else:
            ledger = write_ledger(
                Path(args.data),
                args.as_of,
                Path(args.quarterly_dir),
                written,
                contract,
                record=_record(args),
            )
        used = provenance.earlier_kinds(Path(args.quarterly_dir), args.as_of)
        provenance.record_file(Path(args.out), kind, used, written)
    print(f"settlement ledger as of {args.as_of} ({len(ledger)} entries) written to {args.out}")
    if args.results:
        print(f"payment results as of {args.as_of} written to {args.results}")
    return 0


def _payment_results(args, contract, written: Path):
    """``ledger --results``: the results as of the quarter (for an evaluation), and its ledger.

    The results folder is a quarterly folder's tables kept apart from the quarterly
    folders (no report publishes it); the ledger file is its ``ledger.csv``.
    """
    import shutil

    from analysis.payments import ledger as ledger_module
    from analysis.payments.quarterly import write_quarterly_results

    folder = write_quarterly_results(
        Path(args.data),
        args.as_of,
        Path(args.results),
        contract,
        record=_record(args),
        quarterly_dir=Path(args.quarterly_dir),
    )
    shutil.copyfile(Path(folder) / ledger_module.FILE, written)
    return ledger_module.read(written)


def cmd_calibrate(args) -> int:
    from analysis.config import load_synthetic
    from analysis.payments.calibration import calibrate, report

    contract = _contract(args)
    print(report(calibrate(contract, load_synthetic(args.synthetic_config)), contract))
    return 0


def cmd_report(args) -> int:
    from analysis.provenance import combined, folder_kind, report_kind
    from analysis.render.build import build_report
    from analysis.reports.kinds import load_kind
    from analysis.safety import guard_outputs

    contract = _contract(args)
    kind = load_kind(args.kind)
    as_of = _report_as_of(kind, contract, args.as_of)
    _as_of_window(contract, as_of)
    _within_reach(contract, args.data, as_of)
    record = _record(args)
    args.data = str(_delivery(args.data, as_of))
    if not Path(args.quarterly_dir).is_dir():
        raise UsageError(f"--quarterly-dir {args.quarterly_dir}: no such folder")
    if kind.name == "quarterly" and not (Path(args.quarterly_dir) / as_of).is_dir():
        raise UsageError(
            f"--quarterly-dir {args.quarterly_dir}: no results of {as_of}; "
            f"run `python -m analysis quarterly --as-of {as_of}` first"
        )
    extra, read = {}, []
    if kind.name != "quarterly":
        staged = stage_folder(Path(args.quarterly_dir), kind.name, as_of)
        if not (staged / "provenance.json").is_file():
            raise UsageError(
                f"no results of the {kind.name} report in {staged}; run "
                f"`python -m analysis evaluate {kind.name}` first"
            )
        extra["stage_dir"] = str(staged.resolve())
        read.append(staged)
    # The numbers come from the results folders (and, for evaluations, the extract and
    # the evaluation's results folder): the strictest recorded kind decides, not --data.
    data_kind = combined(
        report_kind(
            Path(args.quarterly_dir), as_of, Path(args.data) if kind.name != "quarterly" else None
        ),
        *(folder_kind(folder) for folder in read),
    )
    guard_outputs(Path(args.data), [Path(args.reports), Path(args.quarterly_dir)], data_kind)
    built = build_report(
        kind,
        contract,
        as_of,
        args.lang,
        Path(args.data),
        Path(args.quarterly_dir),
        Path(args.reports),
        config=Path(args.config),
        extra_parameters=extra,
        results_read=read,
    )
    if not os.environ.get("ANALYSIS_REEXECUTION"):
        _record_publication(record, kind.name, as_of, args.lang, Path(args.data), built)
    print(f"{kind.name} report as of {as_of} ({args.lang}): {built.html}, {built.pdf}")
    return 0


def _record_publication(record: Path, kind: str, as_of: str, lang: str, data: Path, built) -> None:
    """Keep a published report's numbers and its delivery in the settlement record."""
    import json

    from analysis.data import deliveries, io
    from analysis.payments.settlement import open_record

    results = Path(built.results)
    if not results.is_file():
        return
    numbers = json.loads(results.read_text(encoding="utf-8")).get("numbers", {})
    checksums = {
        p.name: io.sha256(p)
        for p in sorted(data.iterdir())
        if p.is_file() and not p.name.startswith(".")
    }
    label = deliveries.label(data, {k: v for k, v in checksums.items() if k != "manifest.json"})
    with open_record(record) as store:
        if not store.publish(kind, as_of, lang, label, checksums, numbers):
            return
        if (
            len(
                store.publications().query(
                    "report_kind == @kind and quarter == @as_of and lang == @lang"
                )
            )
            > 1
        ):
            print(
                f"note: the {kind} report as of {as_of} ({lang}) was published before with "
                f"other numbers or data; both are kept in {record}"
            )


def stage_folder(quarterly_dir: Path, kind: str, as_of: str) -> Path:
    """Where ``evaluate`` stores an evaluation's results: beside the quarterly results."""
    return Path(quarterly_dir).parent / kind / as_of


def cmd_evaluate(args) -> int:
    from analysis.provenance import combined, folder_kind, report_kind
    from analysis.reports.kinds import load_kind
    from analysis.reports.stage import write
    from analysis.safety import guard_outputs

    contract = _contract(args)
    kind = load_kind(args.kind)
    if kind.name == "quarterly":
        raise UsageError(
            "evaluate computes an evaluation report's results (midterm, preliminary_final, final)"
        )
    as_of = _report_as_of(kind, contract, args.as_of)
    _as_of_window(contract, as_of)
    _within_reach(contract, args.data, as_of)
    args.data = str(_delivery(args.data, as_of))
    if args.estimates_only:
        from analysis.provenance import extract_kind
        from analysis.reports.stage import write_estimates

        out = Path(args.out or Path(args.quarterly_dir).parent / "estimates" / kind.name / as_of)
        data_kind = extract_kind(Path(args.data))
        guard_outputs(Path(args.data), [out], data_kind)
        write_estimates(kind, as_of, Path(args.data), Path(args.config), out, contract)
        print(f"{kind.name} estimates as of {as_of} ({data_kind} data) written to {out}")
        return 0
    if not Path(args.quarterly_dir).is_dir():
        raise UsageError(f"--quarterly-dir {args.quarterly_dir}: no such folder")
    out = Path(args.out) if args.out else stage_folder(Path(args.quarterly_dir), kind.name, as_of)
    estimates = Path(args.estimates) if args.estimates else None
    data_kind = combined(
        report_kind(Path(args.quarterly_dir), as_of, Path(args.data)),
        *([folder_kind(estimates)] if estimates is not None else []),
    )
    guard_outputs(Path(args.data), [out], data_kind)
    write(
        kind,
        as_of,
        Path(args.data),
        Path(args.quarterly_dir),
        Path(args.config),
        out,
        estimates,
        contract,
    )
    print(f"{kind.name} results as of {as_of} ({data_kind} data) written to {out}")
    from analysis.sdc.disclosure import solver_line

    print(solver_line(out))
    return 0


def cmd_build(args) -> int:
    from analysis.pipeline.build import build

    contract = _contract(args)
    as_of = _last_quarter(contract, args.as_of)
    ran = build(
        data=args.data,
        as_of=as_of,
        langs=[w for item in args.langs for w in item.split()],
        quarterly_langs=[w for item in args.quarterly_langs for w in item.split()],
        results=args.results,
        reports=args.reports,
        goal=args.goal,
        jobs=args.jobs,
        dry_run=args.dry_run,
        contract=contract,
        config=args.config,
    )
    if not ran:
        print(f"build: {args.goal} is up to date")
    return 0


def cmd_portal(args) -> int:
    from analysis.render import failures
    from analysis.render.portal import collect, write_portal

    contract = _contract(args)
    if not collect(Path(args.reports)):
        # After a failed build (the portal is written despite failures): an extract that
        # does not validate makes no report, and its build writes nothing at all.
        print(f"reports portal: no report in {args.reports}, nothing to list: not written")
        return 0
    evaluations = {
        name: str(getattr(contract.timeline.evaluations, name))
        for name in ("midterm", "preliminary_final", "final")
    }
    path = write_portal(
        Path(args.reports), evaluations, contract.disclosure.min_persons, failures.failed()
    )
    print(f"reports portal: {path}")
    return 0


def cmd_contract_sections(args) -> int:
    from analysis.pipeline.sections import write_sections

    written = write_sections(_contract(args), Path(args.out))
    if written:
        print(f"contract sections changed: {', '.join(written)} ({args.out})")
    return 0


def cmd_make_targets(args) -> int:
    from analysis.pipeline.rules import make_targets

    contract = _contract(args)
    as_of = _last_quarter(contract, args.as_of)
    reach = None
    if args.data and Path(args.data).is_dir():
        from analysis.data.deliveries import reach as data_reach

        reach = data_reach(args.data, contract)
        if as_of and reach and quarters.to_index(as_of) > quarters.to_index(reach):
            raise UsageError(
                f"AS_OF / --as-of {as_of} is past the data: {args.data} reaches {reach}; "
                "the reports after it wait for a later delivery"
            )
    sys.stdout.write(
        make_targets(
            contract,
            as_of,
            args.langs.split(),
            args.quarterly_langs.split(),
            jobs=args.jobs,
            reach=reach,
        )
    )
    return 0


def cmd_settlement(args) -> int:
    from analysis.payments import settlement

    record = _record(args)
    if args.action == "path":
        print(record)
        return 0
    if args.action == "reset-demo":
        removed = settlement.reset_demo(record)
        print(f"{record}: {'removed' if removed else 'no such record'}")
        return 0
    if not record.exists():
        raise UsageError(f"no settlement record at {record}")
    with settlement.open_record(record) as store:
        store.check_heads()
        frame = store.entries(with_chain=True)
        if args.action == "export":
            text = frame.to_csv(index=False, float_format="%.10g", lineterminator="\n")
            if args.out:
                from analysis import atomic

                atomic.write_text(args.out, text)
            else:
                sys.stdout.write(text)
            return 0
        seq, head = store.head()
        print(f"{record}: {seq} entries, chain verified (head {head[:16]}…)")
        if len(frame):
            summary = (
                frame.groupby(["report", "kind"], sort=True)[["amount", "paid"]].sum().round(2)
            )
            print(summary.to_string())
        print(f"{len(store.publications())} published report record(s)")
    return 0


def cmd_data_contract(args) -> int:
    from analysis.data.contract_doc import write_contract_doc

    write_contract_doc(Path(args.out), _contract(args))
    print(f"data contract written to {args.out}")
    return 0


def cmd_verify(args) -> int:
    from analysis.pipeline.verify import verify

    record = _record(args) if args.data else None
    return verify(Path(args.published), Path(args.reexecuted), record)


def cmd_attack(args) -> int:
    from analysis.sdc.attack import attack_build, published_records

    contract = _contract(args)
    records = published_records(args.results)
    if not records:
        print(f"error: {args.results}: no published record (disclosure.json); run `make results`")
        return 2
    found = attack_build(
        args.results, contract.disclosure.min_persons, contract.timeline.result_reports[-1]
    )
    print(
        f"{len(records)} publication record(s), {found.identities} identities, "
        f"{len(found.ranges)} hidden counts; recovered: {len(found.recovered)}; "
        f"unsolved: {len(found.unsolved)} (a bound not found but the solutions found show "
        f"the count safe: {len(found.witnessed)})"
    )
    for key in found.recovered:
        low, high = found.ranges[key]
        print(f"  recovered {key!r}: between {low:g} and {high:g}")
    # A bound the solver did not find is a failed attack, not a count kept safe.
    for key, message in found.unsolved.items():
        print(f"  unsolved {key!r}: {message}")
    return 1 if found.recovered or found.unsolved else 0


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return value


def cmd_timings(args) -> int:
    from analysis.pipeline.timings import TimingsError, read, summary

    try:
        print(summary(read(Path(args.file)), args.cores))
    except TimingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m analysis", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--config",
        default=str(paths.CONTRACT_FILE),
        help="contract configuration (default: %(default)s)",
    )
    parser.add_argument(
        "--revalidate",
        action="store_true",
        help="check the extract against the contract in full at every step, ignoring the "
        "validation receipts in build/validated (also ANALYSIS_REVALIDATE=1)",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    for add in (
        _add_synth,
        _add_validate,
        _add_quarterly,
        _add_ledger,
        _add_calibrate,
        _add_report,
        _add_evaluate,
        _add_portal,
        _add_build,
        _add_make_targets,
        _add_contract_sections,
        _add_settlement,
        _add_data_contract,
        _add_verify,
        _add_attack,
        _add_timings,
    ):
        add(sub)
    return parser


def _add_synth(sub) -> None:
    p = sub.add_parser("synth", help="generate a synthetic extract with a known truth")
    p.add_argument(
        "--seed", type=int, default=None, help="random seed (default: the contract's seed)"
    )
    p.add_argument(
        "--out", default=str(paths.SYNTHETIC_DIR), help="output directory (default: %(default)s)"
    )
    p.add_argument(
        "--synthetic-config", default=str(paths.SYNTHETIC_CONFIG_FILE), help="generator parameters"
    )
    p.add_argument(
        "--comparison-persons",
        type=int,
        default=None,
        help="size of the comparison pool in persons (scale runs)",
    )
    p.add_argument(
        "--format",
        choices=("parquet", "danish-csv"),
        default="parquet",
        help="table files: Parquet (default) or Danish CSV (';', decimal comma, Latin-1)",
    )
    p.add_argument(
        "--deliveries",
        action="store_true",
        help="write one full extract per quarter (<out>/<YYYYQn>/, as delivered after that "
        "quarter, with the revisions of config/synthetic.yaml) instead of one complete extract",
    )
    p.set_defaults(func=cmd_synth)


def _add_validate(sub) -> None:
    p = sub.add_parser("validate", help="check an extract directory against the data contract")
    p.add_argument(
        "data",
        nargs="?",
        default=str(paths.SYNTHETIC_DIR),
        help="extract directory (default: %(default)s)",
    )
    p.set_defaults(func=cmd_validate)


def _add_quarterly(sub) -> None:
    p = sub.add_parser(
        "quarterly", help="compute the quarterly results and payments as of a quarter"
    )
    p.add_argument("--data", default=str(paths.SYNTHETIC_DIR), help="extract directory")
    p.add_argument("--as-of", required=True, type=quarters.argument, help="cut-off quarter, YYYYQn")
    p.add_argument("--out", required=True, help="output directory for the result tables")
    p.add_argument(
        "--ledger",
        default=None,
        help="the settlement record (SQLite; default: data/settlement/, one per synthetic "
        "configuration, settlement.sqlite for real data)",
    )
    p.set_defaults(func=cmd_quarterly)


def _add_ledger(sub) -> None:
    p = sub.add_parser(
        "ledger",
        help="write the settlement ledger as of a quarter (carried forward from the quarterly results)",
    )
    p.add_argument("--data", default=str(paths.SYNTHETIC_DIR), help="extract directory")
    p.add_argument("--as-of", required=True, type=quarters.argument, help="cut-off quarter, YYYYQn")
    p.add_argument(
        "--quarterly-dir",
        default=str(paths.RESULTS_DIR / "quarterly"),
        help="folder of the quarterly results whose ledger is carried forward",
    )
    p.add_argument("--out", required=True, help="the ledger file to write (CSV)")
    p.add_argument(
        "--results",
        default=None,
        help="also write the payment results as of the quarter to this folder (what an "
        "evaluation at a cut-off without quarterly results reads: <results>/payments/<quarter>)",
    )
    p.add_argument(
        "--ledger",
        default=None,
        help="the settlement record (SQLite; default: data/settlement/, one per synthetic "
        "configuration, settlement.sqlite for real data)",
    )
    p.set_defaults(func=cmd_ledger)


def _add_calibrate(sub) -> None:
    p = sub.add_parser(
        "calibrate",
        help="derive the illustrative rate card from the business case in the contract",
    )
    p.add_argument(
        "--synthetic-config", default=str(paths.SYNTHETIC_CONFIG_FILE), help="generator parameters"
    )
    p.set_defaults(func=cmd_calibrate)


def _add_report(sub) -> None:
    p = sub.add_parser("report", help="execute a report notebook and render it to HTML and PDF")
    p.add_argument("kind", help="quarterly, midterm, preliminary_final or final")
    p.add_argument(
        "--as-of",
        default=None,
        type=quarters.argument,
        help="cut-off quarter (quarterly reports; evaluations use the contract's)",
    )
    p.add_argument(
        "--lang", default="da", choices=["da", "en"], help="report language (default: %(default)s)"
    )
    p.add_argument("--data", default=str(paths.SYNTHETIC_DIR), help="extract directory")
    p.add_argument(
        "--quarterly-dir",
        default=str(paths.RESULTS_DIR / "quarterly"),
        help="folder of the quarterly results",
    )
    p.add_argument(
        "--reports", default=str(paths.REPORTS_DIR), help="output root (default: %(default)s)"
    )
    p.add_argument(
        "--ledger",
        default=None,
        help="the settlement record (SQLite; default: data/settlement/, one per synthetic "
        "configuration, settlement.sqlite for real data)",
    )
    p.set_defaults(func=cmd_report)


def _add_evaluate(sub) -> None:
    p = sub.add_parser(
        "evaluate",
        help="compute everything an evaluation report shows, once for all languages",
    )
    p.add_argument("kind", help="midterm, preliminary_final or final")
    p.add_argument(
        "--as-of", default=None, type=quarters.argument, help="cut-off (default: the contract's)"
    )
    p.add_argument("--data", default=str(paths.SYNTHETIC_DIR), help="extract directory")
    p.add_argument(
        "--quarterly-dir",
        default=str(paths.RESULTS_DIR / "quarterly"),
        help="folder of the quarterly results (payments and ledger are read from there)",
    )
    p.add_argument(
        "--out", default=None, help="results folder (default: <quarterly-dir>/../<kind>/<as-of>)"
    )
    p.add_argument(
        "--estimates-only",
        action="store_true",
        help="compute only what needs no quarterly results (estimates, sensitivity, balance) "
        "into --out (default: <quarterly-dir>/../estimates/<kind>/<as-of>)",
    )
    p.add_argument(
        "--estimates",
        default=None,
        help="read the estimates from this folder of --estimates-only instead of computing them",
    )
    p.set_defaults(func=cmd_evaluate)


def _add_portal(sub) -> None:
    p = sub.add_parser("portal", help="write reports/index.html listing every rendered report")
    p.add_argument(
        "--reports", default=str(paths.REPORTS_DIR), help="reports root (default: %(default)s)"
    )
    p.set_defaults(func=cmd_portal)


def _add_build(sub) -> None:
    p = sub.add_parser(
        "build",
        help="everything `make report` does, without make: data, quarterly results, every report",
        description="Bring the synthetic extract, the quarterly results and every report up to "
        "date, redoing only what is older than its inputs (the rules `make report` uses).",
    )
    p.add_argument(
        "goal",
        nargs="?",
        default="report",
        choices=["data", "results", "report"],
        help="what to bring up to date (default: %(default)s)",
    )
    p.add_argument("--data", default=str(paths.SYNTHETIC_DIR), help="extract directory")
    p.add_argument(
        "--as-of",
        default=None,
        help="last quarterly report, YYYYQn (default: params/quarterly.yaml)",
    )
    p.add_argument(
        "--langs", nargs="+", default=["da", "en"], help="languages of the evaluation reports"
    )
    p.add_argument(
        "--quarterly-langs", nargs="+", default=["da"], help="languages of the quarterly reports"
    )
    p.add_argument(
        "--results", default=str(paths.RESULTS_DIR), help="results root (default: %(default)s)"
    )
    p.add_argument(
        "--reports", default=str(paths.REPORTS_DIR), help="output root (default: %(default)s)"
    )
    p.add_argument("--jobs", "-j", type=int, default=1, help="steps run at the same time")
    p.add_argument(
        "--dry-run", "-n", action="store_true", help="print the steps that would run; run none"
    )
    p.set_defaults(func=cmd_build)


def _add_make_targets(sub) -> None:
    p = sub.add_parser(
        "make-targets", help="print the Makefile rules for every report (used by the Makefile)"
    )
    p.add_argument("--as-of", required=True, help="last quarter with a quarterly report")
    p.add_argument("--langs", default="da en", help="languages of the evaluation reports")
    p.add_argument("--quarterly-langs", default="da", help="languages of the quarterly reports")
    p.add_argument(
        "--jobs",
        type=int,
        default=None,
        help="job slots of make -j: with two or more, the steps beside the quarterly chain run in jobs-1 lanes",
    )
    p.add_argument(
        "--data",
        default=None,
        help="the extract or folder of deliveries: only the reports whose cut-off it reaches get rules",
    )
    p.set_defaults(func=cmd_make_targets)


def _add_contract_sections(sub) -> None:
    p = sub.add_parser(
        "contract-sections",
        help="write the contract's sections as files, each only when it changed (used by the rules)",
    )
    p.add_argument("--out", default="build/contract", help="folder (default: %(default)s)")
    p.set_defaults(func=cmd_contract_sections)


def _add_settlement(sub) -> None:
    p = sub.add_parser(
        "settlement",
        help="show the settlement record (verified), export it as CSV, or reset a synthetic demo's",
    )
    p.add_argument("action", choices=["show", "export", "path", "reset-demo"])
    p.add_argument(
        "--data", default=str(paths.SYNTHETIC_DIR), help="extract or folder of deliveries"
    )
    p.add_argument(
        "--ledger",
        default=None,
        help="the settlement record (default: the one of --data, see `settlement path`)",
    )
    p.add_argument("--out", default=None, help="export: the CSV file to write (default: stdout)")
    p.set_defaults(func=cmd_settlement)


def _add_data_contract(sub) -> None:
    p = sub.add_parser(
        "data-contract", help="write the data-contract document generated from the schemas"
    )
    p.add_argument("--out", default=str(paths.DATA_DIR / "README.md"))
    p.set_defaults(func=cmd_data_contract)


def _add_verify(sub) -> None:
    p = sub.add_parser("verify", help="compare re-executed results files with the published ones")
    p.add_argument("published", help="folder of published reports")
    p.add_argument("reexecuted", help="folder of re-executed reports")
    p.add_argument(
        "--data",
        default=None,
        help="with it, also compare with the published reports kept in its settlement record",
    )
    p.add_argument("--ledger", default=None, help="the settlement record (default: that of --data)")
    p.set_defaults(func=cmd_verify)


def _add_attack(sub) -> None:
    p = sub.add_parser(
        "attack",
        help="try to recover every hidden count of every report of a build (integer programme); "
        "exit 1 if one is recovered",
    )
    p.add_argument(
        "results", nargs="?", default=str(paths.RESULTS_DIR), help="results folder of a build"
    )
    p.set_defaults(func=cmd_attack)


def _add_timings(sub) -> None:
    p = sub.add_parser(
        "timings",
        help="CPU seconds per kind of step and the timeline of a build run with "
        "ANALYSIS_WORKER_TIMES=<file>",
    )
    p.add_argument("file", help="the file ANALYSIS_WORKER_TIMES named")
    p.add_argument(
        "--cores",
        type=_positive_int,
        default=os.cpu_count() or 1,
        help="cores the build ran on (default: this machine's, %(default)s, as make uses them)",
    )
    p.set_defaults(func=cmd_timings)


def _terminate(signum, frame):
    # Raising SystemExit runs every `finally`, so temporary files are removed and
    # nothing half-written is moved into place.
    raise SystemExit(128 + signum)


def _expected_errors() -> tuple[type[Exception], ...]:
    """The errors a user can cause (bad input, arguments, configuration): one line, exit 1.

    Imported only when a command has failed: a command that needs none of these
    modules (``make-targets``, which every clean build waits for) does not pay for
    importing the estimators, the renderer and the payments.
    """
    from analysis.config import ConfigError
    from analysis.data.validate import DataContractError
    from analysis.payments.ledger import LedgerError
    from analysis.payments.reconcile import ReconciliationError
    from analysis.pipeline.build import BuildError
    from analysis.provenance import ProvenanceError
    from analysis.render.execute import NotebookFailed
    from analysis.safety import UnsafeOutputError
    from analysis.sdc.check import DisclosureError

    return (
        BuildError,
        ConfigError,
        DataContractError,
        NotebookFailed,
        DisclosureError,
        UnsafeOutputError,
        LedgerError,
        ReconciliationError,
        UsageError,
        ProvenanceError,
    )


EVALUATION_KINDS = ("midterm", "preliminary_final", "final")


def _evaluation_step(args) -> tuple[str, str] | None:
    """(kind, step) of a command that makes part of an evaluation report, else None.

    Whether it failed is recorded for the portal (:mod:`analysis.render.failures`),
    which otherwise cannot tell a failed evaluation from one not yet due.
    """
    func = getattr(args, "func", None)
    if func is cmd_evaluate:
        step = "estimates" if args.estimates_only else "results"
    elif func is cmd_report:
        step = f"report {args.lang}"
    else:
        return None
    return (args.kind, step) if args.kind in EVALUATION_KINDS else None


def _note_step(args, kind: str, step: str, failed: bool) -> None:
    from analysis.render import failures

    try:
        as_of = str(getattr(_contract(args).timeline.evaluations, kind))
    except Exception:  # a contract that does not load: the step itself said why
        as_of = None
    failures.note(kind, step, as_of, failed)


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _terminate)
    args = build_parser().parse_args(argv)
    if args.revalidate:
        from analysis.data.receipt import REVALIDATE

        os.environ[REVALIDATE] = "1"
    step = _evaluation_step(args)
    status = 1
    try:
        status = args.func(args)
        return status
    except Exception as error:
        from analysis.data.cpr import safe_message

        if isinstance(error, _expected_errors()):
            print(f"error: {safe_message(error)}", file=sys.stderr)
            return 1
        # A traceback can quote data values; it is shown only on request.
        if os.environ.get("ANALYSIS_TRACEBACK"):
            raise
        print(
            f"error: unexpected {type(error).__name__}: {safe_message(error)} "
            "(set ANALYSIS_TRACEBACK=1 to see where)",
            file=sys.stderr,
        )
        return 1
    finally:
        if step is not None:
            _note_step(args, *step, failed=status != 0)
