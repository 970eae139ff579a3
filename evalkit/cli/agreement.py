"""`evalkit agreement`: the inter-rater agreement and validity report, as tables in the terminal or one HTML file."""
from __future__ import annotations

from ..outputs import output_file
from .common import add_workspace_arg, store_from, whole_number


def _print_validity(report) -> None:
    """The validity sections in the terminal: G and D study, rater measures, decision consistency, standard
    setting (or why each is missing)."""
    t, notes = report.tables, report.notes
    if "g_study" in t:
        print(f"\nG study: {report.gstudy.describe()}")
        d = t["d_study"]
        print("D study, raters per submission (criteria fixed; Phi(lambda) at the pass mark):")
        print(d[["n_r", "g_coefficient", "phi", "phi_lambda", "sem_absolute"]].round(3).to_string(index=False))
        print(d["conventions"].iloc[0])
    else:
        print(f"\nG study: {notes.get('generalizability', 'not made')}")
    if "rater_measures" in t:
        print(f"\nRater measures ({report.mfrm.describe()}; higher = more severe):")
        shown = t["rater_measures"][["rater", "measure", "se", "infit", "outfit", "observed_average", "fair_average",
                                     "flag"]]
        print(shown.round(2).to_string(index=False))
        if report.mfrm.note:
            print(report.mfrm.note)
    else:
        print(f"\nRater measures: {notes.get('rater_measures', 'not made')}")
    if "decision_consistency" in t:
        print("\nDecision consistency at the pass mark:")
        for line in t["decision_consistency"]["describe"]:
            print(f"  {line}")
    else:
        print(f"\nDecision consistency: {notes.get('decision_consistency', 'not made')}")
    if report.workshop is not None:
        print(f"\nStandard setting: {report.workshop.describe()}")
        print(f"  {report.workshop.status['note']}")
    else:
        print(f"\nStandard setting: {notes.get('standard_setting', 'none')}")


def _print_self_assessment(report) -> None:
    """The self-assessment section in the terminal: over- and under-estimation per domain and the prediction across
    candidates, with their conventions (or the sentence saying there is nothing to compare)."""
    from ..psychometrics.reports import readable_table

    if report.self_assessment is None:
        print(f"\nSelf-assessment: {report.notes['self_assessment']}")
        return
    bias, prediction = report.tables["self_assessment_bias"], report.tables["self_assessment_prediction"]
    print(f"\nSelf-assessment against the SME evaluation ({report.self_assessment.candidates} candidates; "
          "self - evaluated on 0-1, positive = over-estimation; shares of candidates):")
    print(readable_table(bias).round(3).to_string(index=False))
    print("How well self-assessment predicts the evaluation across candidates:")
    print(readable_table(prediction).round(3).to_string(index=False))
    for line in (bias["method"].iloc[0], prediction["method"].iloc[0]):
        print(line)


def cmd_agreement(args) -> None:
    import pandas as pd

    from ..psychometrics.reports import agreement_report, summary_table, write_html_report

    if args.out is not None:
        output_file(args.out, "agreement report")  # refuse a bad destination (or an empty --out) before the work
    store = store_from(args)
    report = agreement_report(store, args.program, args.rubric_version, args.bootstrap, args.seed,
                              args.min_shared, args.mfrm_subjects)
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
        _print_validity(report)
        _print_self_assessment(report)


def register(sub) -> None:
    """Add ``evalkit agreement``."""
    p = sub.add_parser("agreement", help="inter-rater agreement and validity report for a program (tables, or HTML "
                                         "with --out)")
    p.add_argument("--program", required=True, help="program id, e.g. CCOM")
    p.add_argument("--rubric-version", help="rubric version (default: the one with the most double-scored data)")
    p.add_argument("--out", metavar="FILE.html", help="write the full HTML report here (default: print tables)")

    @p.later  # the report's defaults come with pandas and SciPy: imported when this command is used
    def _report_arguments(p) -> None:
        from ..psychometrics.reports import DEFAULT_BOOTSTRAP, MFRM_MAX_SUBJECTS

        p.add_argument("--bootstrap", type=whole_number(0), default=None, metavar="N",
                       help=f"bootstrap every interval with N resamples (default: analytic intervals, "
                            f"{DEFAULT_BOOTSTRAP} resamples for Krippendorff's alpha; 0: analytic only)")
        p.add_argument("--seed", type=whole_number(0), default=0, help="bootstrap and sampling seed (default 0)")
        p.add_argument("--min-shared", type=whole_number(1), default=3, metavar="N",
                       help="pairwise table: raters sharing at least N submissions (default 3)")
        p.add_argument("--mfrm-subjects", type=whole_number(0), default=MFRM_MAX_SUBJECTS, metavar="N",
                       help=f"fit the many-facet Rasch model to a seeded random sample of at most N double-scored "
                            f"submissions (default {MFRM_MAX_SUBJECTS}; 0: all of them)")
        add_workspace_arg(p)

    p.set_defaults(func=cmd_agreement)
