"""Signal research study: the composite-signal notebook as a library call and a command.

Example
-------
>>> from pointline.research.study import run_study, synthetic_feature_frames
>>> result = run_study({"walk_forward": {"split": "2025-11-15"}},
...                    frames=synthetic_feature_frames(6000))  # doctest: +SKIP
"""

from pointline.research.study.config import StudyConfig, parse_interval
from pointline.research.study.frame import build_study_frame
from pointline.research.study.inputs import (
    DEFAULT_SUFFIXES,
    add_consensus,
    merge_exchanges,
    normalise_bars,
    suffix_for,
    to_time_grid,
)
from pointline.research.study.run import Analysis, StudyResult, load_feature_frames, run_study, write_study
from pointline.research.study.synthetic import synthetic_feature_frames

__all__ = [
    "DEFAULT_SUFFIXES",
    "Analysis",
    "StudyConfig",
    "StudyResult",
    "add_consensus",
    "build_study_frame",
    "load_feature_frames",
    "merge_exchanges",
    "normalise_bars",
    "parse_interval",
    "run_study",
    "suffix_for",
    "synthetic_feature_frames",
    "to_time_grid",
    "write_study",
]
