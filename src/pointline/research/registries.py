"""The extension points users register into, as one value that travels to worker processes.

Aggregations, per-event features, spines, gates, metrics and derived features are registered in
module-level tables of the interpreter that registers them. A worker process (of the ``local``
executor, or a Ray task) starts from the built-ins only; :func:`snapshot` captures every table, and
:func:`restore` installs a snapshot in the worker before it runs, so a user's own operators, defined
in a notebook or a script, work there as they do locally.

Example
-------
>>> restore(snapshot())  # a no-op in the process that took it
"""

from __future__ import annotations

from typing import Any

from pointline.research.features import derived
from pointline.research.pipeline_v2 import gates, metrics
from pointline.research.resample import per_event, registry
from pointline.research.spines import registry as spines

#: ``(module, attribute)`` of every registration table.
_TABLES = (
    (registry, "_REGISTRY"),
    (per_event, "_PER_EVENT"),
    (spines, "_BUILDERS"),
    (gates, "_GATES"),
    (metrics, "_METRICS"),
    (derived, "_DERIVED"),
)


def snapshot() -> dict[str, dict[str, Any]]:
    """A copy of every registration table, keyed by ``module.attribute``."""
    return {f"{module.__name__}.{name}": dict(getattr(module, name)) for module, name in _TABLES}


def restore(tables: dict[str, dict[str, Any]]) -> None:
    """Install the entries of a :func:`snapshot` (entries already present are replaced by the
    snapshot's, so the worker sees exactly what the caller registered)."""
    for module, name in _TABLES:
        getattr(module, name).update(tables.get(f"{module.__name__}.{name}", {}))
