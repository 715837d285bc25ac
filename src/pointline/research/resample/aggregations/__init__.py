"""Built-in aggregations; importing this package registers them all.

* ``trades``: trade_vwap, ohlcv, flow_imbalance, trade_count, avg_trade_size, realized_volatility,
  bar_duration
* ``quotes``: spread_bps, mid_px, microprice
* ``books``: book_imbalance_top1/top5/top25, depth_weighted_mid
* ``notebook``: microstructure (all notebook features) and one aggregation per notebook feature
"""

from pointline.research.resample.aggregations import books, notebook, quotes, trades

__all__ = ["books", "notebook", "quotes", "trades"]
