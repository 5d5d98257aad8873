"""Scoring: align the user to the trainer with DTW and flag form errors per body segment.

Depends on ``pose3d`` only.
"""

from scoring.features import FEATURE_NAMES, compute_features, retarget
from scoring.observed import Landmarks, ObservedSession, PoseSource
from scoring.population import PopulationModel
from scoring.reference import Reference
from scoring.report import ErrorEvent, Note, SessionReport
from scoring.session import STRICTNESS, score_session

__all__ = [
    "FEATURE_NAMES",
    "STRICTNESS",
    "ErrorEvent",
    "Landmarks",
    "Note",
    "ObservedSession",
    "PopulationModel",
    "PoseSource",
    "Reference",
    "SessionReport",
    "compute_features",
    "retarget",
    "score_session",
]
