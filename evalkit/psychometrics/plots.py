"""Figures of the agreement report: pure functions from the tables of :mod:`evalkit.psychometrics.reports` to
matplotlib figures.

Each function returns a :class:`matplotlib.figure.Figure` made without pyplot, so no global figure state builds up
in a long-running kernel or in the CLI; Jupyter's inline backend displays it as the value of a cell.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.figure import Figure

__all__ = ["pairwise_heatmap", "severity_chart", "bland_altman_plot", "drift_chart", "level_usage_bars", "d_study_plot"]


def _plain(label) -> str:
    """A label drawn as written: matplotlib would parse text between two ``$`` as maths (a rater named
    ``$x^$`` would stop the whole report), so every ``$`` from the data is escaped."""
    return str(label).replace("$", r"\$")


def _require(frame: pd.DataFrame, columns: list[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} needs the columns {columns}; missing {missing} (pass the table from "
                         "evalkit.psychometrics.reports)")


def pairwise_heatmap(pairs: pd.DataFrame, value: str = "kappa") -> Figure:
    """Heat map of a pairwise statistic (default: weighted kappa) between raters; blank = too few shared.

    Parameters
    ----------
    pairs : DataFrame
        :func:`evalkit.psychometrics.reports.pairwise_agreement`.
    value : str
        The column to show (``kappa``, ``pct_exact``, ``pct_within_1``, ``mean_total_diff``).
    """
    _require(pairs, ["rater_a", "rater_b", "n_submissions", value], "pairwise_heatmap")
    names = sorted(set(pairs["rater_a"]) | set(pairs["rater_b"]))
    grid = pd.DataFrame(np.nan, index=names, columns=names)
    counts = pd.DataFrame(0, index=names, columns=names)
    for row in pairs.itertuples():
        for a, b in ((row.rater_a, row.rater_b), (row.rater_b, row.rater_a)):
            grid.loc[a, b] = getattr(row, value)
            counts.loc[a, b] = row.n_submissions
    fig = Figure(figsize=(1.1 * len(names) + 2.5, 0.9 * len(names) + 1.5))
    ax = fig.subplots()
    values = grid.to_numpy(dtype=float)
    if value == "mean_total_diff":  # a signed difference: centred on 0
        limit = float(np.nanmax(np.abs(values))) if np.isfinite(values).any() else 1.0
        image = ax.imshow(values, cmap="RdBu_r", vmin=-limit, vmax=limit)
    else:  # agreement: up to 1, below 0 when worse than chance
        low = min(0.0, float(np.nanmin(values))) if np.isfinite(values).any() else 0.0
        image = ax.imshow(values, cmap="viridis", vmin=low, vmax=1.0)
    for i in range(len(names)):
        for j in range(len(names)):
            if np.isfinite(values[i, j]):
                dark = image.norm(values[i, j]) < 0.5 and value != "mean_total_diff"
                ax.text(j, i, f"{values[i, j]:.2f}\nn={counts.iloc[i, j]}", ha="center", va="center", fontsize=8,
                        color="white" if dark else "black")
    ax.set_xticks(range(len(names)), [_plain(n) for n in names], rotation=45, ha="right")
    ax.set_yticks(range(len(names)), [_plain(n) for n in names])
    fig.colorbar(image, ax=ax, label=value)
    ax.set_title(f"Pairwise {value} (n = shared submissions)")
    fig.tight_layout()
    return fig


def severity_chart(severity: pd.DataFrame, unit: str = "levels") -> Figure:
    """Each rater's mean deviation from the resolved (or gold) score with its 95% interval.

    Parameters
    ----------
    severity : DataFrame
        :func:`evalkit.psychometrics.reports.rater_severity` or :func:`evalkit.psychometrics.reports.calibration`.
    unit : {"levels", "total"}
    """
    col = {"levels": "deviation_levels", "total": "deviation_total"}[unit]
    low, high = f"{unit}_ci_low", f"{unit}_ci_high"
    _require(severity, ["rater", col, low, high, "n_submissions"], "severity_chart")
    rows = severity.sort_values(col)
    y = np.arange(len(rows))
    fig = Figure(figsize=(7, 0.45 * len(rows) + 1.5))
    ax = fig.subplots()
    mean = rows[col].to_numpy(dtype=float)
    err = np.vstack([mean - rows[low].to_numpy(dtype=float), rows[high].to_numpy(dtype=float) - mean])
    ax.errorbar(mean, y, xerr=np.nan_to_num(err), fmt="o", capsize=4, color="tab:blue")
    ax.axvline(0, color="grey", lw=1, ls="--")
    ax.set_yticks(y, [_plain(f"{r} (n={n})") for r, n in zip(rows["rater"], rows["n_submissions"])])
    ax.set_xlabel(f"mean deviation ({'levels' if unit == 'levels' else 'total %'}); + lenient, - severe")
    ax.set_title("Rater severity with 95% t intervals")
    fig.tight_layout()
    return fig


def bland_altman_plot(frame: pd.DataFrame, limits: pd.Series) -> Figure:
    """Bland-Altman plot of the first vs second rater's total % with bias and limits of agreement.

    Parameters
    ----------
    frame : DataFrame
        :func:`evalkit.psychometrics.reports.bland_altman`.
    limits : Series
        :func:`evalkit.psychometrics.reports.limits_of_agreement` (``bias``, ``lower``, ``upper``).
    """
    _require(frame, ["mean", "difference"], "bland_altman_plot")
    fig = Figure(figsize=(7, 4.5))
    ax = fig.subplots()
    ax.scatter(frame["mean"], frame["difference"], alpha=0.7)
    for key, style in (("bias", "-"), ("lower", "--"), ("upper", "--")):
        value = float(limits[key])
        if np.isfinite(value):
            ax.axhline(value, color="tab:red" if key == "bias" else "grey", ls=style, lw=1)
            ax.annotate(f"{key} {value:.1f}", (1.0, value), xycoords=("axes fraction", "data"), fontsize=8,
                        ha="right", va="bottom")
    ax.set_xlabel("mean of the two raters' totals (%)")
    ax.set_ylabel("first - second rater (%)")
    ax.set_title(f"Bland-Altman: first vs second rater (n={int(limits['n'])})")
    fig.tight_layout()
    return fig


def drift_chart(drift: pd.DataFrame) -> Figure:
    """Each rater's deviation from the resolved score per time window, with 95% intervals.

    Parameters
    ----------
    drift : DataFrame
        :func:`evalkit.psychometrics.reports.severity_drift`.
    """
    _require(drift, ["rater", "period_start", "deviation_levels", "levels_ci_low", "levels_ci_high"], "drift_chart")
    fig = Figure(figsize=(8, 4.5))
    ax = fig.subplots()
    raters = sorted(drift["rater"].unique())
    offsets = np.linspace(-8, 8, len(raters)) if len(raters) > 1 else [0]
    for rater, offset in zip(raters, offsets):
        rows = drift[drift["rater"] == rater].sort_values("period_start")
        x = pd.to_datetime(rows["period_start"]) + pd.to_timedelta(offset, unit="D")
        mean = rows["deviation_levels"].to_numpy(dtype=float)
        err = np.vstack([mean - rows["levels_ci_low"].to_numpy(dtype=float),
                         rows["levels_ci_high"].to_numpy(dtype=float) - mean])
        ax.errorbar(x, mean, yerr=np.nan_to_num(err), fmt="o-", capsize=3, label=_plain(rater), alpha=0.85)
    ax.axhline(0, color="grey", lw=1, ls="--")
    ax.set_ylabel("mean deviation (levels); + lenient")
    ax.set_xlabel("window start")
    ax.set_title("Severity drift")
    if raters:
        ax.legend(fontsize=8, ncol=2)
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig


def level_usage_bars(usage: pd.DataFrame) -> Figure:
    """Stacked bars: the share of rater scores at each level, per criterion.

    Parameters
    ----------
    usage : DataFrame
        :func:`evalkit.psychometrics.reports.level_usage`.
    """
    _require(usage, ["criterion", "level", "proportion"], "level_usage_bars")
    order = list(dict.fromkeys(usage["criterion"]))
    wide = usage.pivot(index="criterion", columns="level", values="proportion").reindex(order).fillna(0.0)
    fig = Figure(figsize=(8, 0.35 * len(order) + 1.8))
    ax = fig.subplots()
    left = np.zeros(len(order))
    colors = colormaps["RdYlGn"](np.linspace(0.1, 0.9, len(wide.columns)))  # ordered levels: red (low) to green
    for level, color in zip(wide.columns, colors):
        share = wide[level].to_numpy()
        ax.barh([_plain(c) for c in order], share, left=left, color=color, label=_plain(f"level {level}"))
        left += share
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of rater scores")
    ax.set_title("Level usage per criterion")
    ax.legend(fontsize=8, ncol=len(wide.columns), loc="upper center", bbox_to_anchor=(0.5, -0.18))
    fig.tight_layout()
    return fig


def d_study_plot(table: pd.DataFrame, target: float | None = 0.8) -> Figure:
    """D-study curves: E rho^2, Phi (and Phi(lambda) when a cut was given) against the number of conditions.

    Answers "how many raters does a dependable decision need": the first point of a curve above the
    ``target`` line is the smallest number of conditions that reaches it.

    Parameters
    ----------
    table : DataFrame
        :meth:`evalkit.psychometrics.gtheory.GStudyResult.d_study_table` (one ``n_<facet>`` column and the
        coefficient columns).
    target : float or None, default 0.8
        A horizontal reference line (``None``: none).
    """
    n_cols = [c for c in table.columns if str(c).startswith("n_")]
    if len(n_cols) != 1:
        raise ValueError("d_study_plot needs one n_<facet> column and the columns g_coefficient, phi (pass the table "
                         "from GStudyResult.d_study_table)")
    _require(table, [n_cols[0], "g_coefficient", "phi"], "d_study_plot")
    n_col = n_cols[0]
    facet = n_col[2:]
    x = table[n_col].to_numpy(dtype=float)
    fig = Figure(figsize=(7, 4.5))
    ax = fig.subplots()
    curves = [("g_coefficient", "E rho² (relative decisions)", "o-"), ("phi", "Φ (absolute decisions)", "s-")]
    cut = table.attrs.get("cut")
    if "phi_lambda" in table.columns and table["phi_lambda"].notna().any():
        curves.append(("phi_lambda", _plain(f"Φ(λ) at cut {cut:g}" if cut is not None else "Φ(λ)"), "^-"))
    for col, label, style in curves:
        ax.plot(x, table[col].to_numpy(dtype=float), style, label=label)
    if target is not None:
        ax.axhline(float(target), color="grey", ls="--", lw=1, label=f"target {float(target):g}")
    ax.set_xticks(x)
    word = {"r": "raters", "i": "criteria", "t": "tasks", "o": "occasions"}.get(facet, _plain(facet))
    ax.set_xlabel(f"number of {word} ({_plain(n_col)})")
    ax.set_ylabel("coefficient")
    ax.set_ylim(0, 1.02)
    design = table.attrs.get("design")
    ax.set_title(_plain(f"D study{' ' + design if design else ''}: dependability by number of {word}"))
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
