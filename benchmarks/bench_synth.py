"""Benchmark: synthetic market generation speed.

Prints one JSON object per line: the default configuration (3 exchanges x 2 symbols, 3 days) against
a baseline measured in the same run (the same days without writing files: simulation only), so the
ratio shows what file formatting and gzip cost. ``--quick`` uses one day.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import tempfile
import time

from pointline.synth import SynthConfig, generate_market
from pointline.synth.market import iter_venue_days


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="one day instead of three")
    args = parser.parse_args()
    config = SynthConfig(start=dt.date(2024, 1, 1), days=1 if args.quick else 3)

    t0 = time.perf_counter()
    n_trades = sum(vd.trade_ms.size for vd in iter_venue_days(config, with_books=True))
    baseline = time.perf_counter() - t0

    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        paths = generate_market(out, config)
        elapsed = time.perf_counter() - t0

    for name, value, unit in (
        ("synth_generate_default_seconds", elapsed, "s"),
        ("synth_trades_per_second", n_trades / elapsed, "trades/s"),
    ):
        base = baseline if unit == "s" else n_trades / baseline
        print(
            json.dumps(
                {
                    "name": name,
                    "value": round(value, 3),
                    "unit": unit,
                    "baseline": round(base, 3),
                    "baseline_name": "simulate_without_writing",
                    "ratio": round(value / base, 3),
                    "files": len(paths),
                    "days": config.days,
                }
            )
        )


if __name__ == "__main__":
    main()
