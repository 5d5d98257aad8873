"""Routines: a trainer's reference performance, lifted and stored."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from sqlalchemy import select

from coach_api.db import Routine
from coach_api.deps import CurrentUser, EngineDep, Id, RateLimitedUser, SessionDep, SettingsDep
from coach_api.errors import ApiError
from coach_api.schemas import RoutineCreate, RoutinePublic
from coach_api.services import Music, save_poses

router = APIRouter(tags=["routines"])


def owned_routine(db, user, routine_id: int) -> Routine:
    """The routine if it exists and ``user`` may use it (its owner); 404 otherwise."""
    routine = db.get(Routine, routine_id)
    if routine is None or routine.owner_id != user.id:
        raise ApiError(404, "not_found", f"no routine {routine_id}", "routine_id")
    return routine


@router.post(
    "/routines", response_model=RoutinePublic, status_code=201, operation_id="createRoutine"
)
async def create_routine(
    body: RoutineCreate,
    user: RateLimitedUser,
    db: SessionDep,
    engine: EngineDep,
    settings: SettingsDep,
) -> RoutinePublic:
    music = music_of(body.beat_times, body.beats_per_rep)
    sequence = engine.parse(body.keypoints.model_dump(), "keypoints")
    routine = await store_routine(
        engine, settings, db, user.id, body.name, body.movement, sequence, music
    )
    return RoutinePublic.model_validate(routine)


def music_of(beat_times: list[float] | None, beats_per_rep: int | None) -> Music | None:
    """A routine's music from its two fields (both or neither); 422 naming the missing one."""
    if (beat_times is None) != (beats_per_rep is None):
        missing = "beats_per_rep" if beats_per_rep is None else "beat_times"
        raise ApiError(
            422, "invalid_input", "a routine to music needs beat_times and beats_per_rep", missing
        )
    return Music(beat_times, beats_per_rep) if beat_times else None


async def store_routine(
    engine, settings, db, owner_id: int, name: str, movement: str, sequence, music=None
) -> Routine:
    """Lift ``sequence`` into a reference (to ``music``, if given) and store it; nothing is
    left on failure."""
    poses, reps = await engine.run(engine.build_reference, sequence, movement, music)
    blob = save_poses(settings.blobs, f"routine-{uuid.uuid4().hex}.npz", poses, sequence.fps, music)
    routine = Routine(
        owner_id=owner_id,
        name=name,
        movement=movement,
        fps=sequence.fps,
        frames=sequence.num_frames,
        reps=reps,
        blob=blob,
    )
    db.add(routine)
    try:
        db.commit()
    except Exception:
        settings.blobs.delete(blob)  # nothing half-stored
        raise
    return routine


@router.get("/routines", response_model=list[RoutinePublic], operation_id="listRoutines")
def list_routines(user: CurrentUser, db: SessionDep) -> list[RoutinePublic]:
    rows = db.scalars(select(Routine).where(Routine.owner_id == user.id).order_by(Routine.id))
    return [RoutinePublic.model_validate(r) for r in rows]


@router.get("/routines/{routine_id}", response_model=RoutinePublic, operation_id="getRoutine")
def get_routine(routine_id: Id, user: CurrentUser, db: SessionDep) -> RoutinePublic:
    return RoutinePublic.model_validate(owned_routine(db, user, routine_id))


@router.delete("/routines/{routine_id}", status_code=204, operation_id="deleteRoutine")
def delete_routine(
    routine_id: Id, user: CurrentUser, db: SessionDep, settings: SettingsDep
) -> None:
    routine = owned_routine(db, user, routine_id)
    blob = routine.blob
    db.delete(routine)
    db.commit()
    settings.blobs.delete(blob)
