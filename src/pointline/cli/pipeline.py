"""`pointline validate` and `pointline run`: the pipeline's JSON requests from the shell.

Exit codes: ``validate`` 0 = valid, 2 = invalid; ``run`` 0 = accepted, 1 = rejected by a quality
gate, 2 = invalid request (or another user error such as missing data).
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.status import Status
from rich.table import Table

from pointline.cli.console import make_console
from pointline.cli.errors import err_console, user_errors
from pointline.errors import ValidationError

console = make_console(highlight=False, soft_wrap=True)

RequestArg = Annotated[Path, typer.Argument(help="Pipeline request (JSON, schema_version 2.0).")]


def register(app: typer.Typer) -> None:
    """Add ``validate`` and ``run`` to ``app``."""
    app.command("validate")(validate)
    app.command("run")(run)


def validate(request_file: RequestArg) -> None:
    """Check a request against the v2 contract: prints "valid" or every problem with its JSON path."""
    _load_valid(request_file)
    console.print("valid")


def run(
    request_file: RequestArg,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="Print the full output JSON on stdout (the summary goes to stderr)."),
    ] = False,
) -> None:
    """Validate and run a request; exit 0 on accept, 1 on reject, 2 on an invalid request."""
    request = _load_valid(request_file)
    from pointline.research.pipeline_v2.runner import run_request

    with user_errors(exit_code=2), _progress(err_console if as_json else console):
        output = run_request(request)
    # With --json, stdout holds the JSON alone (pipe it to jq); the summary goes to stderr.
    render_summary(output, err_console if as_json else console)
    if as_json:
        print(json.dumps(output, indent=2, default=str))
    accepted = isinstance(output.get("decision"), dict) and output["decision"].get("status") == "accept"
    raise typer.Exit(0 if accepted else 1)


class _LatestRecord(logging.Handler):
    """Shows each progress record of a run (a streamed run's chunks) on a status line."""

    def __init__(self, status: Status) -> None:
        super().__init__(logging.INFO)
        self.status = status

    def emit(self, record: logging.LogRecord) -> None:
        self.status.update(f"running: {_escape(record.getMessage())}")


@contextlib.contextmanager
def _progress(out: Console) -> Iterator[None]:
    """A status line while a request runs; a streamed run reports its chunks on it (on a terminal)."""
    logger = logging.getLogger("pointline.pipeline")
    with out.status("running the request") as status:
        handler, level = _LatestRecord(status), logger.level
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        try:
            yield
        finally:
            logger.removeHandler(handler)
            logger.setLevel(level)


def render_summary(output: dict[str, Any], out: Console) -> None:
    """Print a pipeline output as a short Rich summary: decision, rows, gates, artifact paths."""
    decision = output.get("decision") or {}
    status = str(decision.get("status", "unknown"))
    colour = "green" if status == "accept" else "red"
    results = output.get("results") or {}
    gates = output.get("quality_gates") or {}
    table = Table(show_header=False, title=f"request {output.get('request_id', '')}".strip())
    table.add_column("field", style="bold")
    table.add_column("value")
    table.add_row("decision", f"[{colour}]{status}[/]")
    for reason in decision.get("reasons") or []:
        table.add_row("reason", _escape(str(reason)))
    table.add_row("rows", f"{results.get('row_count', 0):,}")
    table.add_row("columns", str(len(results.get("columns") or [])))
    passed = gates.get("passed_gates") or []
    failed = gates.get("failed_gates") or []
    table.add_row("gates passed", f"[green]{_escape(', '.join(passed)) or '-'}[/]")
    table.add_row("gates failed", f"[red]{_escape(', '.join(failed))}[/]" if failed else "-")
    for path in (output.get("artifacts") or {}).get("paths") or []:
        table.add_row("artifact", _escape(str(path)))
    out.print(table)
    for notice in output.get("warnings") or []:
        out.print(f"[yellow]warning:[/] {_escape(str(notice))}")


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def _load_valid(path: Path) -> Any:
    """The request in ``path``; an invalid one prints every problem with its JSON path and exits 2."""
    from pointline.research.pipeline_v2.contract import validate_quant_research_input_v2

    request = _load(path)
    try:
        validate_quant_research_input_v2(request)
    except ValidationError as exc:
        _print_problems(exc)
        raise typer.Exit(2) from None
    return request


def _load(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        err_console.print(
            f"[bold red]error:[/] cannot read {_escape(str(path))}: {_escape(exc.strerror or str(exc))}"
        )
        raise typer.Exit(2) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        err_console.print(
            f"[bold red]error:[/] $: expected a JSON document, {_escape(str(path))} is not valid JSON "
            f"(line {exc.lineno}, column {exc.colno}: {_escape(exc.msg)})"
        )
        raise typer.Exit(2) from None


def _print_problems(exc: ValidationError) -> None:
    problems = exc.problems or [("$", str(exc))]
    noun = "problem" if len(problems) == 1 else "problems"
    console.print(f"invalid request ({len(problems)} {noun}):", markup=False)
    for path, message in problems:
        console.print(f"  {path}: {message}", markup=False)
