"""The live socket's messages (``/v1/live``) as typed models, and their JSON schema.

The client's messages are :class:`LiveStart` (or :class:`LiveResume`), :class:`Frames`
and :class:`Stop`; the server's :class:`Ready`, :class:`Progress`, :class:`Checkpoint`,
:class:`Rep`, :class:`Summary` and :class:`LiveError`. The server builds every message it
sends from these models, and ``docs/live-messages.schema.json`` is generated from them
(:func:`live_messages_schema`, ``coach-api live-schema``), so the published schema is
what the server sends.

The start message is validated with its model (:class:`LiveStart`). Frame batches are
not: the server reads them straight into numpy (:func:`pose3d.sequence_json.parse_sequence`,
the same checks as any keypoint sequence), and :class:`Frames` states those checks for
the schema's readers. Every message names its ``type``, the server's too (built with
it: a default would make it optional in the schema).
"""

from __future__ import annotations

import json
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SkipValidation,
    TypeAdapter,
    WithJsonSchema,
    model_validator,
)

from coach_api.deps import MAX_ID
from coach_api.errors import ApiError
from coach_api.openapi_errors import ErrorDetail
from coach_api.report_models import ErrorEventOut, SessionReportOut, Strictness
from coach_api.schemas import BeatTimes, Layout, check_beat_times
from pose3d.sequence_json import (
    MAX_FPS,
    MAX_IMAGE_SIDE,
    MAX_OUTSIDE,
    MIN_FPS,
    SequenceFormatError,
    check_header,
)
from pose3d.skeleton import get_layout
from scoring.live import MAX_BATCH

SCHEMA_ID = "https://coach.example/v1/live-messages.schema.json"
HEADER_KEYS = ("layout", "fps", "image_width", "image_height")


def _header_required(schema: dict) -> None:
    """The stream header is required: its fields default to ``None`` in the model only so
    that :func:`check_header` words a missing one as it does for keypoint sequences."""
    for key in HEADER_KEYS:
        schema["properties"][key].pop("default", None)
    schema["required"] = [*schema["required"], *HEADER_KEYS]


# Beat times as sent: pydantic checks a list, its values are checked after the header
# (check_beat_times); the schema shows every check.
SentBeatTimes = Annotated[list | None, WithJsonSchema(TypeAdapter(BeatTimes).json_schema())]


class LiveStart(BaseModel):
    """client -> server, first: who streams, against which routine, and the stream
    header. Due within ``COACH_LIVE_AUTH_TIMEOUT_S`` of connecting; unknown keys are
    refused (``invalid_input`` naming the key)."""

    # Strict: JSON's own types (``true`` is no id, ``"5"`` no number, ``3.0`` no id).
    # Pydantic checks the type, unknown keys, the token, the routine id, the strictness
    # and that beat_times is a list; only then are the header (as a keypoint sequence's)
    # and the beats' values checked, raising the ApiError the socket sends (pydantic lets
    # an exception that is no ValueError through unchanged). The socket words pydantic's
    # own refusals (coach_api.routes.live._start_error).
    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra=_header_required)

    type: Literal["start"]
    token: str = Field(
        min_length=1,
        description="the bearer token; only here: a token query parameter in the URL is "
        "refused (token_in_url), URLs are logged",
    )
    routine_id: int = Field(
        ge=1, le=MAX_ID, description="the user's own routine or a published one (else not_found)"
    )
    strictness: Strictness | None = Field(
        default=None, description="how strictly form is judged; default: the server's setting"
    )
    # As sent until _checked_header replaces them with their checked values.
    layout: SkipValidation[Layout] = None
    fps: SkipValidation[
        Annotated[
            float,
            Field(
                ge=MIN_FPS,
                le=MAX_FPS,
                description="the camera's frame rate; a live stream's at most the server's "
                "COACH_LIVE_MAX_FPS (60 by default; invalid_input naming fps)",
            ),
        ]
    ] = None
    image_width: SkipValidation[Annotated[int, Field(ge=1, le=MAX_IMAGE_SIDE)]] = None
    image_height: SkipValidation[Annotated[int, Field(ge=1, le=MAX_IMAGE_SIDE)]] = None
    beat_times: SentBeatTimes = Field(
        default=None,
        description="routines to music: when the music's beats play, in seconds from the "
        "first frame, strictly increasing",
    )

    @model_validator(mode="after")
    def _checked_header(self) -> LiveStart:
        try:
            values = check_header(*(getattr(self, key) for key in HEADER_KEYS))
        except SequenceFormatError as exc:
            raise ApiError(422, "invalid_input", exc.message, exc.field) from None
        for key, value in zip(HEADER_KEYS, values, strict=True):
            setattr(self, key, value)
        self.beat_times = check_beat_times(self.beat_times)
        return self

    def stream_header(self) -> dict:
        """What a :class:`~scoring.live.LiveSession` streams by: header and beat times."""
        return {key: getattr(self, key) for key in (*HEADER_KEYS, "beat_times")}


class LiveResume(BaseModel):
    """client -> server, first, instead of ``start``: go on with a stream that was cut
    (on any replica), named by the ``stream_id`` its ``ready`` gave. Answered by
    ``ready`` with ``frames``: the frames the server holds (up to the stream's last
    ``checkpoint``); the client sends the frames after those again, then goes on. A
    stream that already ended is answered by its ``summary`` again. ``not_found``
    (field ``stream_id``) if there is no such stream of this account to resume: it was
    never started, it expired ``COACH_LIVE_RESUME_TTL_S`` after its last checkpoint, or
    it is another account's."""

    model_config = ConfigDict(extra="forbid", strict=True)

    type: Literal["resume"]
    token: str = Field(min_length=1, description="the bearer token, as in start")
    stream_id: str = Field(
        pattern=r"^[A-Za-z0-9_-]{1,32}$", description="the stream_id of the stream's ready"
    )


# [x, y, score]: pixels, pixels, [0, 1]; x and y null for a joint the phone did not see.
Joint = tuple[float | None, float | None, Annotated[float, Field(ge=0, le=1)]]


def _batch_of(layout: str) -> object:
    """A batch of frames of ``layout``: each lists exactly that layout's joints."""
    joints = get_layout(layout).num_joints
    frame = Annotated[list[Joint], Field(min_length=joints, max_length=joints)]
    return Annotated[list[frame], Field(min_length=1, max_length=MAX_BATCH)]


def _one_of(schema: dict) -> None:
    """The two batch shapes cannot both match (a batch is never empty): ``oneOf`` says so
    to code generators, where pydantic writes ``anyOf``."""
    schema["oneOf"] = schema.pop("anyOf")


# The batch shapes the server takes, one per input layout.
Coco17Batch = _batch_of("coco17")
Mediapipe33Batch = _batch_of("mediapipe33")


class Frames(BaseModel):
    """client -> server, after ``ready``: the next frames, oldest first; answered by a
    ``progress`` message. Every frame of a batch lists the start message's layout's
    joints: 17 for coco17, 33 for mediapipe33 (this schema takes a batch of either; the
    server refuses the other layout's). Frames may come at most ``COACH_LIVE_MAX_SPEED``
    x fps, after ``COACH_LIVE_BURST_S`` seconds of catch-up (else ``too_fast``): live
    streams are real time. A batch may instead come as a binary WebSocket message (no
    JSON, no type): little-endian float32, frame by frame, joint by joint, x, y, score
    (NaN x and y for an unseen joint); the same checks apply, and a size that is not
    whole frames is refused (``invalid_input``, field ``frames``)."""

    type: Literal["frames"]
    frames: Coco17Batch | Mediapipe33Batch = Field(
        description=f"1 to {MAX_BATCH} frames, each with one [x, y, score] per joint "
        "(pixels, pixels, [0, 1]; [null, null, score] for an unseen joint). The server "
        "also refuses an x or y null without the other, coordinates more than "
        f"{MAX_OUTSIDE:g} image sizes from the image's centre, and a batch in which no "
        "joint is seen",
        json_schema_extra=_one_of,
    )


class Stop(BaseModel):
    """client -> server: the workout is over. The server finishes the repetition check
    in flight (its ``rep`` messages come first), stores the session and answers
    ``summary``."""

    type: Literal["stop"]


class Ready(BaseModel):
    """server -> client, after the start (or resume): the stream may begin (go on)."""

    type: Literal["ready"]
    receptive_field: int = Field(ge=1, description="frames the causal lifter looks back on")
    model_version: str
    stream_id: str = Field(
        description="the stream's handle: a resume message with it goes on with the "
        "stream after a cut connection, on any server"
    )
    frames: int = Field(
        ge=0,
        description="frames of this stream the server holds: 0 after a start; after a "
        "resume, send the frames from this index on (the first frame is 0)",
    )


class Checkpoint(BaseModel):
    """server -> client, every ``COACH_LIVE_CHECKPOINT_S`` seconds of frames: the server
    saved the stream's first ``frames`` frames. A client keeps the frames after the
    last checkpoint, to send them again if it has to resume."""

    type: Literal["checkpoint"]
    frames: int = Field(ge=1, description="frames saved, from the stream's first")


class Progress(BaseModel):
    """server -> client, per ``frames`` message: how far the lifting is."""

    type: Literal["progress"]
    frames: int = Field(ge=0, description="poses lifted so far in this session")


class Rep(BaseModel):
    """server -> client, once per finished repetition, in order (possibly a few batches
    after it ended, always before the summary): its form errors. After a resume, a
    repetition sent after the last checkpoint may come again (same ``rep`` number)."""

    type: Literal["rep"]
    rep: int = Field(ge=1, description="the repetition's number, from 1")
    start_s: float = Field(description="seconds from the session's first frame")
    end_s: float
    errors: list[ErrorEventOut]


class Summary(BaseModel):
    """server -> client, after ``stop``, or without one once the stream reaches the
    longest a session may be (``COACH_MAX_DURATION_S``; the report then has a
    ``session_limit`` note and frames past the limit were not taken): the session's
    report; the socket then closes normally (1000). The session is stored: it is in
    ``GET /v1/sessions``."""

    type: Literal["summary"]
    session_id: int = Field(ge=1, description="the stored session: GET /v1/sessions/{id}")
    report: SessionReportOut


class LiveError(BaseModel):
    """server -> client, last: what went wrong. The server closes the socket after it,
    with code 1008 (1011 for internal_error, 1013 for server_busy: try again later).
    Codes: protocol (a message out of turn, or a
    binary frame: messages are JSON text); invalid_json (not JSON, a number of over 4,300
    digits, or nested more than 6 levels); message_too_large (over
    COACH_LIVE_MAX_MESSAGE_BYTES); token_in_url (a token query parameter); auth_timeout
    (no start message within COACH_LIVE_AUTH_TIMEOUT_S); idle_timeout (no message for
    COACH_LIVE_IDLE_TIMEOUT_S after the start); unauthorized (a missing or invalid token,
    or the account was deleted during the session); invalid_input (a bad or
    unknown field, named in field); not_found (no such routine for this user);
    unavailable (the loaded lifter is not causal); too_fast (frames faster than real
    time); too_few_frames (stop before any pose); superseded (the stream was resumed on
    another connection, which now holds it); server_busy (this server holds its most
    live streams, COACH_LIVE_MAX_STREAMS: try again in a few seconds, maybe reaching
    another replica); too_many_streams (the account has COACH_LIVE_MAX_STREAMS_PER_USER
    streams open: stop or resume one); rate_limited (too many new streams or other
    expensive requests of the account in a minute); internal_error (a failure on the
    server's side)."""

    type: Literal["error"]
    error: ErrorDetail


ClientMessage = Annotated[LiveStart | LiveResume | Frames | Stop, Field(discriminator="type")]
ServerMessage = Annotated[
    Ready | Progress | Checkpoint | Rep | Summary | LiveError, Field(discriminator="type")
]


def live_messages_schema() -> dict:
    """The JSON schema (draft 2020-12) of every message of the live socket: a message is
    a ``ClientMessage`` or a ``ServerMessage``, each one of its kinds by ``type``."""
    groups, defs = {}, {}
    for name, union in (("ClientMessage", ClientMessage), ("ServerMessage", ServerMessage)):
        schema = TypeAdapter(union).json_schema(ref_template="#/$defs/{model}")
        defs.update(schema.pop("$defs"))
        groups[name] = schema
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "Coach live WebSocket messages (/v1/live)",
        "description": "Client and server messages of the live coaching socket, generated "
        "from coach_api/live_messages.py by `coach-api live-schema`; the protocol is in "
        "coach_api/routes/live.py.",
        "oneOf": [{"$ref": f"#/$defs/{name}"} for name in groups],
        "$defs": {**groups, **dict(sorted(defs.items()))},
    }


def live_messages_schema_text() -> str:
    """The schema as ``docs/live-messages.schema.json`` holds it."""
    return json.dumps(live_messages_schema(), indent=2, ensure_ascii=False) + "\n"
