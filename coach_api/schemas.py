"""Request and response models (``XCreate`` in, ``XPublic`` out)."""

from __future__ import annotations

import itertools
import json
import unicodedata
from datetime import UTC, datetime
from typing import Annotated, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
)

from coach_api.errors import ApiError
from coach_api.report_models import SessionReportOut, Strictness
from pose3d.sequence_json import MAX_FPS, MAX_IMAGE_SIDE, MIN_FPS

# Request bodies: unknown keys are refused (a misspelt field is an error, not ignored), and
# values are taken as the schema types them (no 0 for false, no "5" for 5).
REQUEST_CONFIG = ConfigDict(extra="forbid", strict=True)
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


def normalise_email(email: str) -> str:
    """One spelling per address: Unicode NFKC, no surrounding spaces, lower case."""
    return unicodedata.normalize("NFKC", email).strip().lower()


def _no_control_characters(text: str) -> str:
    if any(unicodedata.category(c) == "Cc" for c in text):
        raise ValueError("must not contain control characters (NUL, newlines, ...)")
    return text


# A name shown to people: printable, one line.
# The schema states the rule (no character of Unicode's Cc category); the validator checks it
# with a message people read.
DisplayText = Annotated[
    str,
    AfterValidator(_no_control_characters),
    Field(json_schema_extra={"pattern": r"^[^\x00-\x1f\x7f-\x9f]*$"}),
]
# No "@", space or control character (C0, DEL, C1) around the "@": spelt out, not "\s",
# which means other characters in JSON Schema's regex dialect than in Python's.
_EMAIL_PART = r"[^@\x00-\x20\x7f-\x9f]+"
# The address as sent is checked (what the schema says; spaces around it, as phone keyboards
# add them, are allowed), then normalised to its one spelling.
Email = Annotated[
    str,
    Field(pattern=rf"^ *{_EMAIL_PART}@{_EMAIL_PART}\.{_EMAIL_PART} *$", max_length=320),
    AfterValidator(normalise_email),
]
Role = Literal["user", "trainer", "admin"]
Layout = Literal["mediapipe33", "coco17"]
# The movements the coach has checks for; ``other`` gets the generic safety checks.
Movement = Literal["squat", "lunge", "push_up", "jumping_jack", "arm_raise", "dance", "other"]
MOVEMENTS: tuple[str, ...] = get_args(Movement)
Verdict = Literal["right", "wrong"]


def _as_utc(moment: datetime) -> datetime:
    """Stored times are UTC; a database that drops the zone (SQLite) gets it back, so
    every time is sent with its ``Z`` and no client reads it as local time."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


UtcDatetime = Annotated[datetime, AfterValidator(_as_utc)]


def _known_movement(value: object) -> object:
    """A stored movement outside :data:`MOVEMENTS` (from before the enum) reads as other."""
    return value if value in MOVEMENTS else "other"


class UserCreate(BaseModel):
    """A new account. It is a ``user``; ``trainer`` (or ``admin``) needs an ``invitation``
    code of that role from an admin."""

    model_config = REQUEST_CONFIG
    email: Email
    password: str = Field(min_length=8, max_length=200)
    role: Role = "user"
    invitation: str | None = Field(default=None, min_length=8, max_length=100)


class UserPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)  # built from the database row

    id: int
    email: str
    role: Role


class Token(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"


class KeypointSequenceIn(BaseModel):
    """The phone's keypoint sequence (see DESIGN.md): ``frames`` lists per frame one
    ``[x, y, score]`` per joint (pixels, pixels, [0, 1]; ``[null, null, 0]`` unseen)."""

    model_config = REQUEST_CONFIG
    layout: Layout
    fps: float = Field(ge=MIN_FPS, le=MAX_FPS, allow_inf_nan=False)
    image_width: int = Field(ge=1, le=MAX_IMAGE_SIDE)
    image_height: int = Field(ge=1, le=MAX_IMAGE_SIDE)
    frames: list[list[Annotated[list[float | None], Field(min_length=3, max_length=3)]]]


class RoutineCreate(BaseModel):
    """A trainer's routine; for one done to music, the beats on the trainer's recording
    and how many beats one repetition of the routine lasts (4-beat moves)."""

    model_config = REQUEST_CONFIG
    name: DisplayText = Field(min_length=1, max_length=120)
    movement: Movement
    keypoints: KeypointSequenceIn
    beat_times: BeatTimes | None = None
    beats_per_rep: int | None = Field(default=None, ge=4, le=256, multiple_of=4)
    published: bool = False  # in the users' catalogue at once (else private until PATCHed)


class RoutinePublic(BaseModel):
    """A routine; ``published`` ones are in every user's catalogue, others only its
    trainer's."""

    model_config = ConfigDict(from_attributes=True)  # built from the database row

    id: int
    name: str
    movement: Annotated[Movement, BeforeValidator(_known_movement)]
    fps: float
    frames: int
    reps: int
    published: bool
    created_at: UtcDatetime


class RoutineUpdate(BaseModel):
    """Publish a routine to the users' catalogue (or withdraw it), or rename it."""

    model_config = REQUEST_CONFIG
    published: bool | None = None
    name: DisplayText | None = Field(default=None, min_length=1, max_length=120)


class RoleUpdate(BaseModel):
    model_config = REQUEST_CONFIG
    role: Role


class InvitationCreate(BaseModel):
    """An invitation: whoever registers with its code gets ``role``."""

    model_config = REQUEST_CONFIG
    role: Literal["trainer", "admin"] = "trainer"
    valid_days: int = Field(default=7, ge=1, le=30)


class InvitationPublic(BaseModel):
    """The code is shown once, here; only its hash is stored."""

    code: str
    role: Literal["trainer", "admin"]
    expires_at: UtcDatetime


class SessionCreate(BaseModel):
    model_config = REQUEST_CONFIG
    routine_id: int = Field(ge=1, le=2**62)
    keypoints: KeypointSequenceIn
    strictness: Strictness | None = None
    beat_times: BeatTimes | None = None  # for routines to music: off-beat and move checks


class SessionPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)  # built from the database row

    id: int
    routine_id: int
    routine_name: str
    score: float
    created_at: UtcDatetime
    report: SessionReportOut
    rescored_at: UtcDatetime | None = Field(
        default=None, description="when the report was last re-scored; null: as first scored"
    )
    video_kept: bool = Field(
        default=False,
        description="the session's video was kept (keep_video): getSessionVideo streams it",
    )


MAX_RESCORE_SESSIONS = 500  # sessions one re-scoring job takes


class RescoreCreate(BaseModel):
    """Score some of the caller's sessions again with today's lifter, checks and routine
    references (as a new session would be), e.g. after the coach was updated."""

    model_config = REQUEST_CONFIG
    session_ids: list[Annotated[int, Field(ge=1, le=2**62)]] = Field(
        min_length=1,
        max_length=MAX_RESCORE_SESSIONS,
        description="the caller's sessions (a repeated id is re-scored once)",
    )
    strictness: Strictness | None = Field(
        default=None, description="for every session; null keeps each session's own"
    )


class AdminRescoreCreate(BaseModel):
    """Re-score every session (of one routine), a batch at a time: pass the answer's
    ``next_after_session_id`` as ``after_session_id`` until it is null."""

    model_config = REQUEST_CONFIG
    routine_id: int | None = Field(default=None, ge=1, le=2**62)
    after_session_id: int = Field(
        default=0, ge=0, le=2**62, description="only sessions with a larger id"
    )


SkipReason = Literal[
    "not_found", "no_keypoints", "routine_deleted", "unscorable", "rescored_meanwhile"
]


class SkippedSession(BaseModel):
    """A session a re-scoring left as it was, and why: ``not_found`` (deleted since),
    ``no_keypoints`` (stored before sessions kept their keypoints), ``routine_deleted``
    (no reference to score against), ``unscorable`` (today's checks refuse its keypoints,
    or the routine's reference: ``message`` says how), ``rescored_meanwhile`` (another
    re-scoring job got there first)."""

    session_id: int
    reason: SkipReason
    message: str


class RescoreResult(BaseModel):
    """What a finished re-scoring job did with its sessions."""

    rescored: int = Field(ge=0, description="sessions with a new report and motion")
    skipped: int = Field(ge=0, description="sessions left as they were")
    skipped_sessions: list[SkippedSession]


class ReportLinkPublic(BaseModel):
    """A link to a session's report page that needs no bearer header until it expires."""

    url: str = Field(description="the page's path on this API, e.g. /v1/shared/reports/{token}")
    expires_at: UtcDatetime


class SessionPage(BaseModel):
    items: list[SessionPublic]
    total: int
    offset: int
    limit: int


ModelKind = Literal["lifter-causal", "lifter-recordings", "detector", "knee-net"]
ModelSource = Literal["bundled", "file", "registry"]


class ModelInfo(BaseModel):
    """A served model: the lifters (live first, then recordings), the detector and the
    knee network. ``receptive_field``, ``causal`` and ``fps`` are the lifters' (null for
    the others)."""

    kind: ModelKind
    version: str = Field(description="the model's own label (a lifter: its checkpoint's)")
    source: ModelSource = Field(
        description="bundled with the service, a configured file, or the model registry"
    )
    registered_version: str | None = Field(
        default=None, description="its version in the model registry; null when not from it"
    )
    alias: str | None = Field(
        default=None, description="the registry alias it was served by, e.g. champion"
    )
    label: str
    receptive_field: int | None = None
    causal: bool | None = None
    fps: float | None = None
    metrics: dict[str, float] = Field(description="its evaluation figures")


MAX_SHADOW_SESSIONS = 2000  # latest sessions one shadow summary reads


class ShadowKindAgreement(BaseModel):
    """How the champion's and the challenger's cues of one error kind compare."""

    champion_cues: int = Field(ge=0)
    challenger_cues: int = Field(ge=0)
    disagreements: int = Field(
        ge=0, description="cues only one of them gave (same segment, overlapping in time)"
    )
    agreement: float = Field(
        ge=0, le=1, description="share of all cues that both gave: 1 - disagreements / cues"
    )


class ShadowGroup(BaseModel):
    """The sessions scored by one pair of model sets ({kind: version or label})."""

    champion: dict[str, str]
    challenger: dict[str, str]
    sessions: int = Field(ge=1)
    score_difference_mean: float = Field(description="challenger minus champion, of 100")
    score_difference_max_abs: float = Field(ge=0)
    kinds: dict[str, ShadowKindAgreement]


class ShadowSummary(BaseModel):
    """Shadow scoring over the latest ``limit`` sessions: ``scanned`` read, ``compared``
    of them shadow-scored, summed per pair of model sets."""

    limit: int
    scanned: int
    compared: int
    groups: list[ShadowGroup]


class FeedbackCreate(BaseModel):
    """The user's verdict on one cue (``error_index`` into the session's ``errors``)."""

    model_config = REQUEST_CONFIG
    error_index: int = Field(ge=0, le=10_000)
    verdict: Verdict
    comment: str = Field(default="", max_length=500, pattern=r"^[^\x00]*$")


class FeedbackPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)  # built from the database row

    id: int
    session_id: int
    error_index: int
    kind: str
    verdict: Verdict
    comment: str
    created_at: UtcDatetime


class JobPublic(BaseModel):
    """A background job; when ``status`` is ``done``, ``session_id`` (a scored session) or
    ``routine_id`` (a routine made from a trainer's video) names what it made, or
    ``rescore`` says what a re-scoring did.

    queued -> running -> done | failed | cancelled; a running job whose attempt failed
    for a transient reason (or whose worker stopped) is queued again (``attempts`` counts
    the runs started; ``error`` says what went wrong last)."""

    model_config = ConfigDict(from_attributes=True)  # built from the database row

    id: int
    status: Literal["queued", "running", "done", "failed", "cancelled"]
    stage: str = Field(description="what the job is doing, e.g. scoring")
    progress: float = Field(ge=0, le=1, description="the fraction done, by steps")
    attempts: int = Field(ge=0, description="runs started (more than 1 after a retry)")
    session_id: int | None
    routine_id: int | None = None
    rescore: RescoreResult | None = None
    error: str
    created_at: UtcDatetime


class RescoreBatchPublic(BaseModel):
    """The re-scoring jobs one admin request queued: one per owner and up to
    ``MAX_RESCORE_SESSIONS`` of their sessions, each the owner's job (in their
    ``getJob``)."""

    jobs: list[JobPublic]
    sessions: int = Field(ge=0, description="sessions the jobs re-score")
    next_after_session_id: int | None = Field(
        description="pass as after_session_id for the next batch; null: none left"
    )


class ProgressPoint(BaseModel):
    """One session of a routine: when, and how it went."""

    session_id: int
    created_at: UtcDatetime
    score: float
    reps: int
    errors: int


Platform = Literal["ios", "android"]
ArtifactFormat = Literal["onnx", "coreml-mlprogram"]
# A window's frame count is symbolic ("T >= receptive_field"): the shape mixes ints and text.
Shape = list[int | str]


class PhoneModelInput(BaseModel):
    """The lifter's input on the phone: 2D keypoints of ``layout``, normalised."""

    name: str
    layout: str
    joints: list[str]
    normalization: str = Field(description="how pixels become the model's input")
    shape_stream: Shape
    shape_window: Shape


class PhoneModelOutput(BaseModel):
    """The lifter's output: 3D joints of ``layout`` in ``units``."""

    layout: str
    joints: list[str]
    units: str
    shape_stream: Shape
    shape_window: Shape


class PhoneArtifact(BaseModel):
    """One downloadable model file (a Core ML package comes zipped)."""

    format: ArtifactFormat
    quantization: str
    sha256: str = Field(description="of the file as exported (a Core ML package: its files)")
    bytes: int = Field(ge=0)
    opset: int | None = Field(default=None, description="ONNX opset")
    minimum_ios: str | None = None
    input_frames: int | None = Field(default=None, description="Core ML's fixed window")


class PhoneModelSidecar(BaseModel):
    """What the app needs to run the phone lifters of one platform, with checksums."""

    version: str = Field(
        description="the registered version of the live lifter (a number), or ``bundled``; "
        "pass it as ``version`` when downloading the artifacts"
    )
    model_version: str = Field(description="the checkpoint's own label")
    min_app_version: str = Field(description="the oldest app (``X.Y.Z``) that runs these models")
    receptive_field: int = Field(ge=1)
    causal: bool
    fps: float
    input: PhoneModelInput
    output: PhoneModelOutput
    metrics: dict[str, float]
    training_fingerprint: str
    artifacts: dict[str, PhoneArtifact]


# A pose as sent to a viewer: 17 H36M joints, each [x, y, z] in metres. Fixed-length
# lists rather than tuples: tuples become prefixItems, which client generators handle
# poorly.
Pose = Annotated[
    list[Annotated[list[float], Field(min_length=3, max_length=3)]],
    Field(min_length=17, max_length=17),
]
Bone = Annotated[list[int], Field(min_length=2, max_length=2)]  # parent, child joint index


class MotionPublic(BaseModel):
    """A session's motion for a 3D player, on the user's timeline: frame ``i`` is at
    ``i / fps`` seconds (downsampled to at most ``MAX_MOTION_FRAMES`` frames, fps divided
    accordingly). H36M-17 joints (``joint_names``, ``bones`` as parent/child index
    pairs), root-relative camera space in metres (x right, y down, z away from the
    camera), millimetre precision; ``duration_s`` is the session's length."""

    fps: float = Field(gt=0, description="frames per second of the motion as sent")
    duration_s: float = Field(ge=0)
    joint_names: list[str]
    bones: list[Bone]
    user: list[Pose]
    trainer: list[Pose]
    ghost: list[Pose]
