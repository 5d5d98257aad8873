"""The session report: what the user did, how well, and what to change.

JSON shape (DESIGN.md "Session report JSON"): ``score``, ``segments``, ``reps``,
``tempo``, ``errors`` [``kind, segment, start_s, end_s, severity, confidence, cue``],
``model_version``; plus ``notes`` (what could not be judged and why), ``strictness``,
``duration_s`` and, on request, the corrected ``ghost_poses``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np


@dataclass
class ErrorEvent:
    """A form error on the user's timeline (seconds)."""

    kind: str
    segment: str
    start_s: float
    end_s: float
    severity: float
    confidence: float
    cue: str
    detail: str = ""


@dataclass(frozen=True)
class Note:
    """Something the coach could not judge, or not surely enough for a cue, and why
    (seconds on the user's timeline)."""

    segment: str
    kind: str
    start_s: float
    end_s: float
    message: str

    @classmethod
    def over(cls, kind: str, segment: str, start_s: float, end_s: float, message: str) -> Note:
        """A note about ``kind`` on ``segment`` from ``start_s`` to ``end_s`` (rounded to
        hundredths of a second)."""
        return cls(segment, kind, round(start_s, 2), round(end_s, 2), message)


@dataclass
class RepTiming:
    """One repetition: when, how fast relative to the trainer, and the verdict."""

    rep: int
    start_s: float
    end_s: float
    tempo: float
    verdict: str  # "on pace", "rushing", "dragging"


@dataclass
class SessionReport:
    """Everything the coach says about one session.

    ``detector_probabilities`` (per error kind the learned detector judged, its ``(U,)``
    probabilities over the units it looked at) is for monitoring
    (:mod:`scoring.session_stats`), ``unit_summaries`` (what the detector saw of each unit,
    :class:`scoring.detector.UnitSummary`) for a live session to compare its next
    repetitions with: neither is part of the report's JSON.
    """

    score: float
    segments: dict[str, float]
    reps: int
    tempo: dict
    errors: list[ErrorEvent]
    notes: list[Note] = field(default_factory=list)
    model_version: str = ""
    strictness: str = "intermediate"
    duration_s: float = 0.0
    ghost_poses: np.ndarray | None = None
    detector_probabilities: dict[str, np.ndarray] = field(default_factory=dict)
    unit_summaries: list = field(default_factory=list)

    def to_dict(self, include_ghost: bool = False) -> dict:
        """JSON-ready dict (numbers rounded; ghost poses in mm-rounded metres if asked)."""
        out = {
            "score": round(float(self.score), 1),
            "segments": {k: round(float(v), 1) for k, v in self.segments.items()},
            "reps": int(self.reps),
            "tempo": self.tempo,
            "errors": [
                {k: (round(v, 3) if isinstance(v, float) else v) for k, v in asdict(e).items()}
                for e in self.errors
            ],
            "notes": [asdict(note) for note in self.notes],
            "model_version": self.model_version,
            "strictness": self.strictness,
            "duration_s": round(float(self.duration_s), 3),
        }
        if include_ghost and self.ghost_poses is not None:
            out["ghost_poses"] = np.round(self.ghost_poses, 3).tolist()
        return out

    @classmethod
    def from_dict(cls, data: dict) -> SessionReport:
        """The report back from :meth:`to_dict`'s JSON (without the ghost)."""
        return cls(
            score=data["score"],
            segments=data["segments"],
            reps=data["reps"],
            tempo=data["tempo"],
            errors=[ErrorEvent(**e) for e in data["errors"]],
            notes=[Note(**n) for n in data["notes"]],
            model_version=data["model_version"],
            strictness=data["strictness"],
            duration_s=data["duration_s"],
        )

    def summary_lines(self) -> list[str]:
        """A few lines a person reads: score, reps, then each cue once with its times."""
        lines = [f"Score {self.score:.0f}/100, {self.reps} reps, tempo {self.tempo['mean']:.2f}x"]
        by_cue: dict[str, list[ErrorEvent]] = {}
        for event in self.errors:
            by_cue.setdefault(event.cue, []).append(event)
        for cue, events in by_cue.items():
            times = ", ".join(f"{e.start_s:.1f}-{e.end_s:.1f}s" for e in events[:4])
            lines.append(f"- {cue} ({times})")
        lines += [f"- note: {note.message}" for note in self.notes]
        return lines
