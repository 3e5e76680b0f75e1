"""Command line: ``python -m analysis <command>``; the Makefile calls only this.

Every command has ``--help``. Errors a user can fix (bad configuration, an
extract that breaks the data contract, a failing notebook) print one clear
message and exit with status 1, without a traceback.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from analysis import paths


def _contract(args):
    from analysis.config import load_contract

    return load_contract(args.config)


def cmd_synth(args) -> int:
    from analysis.config import load_synthetic
    from analysis.data.synth import generate

    contract = _contract(args)
    synth = load_synthetic(args.synthetic_config)
    seed = contract.seed if args.seed is None else args.seed
    manifest = generate(args.out, contract, synth, seed, comparison_persons=args.comparison_persons)
    rows = ", ".join(f"{k}={v:,}" for k, v in manifest["rows"].items())
    print(f"synthetic extract written to {args.out} (seed {seed}): {rows}")
    return 0


def cmd_validate(args) -> int:
    from analysis.data.validate import load_extract, summarise

    extract = load_extract(args.data, _contract(args))
    print(f"{args.data}: the extract meets the data contract")
    print(summarise(extract).to_string(index=False))
    return 0


def cmd_quarterly(args) -> int:
    from analysis.payments.quarterly import write_quarterly_results
    from analysis.safety import guard_outputs

    guard_outputs(Path(args.data), [Path(args.out)])
    out = Path(args.out)
    written = write_quarterly_results(Path(args.data), args.as_of, out, _contract(args))
    print(f"quarterly results as of {args.as_of} written to {written}")
    if out.name == args.as_of:
        from analysis.reports.quarterly_view import publish

        path = publish(out.parent, args.as_of, _contract(args))
        print(f"cells published by the quarterly report of {args.as_of}: {path}")
    else:
        print(
            f"note: {out} is not named {args.as_of}, so later reports cannot find what this "
            "quarter's report publishes (disclosure control across reports needs <dir>/<quarter>)"
        )
    return 0


def cmd_report(args) -> int:
    from analysis.render.build import build_report
    from analysis.reports.kinds import load_kind
    from analysis.safety import guard_outputs

    contract = _contract(args)
    kind = load_kind(args.kind)
    as_of = kind.as_of(contract, args.as_of)
    guard_outputs(Path(args.data), [Path(args.reports), Path(args.quarterly_dir)])
    built = build_report(
        kind,
        contract,
        as_of,
        args.lang,
        Path(args.data),
        Path(args.quarterly_dir),
        Path(args.reports),
    )
    print(f"{kind.name} report as of {as_of} ({args.lang}): {built.html}, {built.pdf}")
    return 0


def cmd_portal(args) -> int:
    from analysis.render.portal import write_portal

    print(f"reports portal: {write_portal(Path(args.reports))}")
    return 0


def cmd_make_targets(args) -> int:
    from analysis.reports.maketargets import make_targets

    sys.stdout.write(
        make_targets(_contract(args), args.as_of, args.langs.split(), args.quarterly_langs.split())
    )
    return 0


def cmd_data_contract(args) -> int:
    from analysis.data.contract_doc import write_contract_doc

    write_contract_doc(Path(args.out), _contract(args))
    print(f"data contract written to {args.out}")
    return 0


def cmd_verify(args) -> int:
    from analysis.verify import verify

    return verify(Path(args.published), Path(args.reexecuted))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m analysis", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--config",
        default=str(paths.CONTRACT_FILE),
        help="contract configuration (default: %(default)s)",
    )
    sub = parser.add_subparsers(dest="command", required=True)

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
    p.set_defaults(func=cmd_synth)

    p = sub.add_parser("validate", help="check an extract directory against the data contract")
    p.add_argument(
        "data",
        nargs="?",
        default=str(paths.SYNTHETIC_DIR),
        help="extract directory (default: %(default)s)",
    )
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser(
        "quarterly", help="compute the quarterly results and payments as of a quarter"
    )
    p.add_argument("--data", default=str(paths.SYNTHETIC_DIR), help="extract directory")
    p.add_argument("--as-of", required=True, help="cut-off quarter, YYYYQn")
    p.add_argument("--out", required=True, help="output directory for the result tables")
    p.set_defaults(func=cmd_quarterly)

    p = sub.add_parser("report", help="execute a report notebook and render it to HTML and PDF")
    p.add_argument("kind", help="quarterly, midterm, preliminary_final or final")
    p.add_argument(
        "--as-of",
        default=None,
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
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("portal", help="write reports/index.html listing every rendered report")
    p.add_argument(
        "--reports", default=str(paths.REPORTS_DIR), help="reports root (default: %(default)s)"
    )
    p.set_defaults(func=cmd_portal)

    p = sub.add_parser(
        "make-targets", help="print the Makefile rules for every report (used by the Makefile)"
    )
    p.add_argument("--as-of", required=True, help="last quarter with a quarterly report")
    p.add_argument("--langs", default="da en", help="languages of the evaluation reports")
    p.add_argument("--quarterly-langs", default="da", help="languages of the quarterly reports")
    p.set_defaults(func=cmd_make_targets)

    p = sub.add_parser(
        "data-contract", help="write the data-contract document generated from the schemas"
    )
    p.add_argument("--out", default=str(paths.DATA_DIR / "README.md"))
    p.set_defaults(func=cmd_data_contract)

    p = sub.add_parser("verify", help="compare re-executed results files with the published ones")
    p.add_argument("published", help="folder of published reports")
    p.add_argument("reexecuted", help="folder of re-executed reports")
    p.set_defaults(func=cmd_verify)
    return parser


def _terminate(signum, frame):
    # Raising SystemExit runs every `finally`, so temporary files are removed and
    # nothing half-written is moved into place.
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _terminate)
    args = build_parser().parse_args(argv)
    from analysis.config import ConfigError
    from analysis.data.validate import DataContractError
    from analysis.render.execute import NotebookFailed
    from analysis.safety import UnsafeOutputError
    from analysis.sdc.check import DisclosureError

    try:
        return args.func(args)
    except (
        ConfigError,
        DataContractError,
        NotebookFailed,
        DisclosureError,
        UnsafeOutputError,
    ) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
