"""The total order of events, ``(ts_local_us, file_id, file_line_number)``, checked in one pass.

Query results arrive in this order, so code that needs it checks first and sorts only when the
check fails; the check must cost far less than the work it guards (one Numba pass, no copies).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True, inline="always")
def descends_at(ts: np.ndarray, file_id: np.ndarray, line: np.ndarray, i: int) -> bool:
    """Whether row ``i`` comes strictly before row ``i - 1`` in the total order (branch-free)."""
    dt = ts[i] - ts[i - 1]
    df = np.int64(file_id[i]) - np.int64(file_id[i - 1])
    dl = np.int64(line[i]) - np.int64(line[i - 1])
    return (dt < 0) | ((dt == 0) & ((df < 0) | ((df == 0) & (dl < 0))))
