"""The guide's ``quick_backtest``: rank IC and mean forward return per signal quintile.

Unlike the guide's snippet, which drops nulls from the signal and the label separately (and so
pairs values from different bars), only rows where both are present are used.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from pointline.errors import PointlineError
from pointline.research.evaluate.columns import require_bins, require_columns
from pointline.research.evaluate.deciles import quantile_bins


@dataclass(frozen=True)
class QuintileResult:
    """Rank IC, its p-value and the per-quintile table (``quintile`` Q1..Q5, ``mean_return``,
    ``std_return``, ``count``)."""

    ic: float
    p_value: float
    table: pl.DataFrame


def quick_backtest(df: pl.DataFrame, signal_col: str, label_col: str, *, q: int = 5) -> QuintileResult:
    """Rank IC and quintile analysis of one signal against one label.

    Parameters
    ----------
    df
        Bars.
    signal_col, label_col
        Signal and forward-return columns.
    q
        Number of quantile bins (5: quintiles; ``pd.qcut`` edges).

    Returns
    -------
    QuintileResult

    Example
    -------
    >>> bars = pl.DataFrame({"s": [float(i) for i in range(50)], "y": [float(i) for i in range(50)]})
    >>> quick_backtest(bars, "s", "y").table["quintile"].to_list()
    ['Q1', 'Q2', 'Q3', 'Q4', 'Q5']
    """
    from scipy import stats  # imported here: scipy.stats costs ~1 s to import

    require_bins(q, "quick_backtest")
    require_columns(df, [signal_col, label_col], "quick_backtest")
    pair = df.select(
        pl.col(signal_col).cast(pl.Float64).fill_nan(None).alias("s"),
        pl.col(label_col).cast(pl.Float64).fill_nan(None).alias("y"),
    ).drop_nulls()
    if pair.height < 3:
        raise PointlineError(
            f"quick_backtest: only {pair.height} rows have both {signal_col} and {label_col}"
        )
    ic, p = stats.spearmanr(pair["s"].to_numpy(), pair["y"].to_numpy())
    bins = quantile_bins(pair["s"].to_numpy(), q)
    table = (
        pair.with_columns(pl.Series("bin", bins))
        .group_by("bin")
        .agg(
            pl.col("y").mean().alias("mean_return"),
            pl.col("y").std().alias("std_return"),
            pl.len().alias("count"),
        )
        .sort("bin")
        .with_columns(pl.format("Q{}", pl.col("bin") + 1).alias("quintile"))
        .select("quintile", "mean_return", "std_return", "count")
    )
    return QuintileResult(ic=float(ic), p_value=float(p), table=table)
