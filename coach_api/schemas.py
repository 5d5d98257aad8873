"""Request and response models (``XCreate`` in, ``XPublic`` out)."""

from __future__ import annotations

import itertools
import json
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from coach_api.errors import ApiError

MAX_BEATS = 20_000  # beats of a 2-hour session at 166 bpm


def _increasing(times: list[float]) -> list[float]:
    if any(later <= earlier for earlier, later in itertools.pairwise(times)):
        raise ValueError("beat times must be strictly increasing")
    return times


# When the music's beats play, in seconds from the recording's first frame.
BeatTimes = Annotated[
    list[Annotated[float, Field(ge=0, le=86_400, allow_inf_nan=False)]],
    Field(min_length=2, max_length=MAX_BEATS),
    AfterValidator(_increasing),
]
_BEAT_TIMES = TypeAdapter(BeatTimes | None)


def check_beat_times(value: object) -> list[float] | None:
    """``value`` (a list, or JSON text of one, as a form field sends it) as beat times, or
    ``None``; a 422 naming what is wrong otherwise."""
    try:
        if isinstance(value, str):
            value = json.loads(value)
        return _BEAT_TIMES.validate_python(value)
    except json.JSONDecodeError:
        message = "beat_times must be a JSON list of seconds"
    except ValidationError as exc:
        error = exc.errors()[0]
        message = f"beat_times{''.join(f'[{p}]' for p in error['loc'])}: {error['msg']}"
    raise ApiError(422, "invalid_input", message, "beat_times")


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=320)
    password: str = Field(min_length=8, max_length=200)
    role: Literal["user", "trainer"] = "user"


class UserPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)  # built from the database row

    id: int
    email: str
    role: str


class Token(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"


class KeypointSequenceIn(BaseModel):
    """The phone's keypoint sequence (see DESIGN.md); validated in depth by the service."""

    model_config = ConfigDict(extra="forbid")
    layout: str
    fps: float
    image_width: int
    image_height: int
    frames: list[list[list[Any]]]


class RoutineCreate(BaseModel):
    """A trainer's routine; for one done to music, the beats on the trainer's recording
    and how many beats one repetition of the routine lasts (4-beat moves)."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=120)
    movement: str = Field(min_length=1, max_length=40)
    keypoints: KeypointSequenceIn
    beat_times: BeatTimes | None = None
    beats_per_rep: int | None = Field(default=None, ge=4, le=256, multiple_of=4)


class RoutinePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)  # built from the database row

    id: int
    name: str
    movement: str
    fps: float
    frames: int
    reps: int
    created_at: datetime


class SessionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    routine_id: int = Field(ge=1, le=2**62)
    keypoints: KeypointSequenceIn
    strictness: Literal["beginner", "intermediate", "expert"] | None = None
    beat_times: BeatTimes | None = None  # for routines to music: off-beat and move checks


class SessionPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)  # built from the database row

    id: int
    routine_id: int
    score: float
    created_at: datetime
    report: dict


class SessionPage(BaseModel):
    items: list[SessionPublic]
    total: int
    offset: int
    limit: int


class ModelInfo(BaseModel):
    version: str
    receptive_field: int
    causal: bool
    fps: float
    metrics: dict[str, float]


class FeedbackCreate(BaseModel):
    """The user's verdict on one cue (``error_index`` into the session's ``errors``)."""

    model_config = ConfigDict(extra="forbid")
    error_index: int = Field(ge=0, le=10_000)
    verdict: Literal["right", "wrong"]
    comment: str = Field(default="", max_length=500)


class FeedbackPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)  # built from the database row

    id: int
    session_id: int
    error_index: int
    kind: str
    verdict: str
    comment: str
    created_at: datetime


class JobPublic(BaseModel):
    """A background job; when ``status`` is ``done``, ``session_id`` (a scored session) or
    ``routine_id`` (a routine made from a trainer's video) names what it made."""

    model_config = ConfigDict(from_attributes=True)  # built from the database row

    id: int
    status: Literal["queued", "running", "done", "failed"]
    session_id: int | None
    routine_id: int | None = None
    error: str
    created_at: datetime


class ProgressPoint(BaseModel):
    """One session of a routine: when, and how it went."""

    session_id: int
    created_at: datetime
    score: float
    reps: int
    errors: int
