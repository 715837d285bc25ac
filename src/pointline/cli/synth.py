"""`pointline synth`: write a synthetic market as Tardis.dev CSV.gz files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer
from rich.console import Console

from pointline.cli.errors import user_errors
from pointline.errors import PointlineError


def _split(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def register(app: typer.Typer) -> None:
    """Add this module's commands to `app`."""

    @app.command("synth")
    def synth(
        out: Path = typer.Option(..., "--out", help="Directory to write the CSV.gz files into."),
        start: str = typer.Option("2024-01-01", "--start", help="First UTC date (YYYY-MM-DD)."),
        days: int = typer.Option(1, "--days", help="Number of consecutive days."),
        exchanges: str = typer.Option(
            "binance-futures,bybit,okex-swap", "--exchanges", help="Comma-separated Tardis exchange ids."
        ),
        symbols: str = typer.Option("BTCUSDT,ETHUSDT", "--symbols", help="Comma-separated symbols."),
        seed: int = typer.Option(7, "--seed", help="Master seed (same seed -> identical files)."),
        trades_per_day: int = typer.Option(
            50_000, "--trades-per-day", help="Expected trades per exchange, symbol and day."
        ),
        contrarian_strength: float | None = typer.Option(
            None, "--contrarian-strength", help="Planted reversal strength (0 = off; default documented)."
        ),
        book_interval_s: float = typer.Option(
            10.0, "--book-interval-s", help="Seconds between book_snapshot_25 rows."
        ),
        data_types: str = typer.Option(
            "trades,quotes,book_snapshot_25",
            "--data-types",
            help="Comma-separated files to write (trades, quotes, book_snapshot_25).",
        ),
    ) -> None:
        """Generate a synthetic multi-exchange market (trades, quotes, 25-level books)."""
        from pointline.synth import SynthConfig, generate_market

        console = Console(stderr=True)
        with user_errors():
            try:
                start_date = dt.date.fromisoformat(start)
            except ValueError as exc:
                raise PointlineError(f"--start: expected a date YYYY-MM-DD, got {start!r}") from exc
            kwargs: dict[str, object] = {}
            if contrarian_strength is not None:
                kwargs["contrarian_strength"] = contrarian_strength
            config = SynthConfig(
                start=start_date,
                days=days,
                exchanges=_split(exchanges),
                symbols=_split(symbols),
                seed=seed,
                trades_per_day=trades_per_day,
                book_interval_s=book_interval_s,
                data_types=_split(data_types),
                **kwargs,  # type: ignore[arg-type]
            )
            with console.status(f"generating {days} day(s) into {out}"):
                paths = generate_market(out, config)
        for path in paths:
            typer.echo(str(path))
        console.print(f"wrote {len(paths)} files to {out}")
