"""`evalkit agreement`: the inter-rater agreement report, as tables in the terminal or one HTML file."""
from __future__ import annotations

import pandas as pd

from ..outputs import output_file
from ..psychometrics.reports import DEFAULT_BOOTSTRAP, agreement_report, summary_table, write_html_report
from .common import add_workspace_arg, store_from, whole_number


def cmd_agreement(args) -> None:
    if args.out is not None:
        output_file(args.out, "agreement report")  # refuse a bad destination (or an empty --out) before the work
    store = store_from(args)
    report = agreement_report(store, args.program, args.rubric_version, args.bootstrap, args.seed,
                              args.min_shared)
    data = report.data
    print(f"{data.program}: {data.version_note}")
    if args.out:
        path = write_html_report(report, args.out)
        print(f"agreement report written to {path}")
        return
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        print("\nAgreement per criterion (estimate [95% CI]):")
        print(summary_table(report.tables["criterion_agreement"], "criterion").to_string())
        print("\nTotal % and decision:")
        print(summary_table(report.tables["total_agreement"], ["target", "measure"], columns=None).to_string())
        print("\nRater severity (positive = lenient):")
        print(report.tables["rater_severity"].drop(columns="method").round(3).to_string(index=False))


def register(sub) -> None:
    """Add ``evalkit agreement``."""
    p = sub.add_parser("agreement", help="inter-rater agreement report for a program (tables, or HTML with --out)")
    p.add_argument("--program", required=True, help="program id, e.g. CCOM")
    p.add_argument("--rubric-version", help="rubric version (default: the one with the most double-scored data)")
    p.add_argument("--out", metavar="FILE.html", help="write the full HTML report here (default: print tables)")
    p.add_argument("--bootstrap", type=whole_number(0), default=None, metavar="N",
                   help=f"bootstrap every interval with N resamples (default: analytic intervals, "
                        f"{DEFAULT_BOOTSTRAP} resamples for Krippendorff's alpha; 0: analytic only)")
    p.add_argument("--seed", type=whole_number(0), default=0, help="bootstrap seed (default 0)")
    p.add_argument("--min-shared", type=whole_number(1), default=3, metavar="N",
                   help="pairwise table: raters sharing at least N submissions (default 3)")
    add_workspace_arg(p)
    p.set_defaults(func=cmd_agreement)
