"""What an ingest did: one :class:`FileResult` per file, an :class:`IngestReport` over them."""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.console import Console
from rich.table import Table


@dataclass(frozen=True)
class FileResult:
    """Outcome of one file.

    ``status`` is ``ingested``, ``quarantined`` (landed, some rows quarantined),
    ``skipped-duplicate`` (content already in the lake) or ``failed`` (nothing of it landed; see
    ``reason``). ``delta_version`` is the event table's version after the data commit.
    """

    path: str
    status: str
    file_id: int | None = None
    format: str | None = None
    table: str | None = None
    rows_read: int = 0
    rows_written: int = 0
    rows_quarantined: int = 0
    reason: str | None = None
    delta_version: int | None = None
    sha256: str | None = None


@dataclass
class IngestReport:
    """All files of one :func:`pointline.ingest.ingest` call, in the order they were processed."""

    files: list[FileResult] = field(default_factory=list)

    def count(self, status: str) -> int:
        """Number of files with ``status``."""
        return sum(1 for f in self.files if f.status == status)

    @property
    def rows_written(self) -> int:
        """Rows that landed in event tables."""
        return sum(f.rows_written for f in self.files)

    @property
    def rows_quarantined(self) -> int:
        """Rows sent to ``_quarantine``."""
        return sum(f.rows_quarantined for f in self.files)

    @property
    def failed(self) -> list[FileResult]:
        """Files that could not be ingested."""
        return [f for f in self.files if f.status == "failed"]

    @property
    def ok(self) -> bool:
        """True when no file failed."""
        return not self.failed

    def summary(self) -> dict[str, int]:
        """Counts by outcome and row totals."""
        return {
            "files": len(self.files),
            "ingested": self.count("ingested"),
            "quarantined": self.count("quarantined"),
            "skipped": self.count("skipped-duplicate"),
            "failed": self.count("failed"),
            "rows_written": self.rows_written,
            "rows_quarantined": self.rows_quarantined,
        }

    def print_summary(self, console: Console | None = None) -> None:
        """Print a per-file table and the totals (Rich).

        Example
        -------
        >>> ingest(["data/"]).print_summary()  # doctest: +SKIP
        """
        console = console or Console()
        table = Table(title="ingest")
        for column in ("file", "status", "table", "rows written", "rows quarantined", "reason"):
            table.add_column(column, overflow="fold")
        colours = {"ingested": "green", "quarantined": "yellow", "skipped-duplicate": "dim", "failed": "red"}
        for f in self.files:
            colour = colours.get(f.status, "white")
            table.add_row(
                f.path.rsplit("/", 1)[-1],
                f"[{colour}]{f.status}[/]",
                f.table or "-",
                f"{f.rows_written:,}",
                f"{f.rows_quarantined:,}",
                f.reason or "",
            )
        console.print(table)
        s = self.summary()
        console.print(
            f"files: {s['ingested']} ingested, {s['quarantined']} quarantined, {s['skipped']} skipped, "
            f"{s['failed']} failed; rows: {s['rows_written']:,} written, {s['rows_quarantined']:,} quarantined"
        )
