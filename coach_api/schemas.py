"""Request and response models (``XCreate`` in, ``XPublic`` out)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


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
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=120)
    movement: str = Field(min_length=1, max_length=40)
    keypoints: KeypointSequenceIn


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
