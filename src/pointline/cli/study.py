"""`pointline study CONFIG.(yaml|json) [--out DIR]`: run the signal-research study and write its report."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from pointline.cli.console import make_console
from pointline.cli.errors import user_errors

console = make_console()


def register(app: typer.Typer) -> None:
    """Add the ``study`` command to `app`."""

    @app.command("study")
    def study(
        config: Path = typer.Argument(..., help="Study config (.yaml, .yml or .json)."),
        out: Path | None = typer.Option(
            None, "--out", "-o", help="Output directory (default: config 'out')."
        ),
    ) -> None:
        """Run the composite-signal study: IC, deciles, regimes, sweep, walk-forward, HTML report."""
        with user_errors():
            from pointline.research.study import StudyConfig, run_study, write_study

            cfg = StudyConfig.from_file(config)
            out_dir = out or Path(cfg.out or "study-out")
            steps = 6 if not cfg.parity else 10
            with Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                TimeElapsedColumn(),
                console=console,
            ) as bar:
                task = bar.add_task("starting", total=steps + 1)

                def step(msg: str) -> None:
                    bar.update(task, description=msg, advance=1)

                result = run_study(cfg, progress=step)
                bar.update(task, description="writing report")
                report = write_study(result, out_dir)
                bar.update(task, completed=steps + 1, description="done")
            for note in result.notes:
                console.print(f"[yellow]note:[/] {escape(note)}", highlight=False)
            console.print(f"report: [bold]{report}[/]  tables: {out_dir / 'tables'}")
