"""Compose a self-contained HTML report (inline CSS, figures as base64 PNG) from a study result.

The report only reads the result objects it is given; writing it to disk is the caller's job.
Every figure is an ``<img class="figure" data-figure="<name>">`` so tools and tests can find them.
"""

from __future__ import annotations

import html
import math
from typing import Any

import polars as pl

from pointline.research.backtest.metrics import HEADLINE_METRICS
from pointline.research.backtest.walkforward import oos_summary
from pointline.research.report import plots

_CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:24px;color:#222;max-width:1500px}
h1{font-size:24px} h2{border-bottom:2px solid #ddd;padding-bottom:4px;margin-top:32px} h3{margin-top:22px}
table{border-collapse:collapse;margin:8px 0 16px;font-size:13px}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:right} th{background:#f2f2f2}
td.s{text-align:left} img.figure{max-width:100%;display:block;margin:8px 0}
.leak{color:#b71c1c;font-weight:bold} .ok{color:#1b5e20} .note{color:#555;font-size:13px}
.cols{display:flex;gap:24px;flex-wrap:wrap}
"""


def _fmt(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        if math.isnan(v):
            return "NaN"
        if v != 0 and (abs(v) < 1e-3 or abs(v) >= 1e7):
            return f"{v:.3e}"
        return f"{v:,.4f}".rstrip("0").rstrip(".") if abs(v) < 1e4 else f"{v:,.1f}"
    return html.escape(str(v))


def table(df: pl.DataFrame, *, max_rows: int = 60) -> str:
    """An HTML table of the first ``max_rows`` rows of ``df`` (strings left-aligned)."""
    head = "".join(f"<th>{html.escape(c)}</th>" for c in df.columns)
    body = []
    for row in df.head(max_rows).iter_rows():
        cells = "".join(
            f'<td class="s">{_fmt(v)}</td>' if isinstance(v, str) else f"<td>{_fmt(v)}</td>" for v in row
        )
        body.append(f"<tr>{cells}</tr>")
    more = f'<p class="note">{df.height - max_rows} more rows in the CSV.</p>' if df.height > max_rows else ""
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>{more}"


def figure(name: str, b64: str, alt: str) -> str:
    """An inline PNG figure."""
    return (
        f'<img class="figure" data-figure="{html.escape(name)}" alt="{html.escape(alt)}" '
        f'src="data:image/png;base64,{b64}">'
    )


def _ts_table(df: pl.DataFrame) -> pl.DataFrame:
    cols = [c for c in df.columns if c.endswith(("_start", "_end"))]
    return df.with_columns(
        pl.col(c).cast(pl.Datetime("us", "UTC")).dt.strftime("%Y-%m-%d %H:%M") for c in cols
    )


def _analysis_section(a: Any, fee_bps: float) -> str:
    m = a.mode
    parts = [f'<h2 id="{m}">{"Clean (point-in-time)" if m == "clean" else "Notebook parity"} study</h2>']
    parts.append("<h3>Rank IC per horizon</h3>" + table(a.ic))
    per_feature = a.feature_ic.select(
        "feature", "horizon", "n", "ic", "p_nw", "ic_nonoverlap", "p_nonoverlap"
    )
    parts.append("<h3>Rank IC of each feature (before ranking and sign)</h3>" + table(per_feature))
    legs = "one round trip, as the notebook" if m == "parity" else "a round trip per leg"
    parts.append(
        f"<h3>Decile spreads (bps; net of {legs}, {fee_bps:g} bps each)</h3>" + table(a.decile_spreads)
    )
    parts.append(figure(f"{m}_decile_bars", plots.decile_bars(a.decile_returns), "decile bars"))
    by_regime = a.regime_ic.select("regime", "horizon", "n", "ic", "p_nw", "ic_nonoverlap", "p_nonoverlap")
    parts.append("<h3>Rank IC by volatility regime</h3>" + table(by_regime))
    parts.append("<h3>Decile spread by volatility regime (bps)</h3>" + table(a.regime_spreads))
    parts.append("<h3>Bars per regime</h3>" + table(a.regime_counts))
    checks = pl.DataFrame(
        {"check": list(a.quality.checks), "value": [str(v) for v in a.quality.checks.values()]}
    )
    parts.append("<h3>Feature quality</h3>" + table(a.quality.table) + table(checks) + table(a.quality.corr))
    parts.append(
        f"<h3>Quintiles (IC {a.quintiles.ic:+.4f}, p={a.quintiles.p_value:.2e})</h3>"
        + table(a.quintiles.table)
    )
    parts.append("<h3>Parameter sweep (in-sample: whole period)</h3>")
    parts.append(figure(f"{m}_sweep_heatmap", plots.sweep_heatmaps(a.sweep), "sweep heatmaps"))
    cols = ["vol_filter", "threshold", "holding", *HEADLINE_METRICS]
    parts.append(table(a.sweep.sort("total_pnl_bps", descending=True).select(cols), max_rows=15))
    if a.best_backtest is not None:
        b = a.best
        parts.append(
            f"<h3>Best in-sample configuration: filter={_fmt(b['vol_filter'])}, threshold={b['threshold']:g}, "
            f"holding={_fmt(b['holding'])}</h3>"
        )
        tr = a.best_backtest.trades
        parts.append(figure(f"{m}_equity", plots.equity_curves(tr), "equity gross and net"))
        parts.append(figure(f"{m}_pnl_hist", plots.pnl_histograms(tr), "pnl histograms"))
        parts.append(figure(f"{m}_rolling_win_rate", plots.rolling_win_rate(tr), "rolling win rate"))
    else:
        parts.append('<p class="note">No configuration had enough trades to pick a best one.</p>')
    wf = a.walk_forward
    parts.append("<h3>Walk-forward: in-sample vs out-of-sample</h3>")
    keep = [
        c for c in wf.folds.columns if not c.endswith(("median_pnl_bps", "std_pnl_bps", "sharpe_per_trade"))
    ]
    parts.append(table(_ts_table(wf.folds.select(keep))))
    splits = wf.folds["test_start"].to_list() if "test_start" in wf.folds.columns else []
    parts.append(
        figure(f"{m}_is_oos_equity", plots.is_oos_equity(wf.is_trades, wf.oos_trades, splits), "IS vs OOS")
    )
    return "\n".join(parts)


def _oos_summary(a: Any) -> dict[str, Any]:
    """One analysis' walk-forward totals (:func:`pointline.research.backtest.walkforward.oos_summary`)."""
    return {"study": a.mode, **oos_summary(a.walk_forward.folds)}


def _parity_section(result: Any) -> str:
    from pointline.research.study.parity import LEAKS

    rows = "".join(
        f'<tr><td class="s">{html.escape(n)}</td><td class="s">{html.escape(nb)}</td>'
        f'<td class="s">{html.escape(cl)}</td>'
        f'<td class="s {"leak" if leak else "ok"}">{"LEAKS" if leak else "no leak"}</td></tr>'
        for n, nb, cl, leak in LEAKS
    )
    leaks = (
        "<table><thead><tr><th>choice</th><th>notebook (parity)</th><th>clean</th><th>verdict</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )
    side = pl.DataFrame([_oos_summary(result.parity), _oos_summary(result.clean)], infer_schema_length=None)
    return (
        '<h2 id="leaks">Notebook choices that leak, and the clean result beside them</h2>'
        + leaks
        + "<h3>Walk-forward out-of-sample: notebook vs clean</h3>"
        + table(side)
    )


def render_report(result: Any, *, title: str | None = None) -> str:
    """The full HTML report of a :class:`pointline.research.study.StudyResult`.

    Parameters
    ----------
    result
        A study result (``config``, ``clean``, optional ``parity``).
    title
        Page title (default: symbol and exchanges).

    Returns
    -------
    str
        A self-contained HTML document (no external resources, no scripts).
    """
    cfg = result.config
    title = title or f"{cfg.symbol} — composite signal study ({', '.join(cfg.exchanges)})"
    body = [f"<h1>{html.escape(title)}</h1>"]
    body.append(
        f'<p class="note">Interval {html.escape(str(cfg.interval))}; features {html.escape(", ".join(cfg.features))}; '
        f"round-trip fee {cfg.fee_bps:g} bps; entry {html.escape(cfg.entry)}; contrarian={cfg.contrarian}. "
        "Timestamps are bar known-at instants (UTC) unless marked.</p>"
    )
    notes = getattr(result, "notes", None) or []
    if notes:
        items = "".join(f"<li>{html.escape(n)}</li>" for n in notes)
        body.append(f'<h2 id="notes">Read this first</h2><ul class="notes">{items}</ul>')
    if result.parity is not None:
        body.append(_parity_section(result))
    body.append(_analysis_section(result.clean, cfg.fee_bps))
    if result.parity is not None:
        body.append(_analysis_section(result.parity, cfg.fee_bps))
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{_CSS}</style></head><body>{''.join(body)}</body></html>"
    )
