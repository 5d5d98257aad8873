"""Routines: a trainer's reference performance, lifted and stored; private to the
trainer until published to the users' catalogue."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import select

from coach_api.access import owned_routine, require_trainer, usable_routine, visible_to
from coach_api.db import Routine
from coach_api.deps import (
    CurrentUser,
    EngineDep,
    Id,
    RateLimitedUser,
    SessionDep,
    SettingsDep,
    spend_rate,
)
from coach_api.json_requests import documented, read_keypoint_body
from coach_api.openapi_errors import error_responses
from coach_api.persistence import store_routine
from coach_api.schemas import RoutineCreate, RoutinePublic, RoutineUpdate
from coach_api.services import music_of

router = APIRouter(tags=["routines"])


@router.post(
    "/routines",
    response_model=RoutinePublic,
    status_code=201,
    operation_id="createRoutine",
    responses=error_responses(403, 429, body=True),
    openapi_extra=documented(RoutineCreate),
)
async def create_routine(
    request: Request,
    user: RateLimitedUser,
    db: SessionDep,
    engine: EngineDep,
    settings: SettingsDep,
) -> RoutinePublic:
    """A trainer's routine from phone keypoints (trainers only; private until published)."""
    require_trainer(user)
    body, frames = await read_keypoint_body(request, RoutineCreate, engine)
    music = music_of(body.beat_times, body.beats_per_rep)
    sequence = await engine.run(engine.sequence, body.keypoints, frames)
    spend_rate(request, user)
    routine = await store_routine(
        engine, settings, db, user.id, body.name, body.movement, sequence, music, body.published
    )
    return RoutinePublic.model_validate(routine)


@router.get(
    "/routines",
    response_model=list[RoutinePublic],
    operation_id="listRoutines",
    responses=error_responses(),
)
def list_routines(user: CurrentUser, db: SessionDep) -> list[RoutinePublic]:
    """The routines the caller may use: the catalogue of published ones, and a trainer's
    own (published or not)."""
    rows = db.scalars(select(Routine).where(visible_to(user)).order_by(Routine.id))
    return [RoutinePublic.model_validate(r) for r in rows]


@router.get(
    "/routines/{routine_id:int}",
    response_model=RoutinePublic,
    operation_id="getRoutine",
    responses=error_responses(404),
)
def get_routine(routine_id: Id, user: CurrentUser, db: SessionDep) -> RoutinePublic:
    return RoutinePublic.model_validate(usable_routine(db, user, routine_id))


@router.patch(
    "/routines/{routine_id:int}",
    response_model=RoutinePublic,
    operation_id="updateRoutine",
    responses=error_responses(404, body=True),
)
def update_routine(
    routine_id: Id, body: RoutineUpdate, user: CurrentUser, db: SessionDep
) -> RoutinePublic:
    """Publish the routine to the users' catalogue (or withdraw it), or rename it. Users
    who scored it keep their sessions either way."""
    routine = owned_routine(db, user, routine_id)
    if body.published is not None:
        routine.published = body.published
    if body.name is not None:
        routine.name = body.name
    db.commit()
    return RoutinePublic.model_validate(routine)


@router.delete(
    "/routines/{routine_id:int}",
    status_code=204,
    operation_id="deleteRoutine",
    responses=error_responses(404),
)
def delete_routine(
    routine_id: Id, user: CurrentUser, db: SessionDep, settings: SettingsDep, engine: EngineDep
) -> None:
    """Delete the routine and the trainer's motion; users' sessions of it stay theirs."""
    routine = owned_routine(db, user, routine_id)
    blob = routine.blob
    db.delete(routine)
    db.commit()
    engine.forget_reference(blob)
    settings.blobs.delete(blob)
