"""Scoring: align the user to the trainer with DTW and flag form errors per body segment.

Depends on ``pose3d`` only.
"""

from scoring.features import FEATURE_NAMES, compute_features, retarget
from scoring.population import PopulationModel
from scoring.reference import Reference
from scoring.report import ErrorEvent, SessionReport
from scoring.session import STRICTNESS, score_session

__all__ = [
    "FEATURE_NAMES",
    "STRICTNESS",
    "ErrorEvent",
    "PopulationModel",
    "Reference",
    "SessionReport",
    "compute_features",
    "retarget",
    "score_session",
]
