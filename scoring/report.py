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
    """Everything the coach says about one session."""

    score: float
    segments: dict[str, float]
    reps: int
    tempo: dict
    errors: list[ErrorEvent]
    notes: list[dict] = field(default_factory=list)
    model_version: str = ""
    strictness: str = "intermediate"
    duration_s: float = 0.0
    ghost_poses: np.ndarray | None = None

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
            "notes": self.notes,
            "model_version": self.model_version,
            "strictness": self.strictness,
            "duration_s": round(float(self.duration_s), 3),
        }
        if include_ghost and self.ghost_poses is not None:
            out["ghost_poses"] = np.round(self.ghost_poses, 3).tolist()
        return out

    def summary_lines(self) -> list[str]:
        """A few lines a person reads: score, reps, then each cue once with its times."""
        lines = [f"Score {self.score:.0f}/100, {self.reps} reps, tempo {self.tempo['mean']:.2f}x"]
        by_cue: dict[str, list[ErrorEvent]] = {}
        for event in self.errors:
            by_cue.setdefault(event.cue, []).append(event)
        for cue, events in by_cue.items():
            times = ", ".join(f"{e.start_s:.1f}-{e.end_s:.1f}s" for e in events[:4])
            lines.append(f"- {cue} ({times})")
        lines += [f"- note: {n['message']}" for n in self.notes]
        return lines
