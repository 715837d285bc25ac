"""``run_study(config) -> StudyResult``: the notebook's whole workflow as one call.

Steps: load features per exchange → study frame → rank IC, deciles, regime table, quality checks,
quintiles → in-sample sweep and its best configuration → walk-forward. With ``parity: true`` the
notebook's own (leaky) choices are run as well, so the report can show both side by side.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from pointline.errors import PointlineError
from pointline.research.backtest.fixed_holding import BacktestResult, backtest_fixed_holding, prepare_series
from pointline.research.backtest.metrics import HEADLINE_METRICS
from pointline.research.backtest.sweep import best_config, sweep
from pointline.research.backtest.walkforward import Fold, WalkForwardResult, make_folds, walk_forward
from pointline.research.evaluate import (
    FeatureQuality,
    QuintileResult,
    decile_returns,
    decile_spreads,
    quick_backtest,
    rank_ic,
    regime_ic,
    regime_spreads,
    validate_features,
    with_deciles,
)
from pointline.research.evaluate.deciles import REGIME_ORDER
from pointline.research.study.config import StudyConfig
from pointline.research.study.frame import build_study_frame
from pointline.research.study.parity import notebook_walk_forward
from pointline.research.timeline import US_PER_DAY, to_us

Progress = Callable[[str], None]


@dataclass
class Analysis:
    """Every number of one run (clean or notebook-parity) of the study.

    ``ic`` is the rank IC of the composite ``signal`` per horizon; ``feature_ic`` the same figures for
    each signal feature on its own (``feature`` column first), before ranking and the sign;
    ``regime_ic`` the signal's per volatility regime (``regime`` column first).
    """

    mode: str
    frame: pl.DataFrame
    ic: pl.DataFrame
    feature_ic: pl.DataFrame
    decile_returns: pl.DataFrame
    decile_spreads: pl.DataFrame
    regime_ic: pl.DataFrame
    regime_spreads: pl.DataFrame
    regime_counts: pl.DataFrame
    quality: FeatureQuality
    quintiles: QuintileResult
    sweep: pl.DataFrame
    best: dict[str, Any] | None
    best_backtest: BacktestResult | None
    walk_forward: WalkForwardResult
    ts_col: str = "ts"


@dataclass
class StudyResult:
    """Clean analysis, optional notebook-parity analysis, and the config that produced them.

    ``notes`` explains results a reader could take for findings: an empty walk-forward fold, blank
    regime cells, no best configuration, annualised figures from a few days (see :func:`study_notes`).
    """

    config: StudyConfig
    clean: Analysis
    parity: Analysis | None = None
    notes: list[str] = field(default_factory=list)

    def tables(self) -> dict[str, pl.DataFrame]:
        """Named result tables (written as CSV and Parquet by :func:`write_study`)."""
        out: dict[str, pl.DataFrame] = {}
        for a in (self.clean, self.parity):
            if a is None:
                continue
            p = f"{a.mode}_"
            out.update(
                {
                    p + "ic": a.ic,
                    p + "feature_ic": a.feature_ic,
                    p + "decile_returns": a.decile_returns,
                    p + "decile_spreads": a.decile_spreads,
                    p + "regime_ic": a.regime_ic,
                    p + "regime_spreads": a.regime_spreads,
                    p + "regime_counts": a.regime_counts,
                    p + "quality": a.quality.table,
                    p + "feature_corr": a.quality.corr,
                    p + "quintiles": a.quintiles.table,
                    p + "sweep": a.sweep,
                    p + "walk_forward": a.walk_forward.folds,
                    p + "oos_trades": a.walk_forward.oos_trades,
                }
            )
            if a.best_backtest is not None:
                out[p + "best_trades"] = a.best_backtest.trades
        return out


def load_feature_frames(cfg: StudyConfig, *, notebook_compatible: bool = False) -> dict[str, pl.DataFrame]:
    """Feature frames per exchange: from ``cfg.inputs`` Parquet files, else from the lake's trades.

    The lake path runs ``notebook_features`` on the trades of ``[start, end)`` a UTC day at a time,
    days and exchanges in parallel on ``cfg.execution`` (see
    :func:`pointline.research.features.from_lake.notebook_features_from_lake`: the same frame as one
    pass, with one day per worker in memory), with each instrument's contract convention from
    ``dim_symbol``. Frames are point-in-time (``ts`` = bucket end, empty buckets kept with null
    features) by default, or exactly the notebook's frame (bucket-start labels, buckets with < 2
    trades dropped) with ``notebook_compatible=True``.
    """
    if cfg.inputs:
        missing = [e for e in cfg.exchanges if e not in cfg.inputs]
        if missing:
            raise PointlineError(f"study: inputs has no file for exchange(s) {missing}")
        return {e: pl.read_parquet(cfg.inputs[e]) for e in cfg.exchanges}
    if cfg.start is None or cfg.end is None:
        raise PointlineError("study: 'start' and 'end' are required to read trades from the lake")
    try:
        from pointline.research.discovery import no_rows_message
        from pointline.research.features.from_lake import notebook_features_from_lake
    except ImportError as exc:
        raise PointlineError(
            f"study: the lake feature path is not available ({exc}); give per-exchange Parquet files in 'inputs'"
        ) from None
    frames = notebook_features_from_lake(
        cfg.exchanges,
        cfg.symbol,
        cfg.start,
        cfg.end,
        interval_us=cfg.interval_us,
        notebook_compatible=notebook_compatible,
        executor=cfg.execution.get("executor", "threads"),
        max_workers=cfg.execution.get("max_workers"),
        lake=cfg.lake,
    )
    for exchange, frame in frames.items():
        if frame.height == 0:
            raise PointlineError(
                "study: "
                + no_rows_message("trades", exchange, cfg.symbol, (cfg.start, cfg.end), lake=cfg.lake)
            )
    return frames


def _horizon_cols(cfg: StudyConfig) -> dict[str, str]:
    return {h: f"fwd_{h}" for h in cfg.horizons}


def _clean_folds(frame: pl.DataFrame, cfg: StudyConfig) -> list[Fold]:
    """The clean study's folds: windows hold the bars of whole UTC days (by the interval they cover).

    ``ts`` is the bar's end (known-at), so a bar opening at 00:00 has ``ts`` 00:05 on 5-minute bars:
    folds tile from the first bar's ``ts`` and a ``split`` date becomes ``split + interval`` on the
    ``ts`` clock (the first test bar opens at the split date — the notebook's split, which compares
    bucket starts, tests the same bars). Every bar from the first test window on, the last included,
    is in exactly one test window (see :func:`make_folds`).

    Data that does not start at midnight (a first bar opening at 13:00) still gets windows of whole
    UTC days: the tiling starts at the midnight before the first bar, so the first training window
    holds that partial day and every later window (each test window) runs midnight to midnight —
    the days its calendar Sharpe counts. Windows starting at the first bar would cut every day in
    two and leave each test window two partial days, which its Sharpe drops.
    """
    first, last = int(frame["ts"].min()), int(frame["ts"].max())
    wf = cfg.walk_forward
    if "train_days" in wf:
        midnight = (first - cfg.interval_us) // US_PER_DAY * US_PER_DAY
        return make_folds(
            midnight + cfg.interval_us,
            last,
            train_us=int(float(wf["train_days"]) * US_PER_DAY),
            test_us=int(float(wf["test_days"]) * US_PER_DAY),
            step_us=int(float(wf["step_days"]) * US_PER_DAY) if wf.get("step_days") else None,
            anchored=bool(wf.get("anchored", False)),
        )
    split = _split_us(frame["ts"], cfg) + cfg.interval_us
    return [Fold(first, split, split, last + 1)]


def _split_us(ts: pl.Series, cfg: StudyConfig) -> int:
    if "split" in cfg.walk_forward:
        return to_us(cfg.walk_forward["split"], name="walk_forward.split")
    first, last = int(ts.min()), int(ts.max())
    return (first + int((last - first) * 0.65)) // US_PER_DAY * US_PER_DAY


def _analyse(
    frames: Mapping[str, pl.DataFrame], cfg: StudyConfig, *, parity: bool, progress: Progress
) -> Analysis:
    mode = "parity" if parity else "clean"
    progress(f"{mode}: building the study frame")
    frame = build_study_frame(frames, cfg, parity=parity)
    if frame["signal"].fill_nan(None).null_count() == frame.height:
        raise PointlineError(
            f"study ({mode}): the composite signal is empty on all {frame.height} bars: its rolling ranks "
            f"need min_periods={cfg.min_periods} bars of history; give more data or lower min_periods"
        )
    ts_col = "bucket_start" if parity else "ts"
    horizons = _horizon_cols(cfg)
    progress(f"{mode}: rank IC, deciles, quality")
    ic = rank_ic(frame, "signal", horizons, cfg.horizons)
    feature_ic = pl.concat(
        [
            rank_ic(frame, f, horizons, cfg.horizons).select(pl.lit(f).alias("feature"), pl.all())
            for f in cfg.features
        ]
    )
    deciled = with_deciles(frame, "signal")
    dec_ret = decile_returns(deciled, horizons)
    # The notebook's table charges one round trip for the two legs of the spread; the clean study both.
    dec_spread = decile_spreads(
        deciled, horizons, fee_bps=cfg.fee_bps, contrarian=cfg.contrarian, fee_legs=1 if parity else 2
    )
    reg_ic = regime_ic(frame, "signal", horizons, cfg.horizons, min_obs=cfg.regime_min_obs)
    reg_spread = regime_spreads(deciled, horizons, contrarian=cfg.contrarian, min_obs=cfg.regime_min_obs)
    counts = frame.group_by("vol_regime").agg(pl.len().alias("bars")).sort("vol_regime")
    quality = validate_features(frame, cfg.features)
    quint_h = next(iter(horizons))
    for h in horizons:
        if cfg.horizons[h] == 3:
            quint_h = h
    quintiles = quick_backtest(frame, "signal", horizons[quint_h])
    progress(f"{mode}: in-sample sweep")
    side = -1 if cfg.contrarian else 1
    entry = "signal_close" if parity else cfg.entry
    prep = {
        "ts_col": ts_col,
        "ts_label": "start" if parity else "end",
        "entry": entry,
        "parity": parity,
        "interval_us": cfg.interval_us,
        "open_col": "open" if "open" in frame.columns else None,
    }
    if entry == "next_open" and "open" not in frame.columns:
        raise PointlineError("study: entry 'next_open' needs an 'open' column in the reference venue's frame")
    grid_kw = {
        "thresholds": cfg.thresholds,
        "holdings": cfg.holdings,
        "vol_filters": cfg.vol_filters,
        "fee_bps": cfg.fee_bps,
        "side": side,
        "overlapping": cfg.overlapping and not parity,
    }
    sweep_df = sweep(prepare_series(frame, **prep), **grid_kw)
    best = best_config(sweep_df, min_trades=cfg.min_trades)
    best_bt = None
    if best is not None:
        best_bt = backtest_fixed_holding(
            frame,
            threshold=best["threshold"],
            holding_bars=best["holding_bars"],
            fee_bps=cfg.fee_bps,
            vol_filter=cfg.vol_filters[best["vol_filter"]],
            side=side,
            overlapping=bool(grid_kw["overlapping"]),
            **prep,
        )
    progress(f"{mode}: walk-forward")
    if parity:
        wf = notebook_walk_forward(
            frame,
            _split_us(frame[ts_col], cfg),
            prepare_kwargs=prep,
            min_trades=cfg.min_trades_oos,
            **grid_kw,
        )
    else:
        wf = walk_forward(
            frame, _clean_folds(frame, cfg), min_trades=cfg.min_trades, prepare_kwargs=prep, **grid_kw
        )
    return Analysis(
        mode=mode,
        frame=frame,
        ic=ic,
        feature_ic=feature_ic,
        decile_returns=dec_ret,
        decile_spreads=dec_spread,
        regime_ic=reg_ic,
        regime_spreads=reg_spread,
        regime_counts=counts,
        quality=quality,
        quintiles=quintiles,
        sweep=sweep_df,
        best=best,
        best_backtest=best_bt,
        walk_forward=wf,
        ts_col=ts_col,
    )


def run_study(
    config: StudyConfig | Mapping[str, Any],
    *,
    frames: Mapping[str, pl.DataFrame] | None = None,
    progress: Progress | None = None,
) -> StudyResult:
    """Run the study described by ``config``.

    Parameters
    ----------
    config
        A :class:`StudyConfig` or a mapping of its fields.
    frames
        Per-exchange feature frames (skips loading; keys must match ``config.exchanges``).
    progress
        Called with a short description at the start of each step.

    Returns
    -------
    StudyResult
        ``clean`` (point-in-time choices) and, when ``config.parity``, ``parity`` (the notebook's).

    Example
    -------
    >>> from pointline.research.study import synthetic_feature_frames
    >>> res = run_study({"walk_forward": {"split": "2025-11-15"}},
    ...                 frames=synthetic_feature_frames(6000))  # doctest: +SKIP
    >>> res.clean.ic  # doctest: +SKIP
    """
    if isinstance(config, StudyConfig):
        cfg = config
        cfg.validate()
    else:
        cfg = StudyConfig.from_dict(dict(config))
    say = progress or (lambda _msg: None)
    parity_frames = frames
    if frames is None:
        say("loading features")
        frames = load_feature_frames(cfg)
        if cfg.parity and not cfg.inputs:
            parity_frames = load_feature_frames(cfg, notebook_compatible=True)
    else:
        missing = [e for e in cfg.exchanges if e not in frames]
        if missing:
            raise PointlineError(f"study: no frame given for exchange(s) {missing}; got {sorted(frames)}")
    ordered = {e: frames[e] for e in cfg.exchanges}
    result = StudyResult(config=cfg, clean=_analyse(ordered, cfg, parity=False, progress=say))
    if cfg.parity:
        source = parity_frames if parity_frames is not None else ordered
        nb_ordered = {e: source[e] for e in cfg.exchanges}
        result.parity = _analyse(nb_ordered, cfg, parity=True, progress=say)
    result.notes = study_notes(result)
    say("done")
    return result


#: Below this many days of bars, annualised Sharpe ratios are flagged as not meaningful.
SHORT_SPAN_DAYS = 20


def study_notes(result: StudyResult) -> list[str]:
    """Plain-language notes on the results that would otherwise mislead: a walk-forward fold that
    chose nothing (and why: no signal in its training window, or too few trades), regimes left
    blank in the IC and decile tables, no best configuration, annualised Sharpe from a short span."""
    cfg = result.config
    notes = []
    for a in (result.clean, result.parity):
        if a is None:
            continue
        frame, ts = a.frame, a.ts_col
        days = (int(frame[ts].max()) - int(frame[ts].min())) / US_PER_DAY if frame.height else 0.0
        if days < SHORT_SPAN_DAYS:
            notes.append(
                f"{a.mode}: the bars span {days:.1f} days; annualised Sharpe ratios from fewer than "
                f"{SHORT_SPAN_DAYS} days are not meaningful (0 under two whole UTC days)."
            )
        if a.best is None:
            notes.append(
                f"{a.mode}: no configuration of the sweep had more than min_trades={cfg.min_trades} trades "
                "over the whole period, so there is no best configuration."
            )
        notes += _fold_notes(a, cfg)
        notes += _regime_notes(a, cfg)
    return notes


def _fold_notes(a: Analysis, cfg: StudyConfig) -> list[str]:
    folds, frame, ts = a.walk_forward.folds, a.frame, a.ts_col
    if "vol_filter" not in folds.columns:
        return []
    min_trades = cfg.min_trades_oos if a.mode == "parity" else cfg.min_trades
    notes = []
    for row in folds.filter(pl.col("vol_filter").is_null()).iter_rows(named=True):
        window = frame.filter((pl.col(ts) >= row["train_start"]) & (pl.col(ts) < row["train_end"]))
        with_signal = window.filter(pl.col("signal").is_not_null() & pl.col("signal").is_not_nan()).height
        why = (
            f"its training window has no signal: all {window.height} bars are warm-up "
            f"(the composite needs min_periods={cfg.min_periods} bars of history)"
            if with_signal == 0
            else f"no configuration had more than min_trades={min_trades} trades in its training window "
            f"({with_signal} bars with a signal)"
        )
        notes.append(
            f"{a.mode}: walk-forward fold {row['fold']} chose no configuration, so it is flat (no trades, "
            f"0 PnL) over its test window: {why}."
        )
    return notes


def _regime_notes(a: Analysis, cfg: StudyConfig) -> list[str]:
    counts = dict(a.regime_counts.iter_rows())
    blank = [
        f"{r} ({counts.get(r, 0)} bars)"
        for r in REGIME_ORDER
        if r in a.regime_spreads.columns and a.regime_spreads[r].null_count()
    ]
    if not blank or a.regime_spreads.height == 0:
        return []
    return [
        f"{a.mode}: IC and decile spreads by regime are blank for {', '.join(blank)}: a regime needs "
        f"regime_min_obs={cfg.regime_min_obs} bars with a forward return (set regime_min_obs to lower it)."
    ]


def summary_row(metrics: Mapping[str, float]) -> dict[str, float]:
    """The headline numbers of a metrics dict, rounded for display."""
    return {k: float(np.round(metrics.get(k, np.nan), 4)) for k in HEADLINE_METRICS}


def write_study(result: StudyResult, out_dir: str | Path) -> Path:
    """Write ``report.html`` and every table as ``tables/<name>.csv`` and ``.parquet``; returns the report path."""
    from pointline.research.report import render_report

    out = Path(out_dir)
    tables_dir = out / "tables"
    tables_dir.mkdir(parents=True, exist_ok=True)
    for name, df in result.tables().items():
        df.write_parquet(tables_dir / f"{name}.parquet")
        flat = df.select([c for c, t in df.schema.items() if not isinstance(t, pl.List | pl.Struct)])
        flat.write_csv(tables_dir / f"{name}.csv")
    report = out / "report.html"
    report.write_text(render_report(result), encoding="utf-8")
    return report
