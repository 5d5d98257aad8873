"""The session report as typed schemas: what ``scoring.report.SessionReport.to_dict``
writes, declared so that generated clients (Dart, Python) get classes, not maps.

The same models describe the report of ``GET /v1/sessions/{id}`` and the live socket's
``summary`` and ``rep`` messages (:mod:`coach_api.live_messages`). Error and note kinds
are strings, not enums: new checks add kinds, and an app built today must still read
tomorrow's reports (it shows the ``cue`` or ``message`` text it is given).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Strictness = Literal["beginner", "intermediate", "expert"]
# Body segments the coach judges; ``timing`` is the beat of a routine to music, ``body``
# the whole person (notes on the keypoints themselves: repaired swaps, another person).
Segment = Literal[
    "spine", "hips", "left_leg", "right_leg", "left_arm", "right_arm", "timing", "body"
]
RepVerdict = Literal["on pace", "rushing", "dragging"]


class ErrorEventOut(BaseModel):
    """A form error on the user's timeline: what, where on the body, when, how bad."""

    kind: str = Field(description="error kind, e.g. knees_caving_in, rounded_back, off_beat")
    segment: Segment
    start_s: float = Field(description="seconds from the session's first frame")
    end_s: float
    severity: float = Field(ge=0, le=1, description="0 barely, 1 as bad as the scale goes")
    confidence: float = Field(ge=0, le=1, description="how well the camera showed it")
    cue: str = Field(description="what to tell the user, one sentence")
    detail: str = ""


class NoteOut(BaseModel):
    """Something the coach could not judge, or not surely enough for a cue, and why."""

    segment: Segment
    kind: str
    start_s: float
    end_s: float
    message: str


class RepTimingOut(BaseModel):
    """One repetition: when, and how fast relative to the trainer (1 = same pace)."""

    rep: int = Field(ge=1)
    start_s: float
    end_s: float
    tempo: float
    verdict: RepVerdict


class TempoOut(BaseModel):
    """The user's pace: the median over the session, and per repetition."""

    mean: float = Field(description="median speed relative to the trainer (2 = twice as fast)")
    per_rep: list[RepTimingOut]


class SessionReportOut(BaseModel):
    """Everything the coach says about one session (DESIGN.md "Session report JSON")."""

    score: float = Field(ge=0, le=100)
    segments: dict[str, float] = Field(description="score 0-100 per judged body segment")
    reps: int = Field(ge=0)
    tempo: TempoOut
    errors: list[ErrorEventOut]
    notes: list[NoteOut]
    model_version: str
    strictness: Strictness
    duration_s: float = Field(ge=0)
    models: dict[str, str] = Field(
        default_factory=dict,
        description="the models that scored it: kind (lifter-recordings, detector, knee-net; "
        "live sessions also lifter-causal) -> registered version, or the bundled model's "
        "label; empty for reports stored before models were named",
    )
