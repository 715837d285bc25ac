"""Content hashes: of a request (canonical JSON) and of a result frame (row hashes).

Frame hashes use Polars' seeded row hashing, so they are stable for one Polars version; they are
meant to compare runs of the same installation (reproducibility gate, lineage), not archives.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import polars as pl

_SEED = 0x5EED


def request_hash(request: dict[str, Any]) -> str:
    """sha256 of the request as canonical JSON (sorted keys, no whitespace)."""
    text = json.dumps(request, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def frame_hash(df: pl.DataFrame) -> str:
    """sha256 over the schema and the seeded row hashes of ``df`` in its row order."""
    digest = hashlib.sha256()
    digest.update(repr([(name, str(dtype)) for name, dtype in df.schema.items()]).encode())
    if df.height:
        digest.update(df.hash_rows(seed=_SEED).to_numpy().tobytes())
    return digest.hexdigest()


def differing_columns(left: pl.DataFrame, right: pl.DataFrame) -> list[str]:
    """Columns whose values differ between two frames of the same shape (NaN equals NaN, null equals null)."""
    if left.columns != right.columns:
        return sorted(set(left.columns) ^ set(right.columns))
    if left.height != right.height:
        return ["<row count>"]
    out = []
    for name in left.columns:
        a, b = left.get_column(name), right.get_column(name)
        if frame_hash(a.to_frame()) != frame_hash(b.to_frame()):
            out.append(name)
    return out
