"""Live streams kept in the database, so that a live socket can be resumed on any replica.

A live socket's state (the causal lifter's layer caches, the poses, the repetitions sent)
is in the memory of the replica that holds the socket. Behind a load balancer, a phone that
reconnects (a network change, a replica stopped by a deploy or a scale-in) may reach
another replica. So each stream is a :class:`~coach_api.db.LiveStream` row, and every
``live_checkpoint_s`` seconds of frames what the session gained since the last
checkpoint (poses, the keypoints they came from, the causal lifter's memory of ~80 KB:
:class:`~scoring.live.LiveState`) goes to a chunk blob and the row records it: one blob
write and one row update, a cost that does not grow with the session. Resuming reads
the chunks into a new :class:`~scoring.live.LiveSession`, with no lifting, and it goes
on exactly as the one that stopped would have, from its last checkpoint. The client
sends the frames after that checkpoint again.

Each resume bumps the row's ``generation``; checkpoints and the final store are
conditional on the generation the socket holds, so a socket that was superseded (its
client reconnected elsewhere while it lingered) can neither overwrite the stream nor
store the session a second time. A chunk is written under a fresh name before the row
names it, so a crash between the two leaves an unnamed blob (swept with the stream),
never a row naming a missing blob.

Blocking functions: run them in a thread.
"""

from __future__ import annotations

import io
import json
import secrets
import uuid
from datetime import timedelta
from typing import NamedTuple

import numpy as np
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from coach_api.db import LiveStream
from coach_api.jobs import utcnow
from coach_api.settings import Settings
from pose3d.lifter import StreamState
from scoring.live import LiveState


class Superseded(Exception):
    """The stream was resumed by another socket since this one loaded it."""


class SavedStream(NamedTuple):
    """What :func:`load_stream` gives back: the row and the session's saved state (the
    chunks concatenated; ``None`` when nothing was saved yet)."""

    stream: LiveStream
    state: LiveState | None


def chunk_name(stream_id: str) -> str:
    """A fresh blob name for a chunk of stream ``stream_id``."""
    return f"live-{stream_id}-{uuid.uuid4().hex}.npz"


def create_stream(
    sessions: sessionmaker, user_id: int, routine_id: int, header: dict, strictness: str
) -> str:
    """Store a new stream (``header``: the start message's layout, fps, image size and
    beat times); returns its id, the client's handle for resuming it."""
    stream_id = secrets.token_urlsafe(18)  # 24 characters, 144 random bits
    header_json = json.dumps({**header, "strictness": strictness})
    with sessions() as db:
        row = LiveStream(
            id=stream_id,
            user_id=user_id,
            routine_id=routine_id,
            header_json=header_json,
            updated_at=utcnow(),
            streaming=True,
        )
        db.add(row)
        db.commit()
    return stream_id


def active_streams(settings: Settings, sessions: sessionmaker, user_id: int) -> int:
    """How many streams of ``user_id`` a socket holds on any replica: streaming, not
    ended, and touched (started, resumed or checkpointed) within ``live_idle_timeout_s +
    live_checkpoint_s``. A held socket sends frames, so it saves a checkpoint every
    ``live_checkpoint_s`` seconds of frames, or it is closed as idle; a stream still
    marked streaming past that was held by a replica that died."""
    window = timedelta(seconds=settings.live_idle_timeout_s + settings.live_checkpoint_s)
    with sessions() as db:
        query = (
            select(func.count())
            .select_from(LiveStream)
            .where(
                LiveStream.user_id == user_id,
                LiveStream.streaming.is_(True),
                LiveStream.session_id.is_(None),
                LiveStream.updated_at >= utcnow() - window,
            )
        )
        return db.scalar(query) or 0


def release_stream(sessions: sessionmaker, stream_id: str, generation: int) -> None:
    """The socket holding stream ``stream_id`` at ``generation`` ended: no socket holds it
    now, unless a resume took it over since (then the row is the resume's)."""
    with sessions() as db:
        db.execute(
            update(LiveStream)
            .where(LiveStream.id == stream_id, LiveStream.generation == generation)
            .values(streaming=False)
        )
        db.commit()


def checkpoint(
    settings: Settings,
    sessions: sessionmaker,
    stream_id: str,
    generation: int,
    gained: LiveState,
    reported: int,
) -> int:
    """Save what the stream ``gained`` since its last checkpoint as a chunk, and record it
    with the repetitions ``reported`` so far; returns the frames saved in all. Superseded
    if the stream was resumed elsewhere (the chunk is then deleted)."""
    name = chunk_name(stream_id)
    settings.blobs.put(name, encode_chunk(gained))
    with sessions() as db:
        stream = db.get(LiveStream, stream_id)
        current = stream is not None and stream.generation == generation
        if current and stream.session_id is None:
            changed = db.execute(
                update(LiveStream)
                .where(LiveStream.id == stream_id, LiveStream.generation == generation)
                .values(
                    chunks_json=json.dumps([*stream.chunks, name]),
                    frames=gained.frames,
                    reported=reported,
                    updated_at=utcnow(),
                )
            ).rowcount
            db.commit()
            if changed == 1:
                return gained.frames
    settings.blobs.delete(name)
    raise Superseded(stream_id)


def encode_chunk(gained: LiveState) -> bytes:
    """A chunk as npz: the arrays gained, the frame count and the stream's memory (its
    per-layer caches as ``cache_0``, ``cache_1``, ...; none before the first frame).
    Not compressed: deflating a chunk cost ~14 ms, 9% of a 20-stream server's CPU, to
    save a third of ~150 kB that lives minutes (docs/design-notes.md)."""
    buffer = io.BytesIO()
    last_seen = gained.stream.last_seen
    caches = {f"cache_{layer}": cache for layer, cache in enumerate(gained.stream.caches)}
    np.savez(
        buffer,
        keypoints=gained.keypoints,
        keypoint_scores=gained.keypoint_scores,
        poses=gained.poses,
        scores=gained.scores,
        frames=np.int64(gained.frames),
        last_seen=np.zeros((0, 2), np.float32) if last_seen is None else last_seen,
        frames_seen=np.int64(gained.stream.frames_seen),
        **caches,
    )
    return buffer.getvalue()


def decode_chunks(chunks: list[bytes]) -> LiveState:
    """The session's state from its chunks, oldest first: their arrays concatenated, the
    counts and the stream's memory of the last."""
    loaded = [np.load(io.BytesIO(data)) for data in chunks]
    last = loaded[-1]
    joined = {
        key: np.concatenate([chunk[key] for chunk in loaded])
        for key in ("keypoints", "keypoint_scores", "poses", "scores")
    }
    last_seen = last["last_seen"] if len(last["last_seen"]) else None
    layers = sum(name.startswith("cache_") for name in last.files)
    caches = [last[f"cache_{layer}"] for layer in range(layers)]
    memory = StreamState(caches, last_seen, int(last["frames_seen"]))
    return LiveState(**joined, frames=int(last["frames"]), stream=memory)


def load_stream(
    settings: Settings, sessions: sessionmaker, stream_id: str, user_id: int
) -> SavedStream | None:
    """Take over stream ``stream_id`` of user ``user_id``: its generation is bumped (any
    socket still holding it is superseded) and its saved state read. ``None`` if there
    is no such stream of this user, or it expired (``live_resume_ttl_s`` after its last
    checkpoint). A finished stream (``session_id`` set) comes back as it is."""
    oldest = utcnow() - timedelta(seconds=settings.live_resume_ttl_s)
    with sessions() as db:
        stream = db.scalar(
            select(LiveStream).where(
                LiveStream.id == stream_id,
                LiveStream.user_id == user_id,
                LiveStream.updated_at >= oldest,
            )
        )
        if stream is None:
            return None
        if stream.session_id is not None:
            db.expunge(stream)
            return SavedStream(stream, None)
        changed = db.execute(
            update(LiveStream)
            .where(LiveStream.id == stream_id, LiveStream.generation == stream.generation)
            .values(generation=stream.generation + 1, updated_at=utcnow(), streaming=True)
        ).rowcount
        db.commit()
        if changed != 1:  # two resumes at once: the other one won
            raise Superseded(stream_id)
        stream = db.get(LiveStream, stream_id)
        db.expunge(stream)
    if not stream.chunks:
        return SavedStream(stream, None)
    return SavedStream(stream, decode_chunks([settings.blobs.get(name) for name in stream.chunks]))


def mark_finished(db: Session, stream_id: str, generation: int, session_id: int) -> list[str]:
    """In the transaction storing the stream's session: record the session on the stream
    and forget its chunks; returns the chunks' names (to delete after the commit).
    Superseded (the transaction must then be rolled back) if another socket took the
    stream over."""
    stream = db.get(LiveStream, stream_id)
    if stream is None or stream.generation != generation or stream.session_id is not None:
        raise Superseded(stream_id)
    chunks = stream.chunks
    changed = db.execute(
        update(LiveStream)
        .where(LiveStream.id == stream_id, LiveStream.generation == generation)
        .values(session_id=session_id, chunks_json="[]", updated_at=utcnow())
    ).rowcount
    if changed != 1:
        raise Superseded(stream_id)
    return chunks


def sweep_expired_streams(settings: Settings, sessions: sessionmaker) -> int:
    """Delete the streams untouched for ``live_resume_ttl_s`` with their chunk blobs (a
    crash's unnamed chunks too); returns how many. Any number of processes may sweep at
    once: a row is deleted only while it is still expired."""
    oldest = utcnow() - timedelta(seconds=settings.live_resume_ttl_s)
    with sessions() as db:
        expired = db.scalars(select(LiveStream.id).where(LiveStream.updated_at < oldest)).all()
    swept = 0
    for stream_id in expired:
        with sessions() as db:
            deleted = db.execute(
                delete(LiveStream).where(LiveStream.id == stream_id, LiveStream.updated_at < oldest)
            ).rowcount
            db.commit()
        if deleted != 1:
            continue  # resumed or swept meanwhile
        delete_chunks(settings, stream_id)
        swept += 1
    return swept


def delete_chunks(settings: Settings, stream_id: str) -> None:
    """Delete every chunk blob of stream ``stream_id``, named by its row or not."""
    for name in settings.blobs.names(starting=f"live-{stream_id}-"):
        settings.blobs.delete(name)
