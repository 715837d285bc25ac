"""Ad-hoc SQL over the lake with DuckDB (the optional ``sql`` extra: ``pip install 'pointline[sql]'``).

:func:`connect` opens an in-memory DuckDB database holding one view per lake table, read through
delta-rs at the table's latest version (or the version asked for, e.g. the one a pipeline's lineage
records). Views:

- ``trades``, ``quotes``, ``book_snapshot_25``: the stored columns (fixed-point ``*_int`` values);
- ``trades_decoded``, ``quotes_decoded``, ``book_snapshot_25_decoded``: the same plus the Float64
  columns ``query.trades(..., decoded=True)`` adds (``px``, ``qty``, ``bid_px`` …, book lists), each
  row decoded with its own instrument's exponents: the very doubles the Python readers give;
- ``dim_symbol``, ``_ingest_manifest``, ``_quarantine``.

A table the lake does not hold yet has no view. Only the files of the version read are scanned
(:func:`pointline.lake.storage.arrow_dataset`), and DuckDB pushes column choices and filters down to
them: a filter on ``exchange`` and ``date`` (the partition columns) reads only those partitions.

SQL rows come in no particular order: add ``ORDER BY ts_local_us, file_id, file_line_number`` for the
lake's total order. The views see the tables as they were when the connection was opened.

Example
-------
>>> from pointline.research import sql
>>> sql.sql(
...     "SELECT exchange, date, count(*) AS trades, sum(qty) AS volume "
...     "FROM trades_decoded WHERE symbol = 'BTCUSDT' GROUP BY ALL ORDER BY ALL"
... )  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import polars as pl

from pointline.config import get_lake
from pointline.errors import PointlineError
from pointline.lake import dim_symbol, manifest, quarantine, storage
from pointline.lake.schema import EVENT_TABLES, decoded_name

if TYPE_CHECKING:
    import duckdb

LakeArg = storage.LakeArg

#: Every table of the lake a connection can show.
TABLES: tuple[str, ...] = (*EVENT_TABLES, dim_symbol.TABLE, manifest.TABLE, quarantine.TABLE)
#: Suffix of the decoded view of an event table.
DECODED_SUFFIX = "_decoded"
#: ``10^e`` as exact doubles (``1e5`` is parsed exactly; a computed power need not be).
_POW10 = "[" + ", ".join(f"1e{e}" for e in range(19)) + "]"


def connect(lake: LakeArg = None, *, versions: Mapping[str, int] | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with a view per lake table (see the module docstring).

    Parameters
    ----------
    lake
        Lake root (default: :func:`pointline.get_lake`).
    versions
        Delta version to read per table name (e.g. ``{"trades": 12}``), default the latest.
        A decoded view follows its table's version; the exponents come from the latest ``dim_symbol``
        (they never change for a ``symbol_id``).

    Raises
    ------
    PointlineError
        DuckDB is not installed, the lake does not exist, a version names an unknown table or a
        version the table does not have.
    """
    duckdb = _duckdb()
    root = get_lake(lake)
    if "://" not in root and not Path(root).is_dir():
        raise PointlineError(f"no lake at {root} (ingest data first, or pass the lake's path)")
    versions = dict(versions or {})
    unknown = sorted(set(versions) - set(TABLES))
    if unknown:
        raise PointlineError(f"versions: unknown table(s) {unknown}; the lake's tables are {list(TABLES)}")
    datasets = {}
    for table in TABLES:
        try:
            dataset = storage.arrow_dataset(table, root, version=versions.get(table))
        except ValueError as exc:
            raise PointlineError(f"versions: {exc}") from None
        if dataset is None and table in versions:
            raise PointlineError(f"versions: the lake has no table {table!r} yet")
        if dataset is not None:
            datasets[table] = dataset
    con = duckdb.connect()
    for table, dataset in datasets.items():
        con.register(table, dataset)
    if dim_symbol.TABLE in datasets:
        for table in EVENT_TABLES:
            if table in datasets:
                con.execute(_decoded_view(table))
    return con


def sql(query: str, *, lake: LakeArg = None, versions: Mapping[str, int] | None = None) -> pl.DataFrame:
    """Run one SQL ``query`` over the lake's views (see :func:`connect`); the result as a Polars frame.

    A mistake in the query (a syntax error, an unknown view or column) raises
    :class:`~pointline.errors.PointlineError` with DuckDB's message and the views there are.

    Example
    -------
    >>> sql("SELECT count(*) AS n FROM trades WHERE exchange = 'bybit'")  # doctest: +SKIP
    """
    duckdb = _duckdb()
    con = connect(lake, versions=versions)
    try:
        relation = con.sql(query)
        if relation is None:
            raise PointlineError("the SQL statement returns no rows; give a query (SELECT, WITH, SHOW …)")
        return relation.pl()
    except duckdb.Error as exc:
        # DuckDB's message, hints included ("Did you mean …"), without the query echo after a blank line.
        message = " ".join(line.strip() for line in str(exc).strip().split("\n\n")[0].splitlines())
        raise PointlineError(f"SQL: {message} (views: {', '.join(views(con)) or 'none'})") from None
    finally:
        con.close()


def views(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The views (and tables) a connection holds, sorted."""
    return sorted(name for (name,) in con.execute("SHOW TABLES").fetchall())


def _decoded_view(table: str) -> str:
    """``CREATE VIEW <table>_decoded``: the table's rows, each with its Float64 decoded columns."""
    spec = EVENT_TABLES[table]
    columns = []
    for column, exp in [(c, "price_exp") for c in spec.price_columns] + [
        (c, "qty_exp") for c in spec.qty_columns
    ]:
        scale = f"{_POW10}[d.{exp} + 1]"
        if isinstance(spec.schema[column], pl.List):
            value = f"[CAST(x AS DOUBLE) / {scale} FOR x IN e.{column}]"
        else:
            value = f"CAST(e.{column} AS DOUBLE) / {scale}"
        columns.append(f"{value} AS {decoded_name(column)}")
    return (
        f"CREATE VIEW {table}{DECODED_SUFFIX} AS SELECT e.*, {', '.join(columns)} FROM {table} AS e "
        f"LEFT JOIN (SELECT symbol_id, price_exp, qty_exp FROM {dim_symbol.TABLE} WHERE is_current) AS d "
        "ON e.symbol_id = d.symbol_id"
    )


def _duckdb() -> ModuleType:
    """The ``duckdb`` module, imported on first use (an optional dependency)."""
    try:
        import duckdb
    except ImportError:
        raise PointlineError(
            "SQL over the lake needs DuckDB: pip install 'pointline[sql]' (or duckdb)"
        ) from None
    return duckdb
