"""Run every ``benchmarks/bench_*.py`` script and collect their JSON lines.

Each script compares against a baseline computed in the same run and prints one JSON object
per line (``name``, ``value``, ``unit``, ``baseline``, ``ratio``, ...). This runner forwards the
lines, writes them all to ``bench_results/results.jsonl`` and exits non-zero if a script fails.
Extra arguments (e.g. ``--quick``) are passed to every script.

A line may state its target as ``target_ratio`` (checked against ``ratio``) or ``target`` (checked
against ``value``), e.g. ``">= 0.5"``; the runner ends with the targets missed in this run (on
stderr, without failing: a shared machine's noise is not a regression, the lines are the record).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    out_dir = HERE.parent / "bench_results"
    out_dir.mkdir(exist_ok=True)
    results = []
    failed = []
    for script in sorted(HERE.glob("bench_*.py")):
        print(f"# {script.name}", file=sys.stderr, flush=True)
        proc = subprocess.run(
            [sys.executable, str(script), *sys.argv[1:]], capture_output=True, text=True, check=False
        )
        for line in proc.stdout.splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            record.setdefault("script", script.name)
            results.append(record)
            print(json.dumps(record), flush=True)
        if proc.returncode != 0:
            failed.append(script.name)
            print(proc.stderr[-2000:], file=sys.stderr)
    (out_dir / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in results))
    missed = [m for m in map(missed_target, results) if m]
    print(f"# targets missed: {'; '.join(missed) if missed else 'none'}", file=sys.stderr)
    if failed:
        print(f"# failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def missed_target(record: dict) -> str | None:
    """``"name: ratio 0.40, target >= 0.5"`` when the record states a target it misses, else ``None``."""
    for key, field in (("target_ratio", "ratio"), ("target", "value")):
        target, got = record.get(key), record.get(field)
        if not isinstance(target, str) or not isinstance(got, int | float):
            continue
        match = re.match(r"\s*(<=|>=)\s*([0-9.]+)", target)
        if match is None:
            continue
        bound = float(match.group(2))
        if (got > bound) if match.group(1) == "<=" else (got < bound):
            return f"{record.get('name')}: {field} {got}, target {target}"
    return None


if __name__ == "__main__":
    raise SystemExit(main())
