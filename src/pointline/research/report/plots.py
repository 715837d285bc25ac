"""The notebook's figures, drawn with matplotlib (Agg) and returned as base64 PNG strings.

Every function takes result tables (never files) and returns ``str`` (base64 of a PNG), ready for an
``<img src="data:image/png;base64,...">``. Times on x axes are trade exit instants (UTC), when the
PnL is known.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import polars as pl
from matplotlib.figure import Figure

GREEN, RED, BLUE, ORANGE = "#388e3c", "#d32f2f", "steelblue", "#FF6B00"


def fig_to_base64(fig: Figure) -> str:
    """Render a figure to PNG (100 dpi) and return it base64-encoded; the figure is closed."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _dates(ts_us: pl.Series) -> np.ndarray:
    return ts_us.cast(pl.Datetime("us", "UTC")).to_numpy()


def _empty(title: str) -> str:
    fig, ax = plt.subplots(figsize=(8, 2))
    ax.text(0.5, 0.5, f"{title}: no data", ha="center", va="center")
    ax.set_axis_off()
    return fig_to_base64(fig)


def decile_bars(decile_returns: pl.DataFrame, title: str = "Forward return by signal decile") -> str:
    """One bar chart per horizon: mean forward return (bps) per decile, green > 0, red < 0."""
    horizons = decile_returns["horizon"].unique(maintain_order=True).to_list()
    if not horizons:
        return _empty(title)
    fig, axes = plt.subplots(1, len(horizons), figsize=(4.4 * len(horizons), 4), squeeze=False)
    fig.suptitle(title, fontsize=13, fontweight="bold")
    for ax, h in zip(axes[0], horizons, strict=True):
        sub = decile_returns.filter(pl.col("horizon") == h)
        vals = sub["mean_bps"].to_numpy()
        ax.bar(
            sub["signal_decile"].to_numpy(), vals, color=[GREEN if v > 0 else RED for v in vals], alpha=0.7
        )
        ax.axhline(0, color="black", linewidth=0.5)
        ax.set_title(f"{h} fwd\nspread={vals[0] - vals[-1]:.1f} bps")
        ax.set_xlabel("signal decile (0 = lowest)")
        ax.set_ylabel("mean fwd return (bps)")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig_to_base64(fig)


def sweep_heatmaps(
    sweep: pl.DataFrame,
    *,
    value: str = "avg_pnl_bps",
    title: str = "Avg trade PnL (bps, net)",
    limit: float = 5.0,
) -> str:
    """Threshold × holding heatmap of ``value`` for each regime filter (configurations without
    trades are blank cells marked "no trades")."""
    filters = sweep["vol_filter"].unique(maintain_order=True).to_list()
    holdings = sweep["holding"].unique(maintain_order=True).to_list()
    thresholds = sweep["threshold"].unique(maintain_order=True).to_list()
    if not filters:
        return _empty(title)
    fig, axes = plt.subplots(1, len(filters), figsize=(6 * len(filters), 4.6), squeeze=False)
    fig.suptitle(title, fontsize=13, fontweight="bold")
    im = None
    for ax, vf in zip(axes[0], filters, strict=True):
        grid = np.full((len(thresholds), len(holdings)), np.nan)
        for row in sweep.filter(pl.col("vol_filter") == vf).iter_rows(named=True):
            # A configuration without trades has no PnL: a blank cell, not a break-even "+0.0".
            if row.get("n_trades", 1) == 0:
                continue
            grid[thresholds.index(row["threshold"]), holdings.index(row["holding"])] = row[value]
        im = ax.imshow(grid, cmap="RdYlGn", aspect="auto", vmin=-limit, vmax=limit)
        ax.set_xticks(range(len(holdings)), holdings)
        ax.set_yticks(range(len(thresholds)), [f"{t:.1f}" for t in thresholds])
        ax.set_xlabel("holding period")
        ax.set_ylabel("entry threshold (z)")
        ax.set_title(f"vol filter: {vf}")
        for i in range(grid.shape[0]):
            for j in range(grid.shape[1]):
                ax.text(
                    j,
                    i,
                    "no trades" if np.isnan(grid[i, j]) else f"{grid[i, j]:+.1f}",
                    ha="center",
                    va="center",
                    fontsize=9,
                    color="white" if abs(grid[i, j]) > 0.6 * limit else "black",
                )
    if im is not None:
        fig.colorbar(im, ax=axes[0, -1], label=value)
    return fig_to_base64(fig)


def equity_curves(trades: pl.DataFrame, title: str = "Equity curve") -> str:
    """Cumulative PnL (bps) net of fees and gross, against exit time."""
    if trades.is_empty():
        return _empty(title)
    fig, ax = plt.subplots(figsize=(12, 4))
    x = _dates(trades["exit_ts"])
    ax.plot(x, trades["net_bps"].cum_sum().to_numpy(), color=BLUE, lw=1.5, label="net of fees")
    ax.plot(x, trades["gross_bps"].cum_sum().to_numpy(), color="gray", lw=1, alpha=0.6, label="gross")
    ax.axhline(0, color="red", ls="--", alpha=0.3)
    ax.set_title(f"{title} ({trades.height} trades)")
    ax.set_ylabel("cumulative PnL (bps)")
    ax.legend()
    ax.grid(alpha=0.3)
    return fig_to_base64(fig)


def pnl_histograms(trades: pl.DataFrame, title: str = "Trade PnL") -> str:
    """Net PnL per trade: overall (with the mean) and split by direction."""
    if trades.is_empty():
        return _empty(title)
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4))
    net = trades["net_bps"].to_numpy()
    a1.hist(net, bins=50, color=BLUE, alpha=0.7, edgecolor="white")
    a1.axvline(0, color="red", ls="--", alpha=0.5)
    a1.axvline(net.mean(), color="green", label=f"mean={net.mean():+.2f}")
    a1.set_title(f"{title} distribution")
    a1.set_xlabel("PnL per trade (bps)")
    a1.legend()
    for d, label, color in ((1, "long", GREEN), (-1, "short", RED)):
        sub = trades.filter(pl.col("direction") == d)["net_bps"].to_numpy()
        if sub.size:
            a2.hist(sub, bins=30, alpha=0.6, color=color, label=f"{label} ({sub.size})")
    a2.axvline(0, color="black", ls="--", alpha=0.3)
    a2.set_title(f"{title} by direction")
    a2.set_xlabel("PnL per trade (bps)")
    a2.legend()
    return fig_to_base64(fig)


def rolling_win_rate(trades: pl.DataFrame, window: int = 50, min_periods: int = 10) -> str:
    """Share of winning trades over the last ``window`` trades."""
    if trades.is_empty():
        return _empty("Rolling win rate")
    wins = (trades["net_bps"] > 0).cast(pl.Float64)
    wr = wins.rolling_mean(window, min_samples=min_periods).to_numpy()
    fig, ax = plt.subplots(figsize=(12, 3.5))
    ax.plot(_dates(trades["exit_ts"]), wr, color=BLUE, lw=1)
    ax.axhline(0.5, color="red", ls="--", alpha=0.5)
    ax.set_ylim(0.0, 1.0)
    ax.set_title(f"Rolling win rate ({window}-trade window)")
    ax.grid(alpha=0.3)
    return fig_to_base64(fig)


def is_oos_equity(is_trades: pl.DataFrame, oos_trades: pl.DataFrame, splits: Sequence[int] = ()) -> str:
    """In-sample and out-of-sample cumulative net PnL, with the train/test split(s) marked."""
    if is_trades.is_empty() and oos_trades.is_empty():
        return _empty("IS vs OOS equity")
    fig, ax = plt.subplots(figsize=(12, 4))
    for trades, label, color in ((is_trades, "in-sample", BLUE), (oos_trades, "out-of-sample", ORANGE)):
        if not trades.is_empty():
            ax.plot(
                _dates(trades["exit_ts"]),
                trades["net_bps"].cum_sum().to_numpy(),
                color=color,
                lw=1.5,
                label=f"{label} ({trades.height} trades)",
            )
    for s in splits:
        ax.axvline(np.datetime64(int(s), "us"), color="black", ls=":", alpha=0.5)
    ax.axhline(0, color="red", ls="--", alpha=0.3)
    ax.set_title("IS vs OOS equity (net of fees)")
    ax.set_ylabel("cumulative PnL (bps)")
    ax.legend()
    ax.grid(alpha=0.3)
    return fig_to_base64(fig)
