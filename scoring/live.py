"""A live session: a stream of phone keypoints lifted frame by frame, each finished
repetition judged as it completes, and a closing summary.

This is the streaming and scoring logic behind the API's live socket
(``coach_api/routes/live.py``, which keeps only the protocol) and the live replay of
``coach evaluate-scoring --live`` (:mod:`lab.live_eval`). It depends on ``pose3d`` and
``scoring`` only: the models come in as :class:`LiveModels` (the API's engine has the
same three attributes).
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import replace
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from pose2d import clean_keypoints
from pose3d.keypoints import h36m_scores
from pose3d.lifter import lift_taken
from pose3d.sequence_json import (
    KeypointSequence,
    parse_sequence,
    sequence_from_array,
    values_from_float32,
)
from scoring import feet
from scoring.detector import Unit, UnitSummary
from scoring.frame_column import FrameColumn
from scoring.live_reps import RepTracker
from scoring.observed import Landmarks, ObservedSession
from scoring.session import score_session

if TYPE_CHECKING:
    from pose3d.lifter import Lifter, StreamState
    from scoring.population import PopulationModel
    from scoring.reference import Reference

MAX_BATCH = 120  # frames per pushed batch
# Earlier repetitions each newly finished one is compared with: the detector compares each
# repetition with the user's others, and this bounds the cost of a long session.
LIVE_CONTEXT_REPS = 8
# Earlier repetitions lifted and aligned again with each new one (the alignment's and the
# lifter's context); the others are compared through what the detector kept of them.
STRETCH_CONTEXT_REPS = 2


class LiveModels(NamedTuple):
    """The models a live session runs on."""

    lifter: Lifter  # causal: lifts the stream frame by frame
    recordings: Lifter  # lifts finished stretches again to judge them (non-causal if bundled)
    population: PopulationModel | None  # the detector's population model


class LiveSummary(NamedTuple):
    """A finished session: its report (JSON) and the poses ``(T, 17, 3)`` it judged (the
    recordings model's lift of the whole stream, what a recorded session stores)."""

    report: dict
    poses: np.ndarray


class LiveState(NamedTuple):
    """A live session's saved state, or a chunk of it (what it gained since the last):
    ``P`` poses with the keypoints they were lifted from, the frames pushed in all (with
    those that gave no pose), and the lifter stream's memory at the end."""

    keypoints: np.ndarray  # (P, J, 2) pixels, the phone's
    keypoint_scores: np.ndarray  # (P, J) in [0, 1]
    poses: np.ndarray  # (P, 17, 3) metres, the causal stream's
    scores: np.ndarray  # (P, 17) the poses' joint scores (H36M order)
    frames: int
    stream: StreamState


class LiftedStretch(NamedTuple):
    """Frames of a session as a check judged them: the phone's keypoints after the 2D
    front end, ``(N, J, 2)`` px and ``(N, J)`` scores, lifted by the recordings model
    ``(N, 17, 3)`` m; the first is frame ``first`` of the session, and those before
    frame ``final`` were lifted with their whole future (a later check may take them as
    they are)."""

    keypoints: np.ndarray
    scores: np.ndarray
    poses: np.ndarray
    first: int
    final: int


class TooFewFrames(ValueError):
    """The summary was asked for before any pose was lifted."""


class LiveSession:
    """State of one live stream: the stream, the poses so far, reps reported.

    ``start`` holds the stream header (``layout``, ``fps``, ``image_width``,
    ``image_height``, validated) and, for a routine to music, ``beat_times`` (validated,
    seconds from the first frame). ``models`` needs ``lifter`` to stream, and
    ``recordings`` and ``population`` to judge (:class:`LiveModels`).
    """

    def __init__(
        self, models: LiveModels, reference: Reference, start: dict, strictness: str
    ) -> None:
        self.models, self.reference, self.strictness = models, reference, strictness
        self.layout, self.fps = start["layout"], float(start["fps"])
        self.started = time.monotonic()
        self.frames_received = 0
        self.size = (int(start["image_width"]), int(start["image_height"]))
        self.stream = models.lifter.stream(
            image_size=self.size, layout=self.layout, warmup_frames=1
        )
        joints = self.stream.layout.num_joints
        # Per pose (frames that gave none are not kept): the causal stream's pose (m) and
        # its joints' scores, and the phone's keypoints (px) and scores it came from: the
        # recordings model lifts finished repetitions again from them, and MediaPipe's give
        # the 2D knee and heel measures.
        self.poses, self.scores = FrameColumn((17, 3)), FrameColumn((17,))
        self.keypoints, self.keypoint_scores = FrameColumn((joints, 2)), FrameColumn((joints,))
        self.lock = threading.Lock()  # pushes append while a check reads
        self.reported = 0
        self.checked_at = 0  # frames when repetitions were last looked for
        # Repetitions in the poses, found incrementally; a MediaPipe stream's are checked
        # against the phone's image (scoring.image_activity).
        self.reps = RepTracker(self.fps, image=self.layout == "mediapipe33")
        # What the detector saw of each repetition judged so far (frames of the session),
        # so a new one is compared with them without judging them again; valid up to the
        # frame ``units_until`` (0: nothing kept, e.g. after a restore).
        self.units: list[UnitSummary] = []
        self.units_until = 0
        # The heels' heights (scoring.feet.heel_height) per side over the last check's
        # context, from its first frame: their rest is the level of the whole context.
        self.heel_heights: tuple[int, dict[str, np.ndarray]] = (0, {})
        self.lifted: LiftedStretch | None = None  # the last check's stretch, lifted
        self.frames_pushed = 0  # frames lifted, with those that gave no pose
        # Batches taken in but not lifted yet (queue_arrays), each with which of its frames
        # will give a pose, and how many poses they will give.
        self._queued: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.queued_poses = 0
        self.frames_taken = 0  # frames taken in, lifted or not (a round may be lifting some)
        # What the last take_unsaved saved: frames pushed, and poses, by then.
        self.saved_frames = self.saved_poses = 0
        # The music's beats (s from the first frame), for routines to music; validated.
        self.beat_times: list[float] | None = start.get("beat_times")

    def header(self) -> dict:
        return {
            "layout": self.layout,
            "fps": self.fps,
            "image_width": self.size[0],
            "image_height": self.size[1],
        }

    def push(self, frames: list) -> int:
        """Lift a batch (JSON frames; SequenceFormatError naming what is wrong); returns the
        number of poses so far."""
        return self.push_arrays(*self.parse(frames))

    def parse(self, frames: list) -> tuple[np.ndarray, np.ndarray]:
        """A batch of JSON frames checked against the stream's header: keypoints
        ``(N, J, 2)`` pixels and scores ``(N, J)``; SequenceFormatError naming what is
        wrong."""
        sequence = parse_sequence({**self.header(), "frames": frames}, max_frames=MAX_BATCH)
        return sequence.keypoints, sequence.scores

    def parse_binary(self, data: bytes) -> tuple[np.ndarray, np.ndarray]:
        """A batch of frames sent as bytes (little-endian float32 ``[x, y, score]`` per
        joint, NaN x and y where unseen: :func:`pose3d.sequence_json.values_from_float32`),
        checked as :meth:`parse` checks JSON: keypoints ``(N, J, 2)`` pixels and scores
        ``(N, J)``; SequenceFormatError naming what is wrong."""
        joints = self.stream.layout.num_joints
        values = values_from_float32(data, joints, MAX_BATCH)
        sequence = sequence_from_array(
            self.layout, self.fps, *self.size, values, max_frames=MAX_BATCH
        )
        return sequence.keypoints, sequence.scores

    def push_arrays(self, keypoints: np.ndarray, scores: np.ndarray) -> int:
        """Lift checked frames: keypoints ``(N, J, 2)`` pixels and scores ``(N, J)``; returns
        the number of poses so far."""
        self.queue_arrays(keypoints, scores)
        self.lift_queued()
        return self.pose_count

    def queue_arrays(self, keypoints: np.ndarray, scores: np.ndarray) -> int:
        """Take in checked frames (keypoints ``(N, J, 2)`` pixels, scores ``(N, J)``) to be
        lifted later with other sessions' (:func:`lift_together`); ``ValueError`` naming
        what is wrong, nothing taken in. Returns the number of poses so far, these
        frames' counted: what they will give is known before the network runs."""
        with self.lock:
            gives = self.stream.queue(keypoints, scores)
            self._queued.append((keypoints, scores, gives))
            self.queued_poses += int(gives.sum())
            self.frames_taken += len(keypoints)
            return len(self.poses) + self.queued_poses

    @property
    def pose_count(self) -> int:
        """Poses so far, those of queued frames included."""
        with self.lock:
            return len(self.poses) + self.queued_poses

    @property
    def unlifted(self) -> bool:
        """Whether frames were taken in that are not lifted yet."""
        return bool(self.queued_poses or self._queued)

    def lift_queued(self) -> None:
        """Lift this session's queued frames now (those another thread is lifting are
        waited for): what reads the poses calls it first."""
        if self.unlifted:
            lift_together([self])

    def _take_queued(self) -> tuple[list[tuple[np.ndarray, np.ndarray, np.ndarray]], tuple]:
        """The queued batches and the stream's queued network rows, taken together (the
        caller holds the lifter's lock and lifts them next)."""
        with self.lock:
            batches, self._queued = self._queued, []
            return batches, self.stream.take_queued()

    def _record(
        self, batches: list[tuple[np.ndarray, np.ndarray, np.ndarray]], poses: np.ndarray
    ) -> None:
        """Keep lifted batches (keypoints ``(N, J, 2)``, scores ``(N, J)`` and which frames
        gave a pose) with the poses ``(P, 17, 3)`` they gave, in order."""
        with self.lock:
            done = 0
            for keypoints, scores, gives in batches:
                kept = np.flatnonzero(gives)
                self.poses.extend(poses[done : done + len(kept)])
                self.scores.extend(h36m_scores(scores[kept], self.layout))
                self.keypoints.extend(keypoints[kept])
                self.keypoint_scores.extend(scores[kept])
                done += len(kept)
                self.queued_poses -= len(kept)
                self.frames_pushed += len(keypoints)

    @property
    def unsaved_frames(self) -> int:
        """Frames pushed since the last :meth:`take_unsaved`, those still to be lifted
        included."""
        return self.frames_taken - self.saved_frames

    def take_unsaved(self) -> LiveState | None:
        """What the stream gained since the last call (``None`` if no frame came): the
        poses and keypoints added, the frames pushed in all and the lifter stream's
        memory. The chunks of a session, concatenated, :meth:`restore` it."""
        self.lift_queued()
        if self.unsaved_frames == 0:
            return None
        with self.lock:
            new = (self.saved_poses, len(self.poses))
            state = LiveState(
                keypoints=self.keypoints.rows(*new),
                keypoint_scores=self.keypoint_scores.rows(*new),
                poses=self.poses.rows(*new),
                scores=self.scores.rows(*new),
                frames=self.frames_pushed,
                stream=self.stream.state(),
            )
            self.saved_poses, self.saved_frames = len(self.poses), self.frames_pushed
        return state

    def restore(self, state: LiveState, reported: int) -> None:
        """Go on from a saved stream: ``state`` holds its poses and keypoints (the chunks'
        concatenated) and the lifter stream's memory at the last one; ``reported``
        repetitions were sent. The stream then goes on as if it had never stopped."""
        with self.lock:
            self.keypoints = FrameColumn.holding(state.keypoints)
            self.keypoint_scores = FrameColumn.holding(state.keypoint_scores)
            self.poses, self.scores = (
                FrameColumn.holding(state.poses),
                FrameColumn.holding(state.scores),
            )
            self.frames_pushed = self.saved_frames = self.frames_taken = state.frames
            self.saved_poses = len(self.poses)
        self.stream.restore(state.stream)
        self.reported, self.checked_at = reported, len(self.poses)
        # The next check judges its whole context again.
        self.units, self.units_until, self.heel_heights, self.lifted = [], 0, (0, {}), None
        # The repetitions of the saved poses, found at once: the first ``reported`` were
        # sent, any others are sent at the next check.
        if len(state.poses):
            self.reps.extend(state.poses, (state.keypoints, state.keypoint_scores))
            self.reps.finished()

    def received(
        self, first: int = 0, end: int | None = None
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """The phone's keypoints ``(T, J, 2)`` and scores ``(T, J)`` of the poses
        ``[first, end)`` (all by default); ``None`` if there is none."""
        with self.lock:
            keypoints = self.keypoints.rows(first, end)
            scores = self.keypoint_scores.rows(first, end)
        return (keypoints, scores) if len(keypoints) else None

    def judged(
        self,
        first: int,
        done: int,
        streamed: np.ndarray,
        streamed_scores: np.ndarray,
        context_first: int | None = None,
    ) -> ObservedSession:
        """What frames ``[first, done)`` are judged on: the received keypoints repaired by
        the 2D front end (:mod:`pose2d.front_end`: other people left out, left/right swaps
        undone) and lifted again by the recordings model, with the frames received after
        ``done`` as its future context. The detector learned from that model's lifts; the
        causal stream's poses and scores (``streamed``, ``(done - first, 17, 3)`` and
        ``(done - first, 17)``, the fallback) lag and add false cues (off beat on a
        correct dance). With ``context_first`` before ``first``, the heels' resting
        height is taken over frames ``[context_first, done)`` (kept from earlier checks)."""
        lifted = self.lift_stretch(first, done, keep=context_first is not None)
        if lifted is None:  # nothing usable to lift (every joint missing)
            keypoints, scores = self.received(first, done)
            poses, h36m = streamed, streamed_scores
        else:
            keypoints, scores, poses = lifted.keypoints, lifted.scores, lifted.poses
            h36m = h36m_scores(scores, self.layout)
        landmarks, heel_rest = None, None
        if self.layout == "mediapipe33":
            landmarks = Landmarks(keypoints, scores)
            if self.reference is not None and self.reference.movement in feet.MOVEMENTS:
                heel_rest = self.heel_rest(
                    landmarks, first, first if context_first is None else context_first
                )
        beat_times = self.beats(first, done)
        return ObservedSession(poses, self.fps, h36m, landmarks, beat_times, heel_rest)

    def lift_stretch(self, first: int, done: int, keep: bool) -> LiftedStretch | None:
        """Frames ``[first, done)`` cleaned by the 2D front end and lifted by the
        recordings model, with the frames received after ``done`` as future context;
        ``None`` when nothing is usable. With ``keep``, frames the last kept stretch
        lifted with their whole future are taken from it, only the others are cleaned
        and lifted (with a receptive field's half, and a second for the front end,
        before them), and this stretch is kept in turn."""
        recordings = self.models.recordings
        half = recordings.receptive_field // 2
        end = min(len(self.keypoints), done + half)
        kept = self.lifted if keep else None
        reused = 0
        if kept is not None and kept.first <= first < kept.final:
            reused = min(kept.final, done) - first
        fresh = first + reused
        start = max(first, fresh - half - int(self.fps)) if reused else first
        keypoints, scores = self.received(start, end)
        cleaned = clean_keypoints(keypoints, scores, self.fps, self.layout)
        sequence = KeypointSequence(
            self.layout, self.fps, *self.size, cleaned.keypoints, cleaned.scores
        )
        try:
            poses = recordings.lift_sequence(sequence, slice(fresh - start, done - start))
        except ValueError:
            self.lifted = None
            return None
        new = slice(fresh - start, done - start)
        parts = [(cleaned.keypoints[new], cleaned.scores[new], poses)]
        if reused:
            old = slice(first - kept.first, first - kept.first + reused)
            parts.insert(0, (kept.keypoints[old], kept.scores[old], kept.poses[old]))
        keypoints, scores, poses = (np.concatenate(arrays) for arrays in zip(*parts, strict=True))
        stretch = LiftedStretch(keypoints, scores, poses, first, max(fresh, min(done, end - half)))
        if keep:
            self.lifted = stretch
        return stretch

    def heel_rest(self, landmarks: Landmarks, first: int, context_first: int) -> dict | None:
        """Each heel's resting height over frames ``[context_first, first + T)``: the
        heights kept from earlier checks before ``first``, then those of ``landmarks``
        (``T`` frames from ``first``), which are kept in turn. ``None`` when the stretch
        is the whole context (its own median is the rest) or no heel was seen."""
        kept_from, kept = self.heel_heights
        rest, heights = {}, {}
        for side in ("left", "right"):
            measured = feet.heel_height(*landmarks, side, self.fps)
            new = measured[0] if measured else np.full(len(landmarks.keypoints), np.nan)
            earlier = kept.get(side, np.zeros(0))
            earlier = earlier[max(0, context_first - kept_from) : max(0, first - kept_from)]
            heights[side] = np.concatenate([earlier, new])
            if first > context_first and np.isfinite(heights[side]).any():
                rest[side] = float(np.nanmedian(heights[side]))
        self.heel_heights = (context_first, heights)
        return rest or None

    def routine_reps(self, frames: int) -> list[tuple[int, int]]:
        """For a routine to music with the beat times: its repetitions on the beat grid
        (every ``beats_per_rep`` beats from the first), the last one still growing.
        Scored stretches then start where a cycle of the routine does, on its first beat,
        as a session does that the detector learned from; repetitions found in the motion
        need not."""
        per_rep = self.reference.beats_per_rep
        if not (self.beat_times and per_rep):
            return []
        bounds = [round(b * self.fps) for b in self.beat_times[::per_rep]]
        bounds = [b for b in bounds if b <= frames]
        reps = list(itertools.pairwise(bounds))
        if bounds and frames > bounds[-1]:
            reps.append((bounds[-1], frames))
        return reps

    def beats(self, first: int, end: int) -> list[float] | None:
        """The beats within frames ``[first, end)``, in seconds from frame ``first``; a beat
        up to half a frame before frame ``first`` counts as its own (it may be slightly
        negative). A stretch starting on a beat starts at the beat's rounded frame
        (:meth:`routine_reps`), which may fall after the beat: dropped, the stretch's
        first beat would be its second, every move would be matched a beat off, and
        off-beat cues came on most moves of correct dances."""
        if not self.beat_times:
            return None
        start_s, end_s = first / self.fps, end / self.fps
        half_frame_s = 0.5 / self.fps
        chosen = [b for b in self.beat_times if start_s - half_frame_s <= b < end_s]
        return [b - start_s for b in chosen] or None

    def admit(self, count: int, max_speed: float, burst_s: float) -> bool:
        """Whether ``count`` more frames keep the stream real time: at most ``max_speed``
        times its fps since the start, plus ``burst_s`` seconds of frames to catch up. A
        phone camera cannot go faster; a client that does is flooding the server."""
        allowed = ((time.monotonic() - self.started) * max_speed + burst_s) * self.fps
        if self.frames_received + count > allowed:
            return False
        self.frames_received += count
        return True

    def check_due(self) -> bool:
        """Whether half a second of new frames arrived since repetitions were last looked
        for (segmenting the whole buffer on every small batch would cost more than the
        lifting itself with many streams)."""
        frames = self.pose_count
        return frames >= 2 * self.fps and frames - self.checked_at >= 0.5 * self.fps

    def finished_reps(self) -> list[dict]:
        """Cues for repetitions completed since the last call (the last rep may still grow).

        The new repetitions are judged against up to LIVE_CONTEXT_REPS earlier ones (the
        user's own other repetitions, as the detector was trained), and the errors of each
        new one are sent. Only the new ones and STRETCH_CONTEXT_REPS before them are lifted
        and judged again; the others come in as what the detector kept of them
        (:class:`~scoring.detector.UnitSummary`), so a check costs the same at every
        point of a session and whatever the context (the first check of a resumed stream
        judges its whole context once). A routine to music with its beat times is cut into
        repetitions on the beat grid (cycles of the routine), judged the same way.
        """
        self.lift_queued()
        with self.lock:
            frames = len(self.poses)
        self.checked_at = frames
        routine = self.routine_reps(frames)
        if routine:  # the beat grid cuts it: the tracker is not fed
            done_reps = routine[:-1]
        else:  # only the new poses are looked at: the cost does not grow with the session
            if frames > self.reps.frames:
                with self.lock:
                    new_poses = self.poses.rows(self.reps.frames, frames)
                landmarks = None  # the phone's image, when the tracker checks against it
                if self.reps.image is not None:
                    landmarks = self.received(self.reps.frames, frames)
                self.reps.extend(new_poses, landmarks)
            self.reps.finished()
            done_reps = self.reps.bounds
        finished = list(enumerate(done_reps[self.reported :], start=self.reported))
        if not finished:
            return []
        new_rep = finished[0][0]
        context_first = done_reps[max(0, new_rep - LIVE_CONTEXT_REPS)][0]
        first, earlier = context_first, []
        if new_rep > STRETCH_CONTEXT_REPS and self.units_until:
            # Only the new repetitions and STRETCH_CONTEXT_REPS before them are lifted and
            # judged again; the others are compared through their kept summaries. Then a
            # check's cost does not grow with the context (3 repetitions instead of 9).
            first = done_reps[new_rep - STRETCH_CONTEXT_REPS][0]
            if self.units_until >= first:
                earlier = [
                    u for u in self.units if context_first <= u.unit.start and _mid(u) < first
                ]
            else:  # the kept summaries stop short of the stretch: judge the whole context
                first = context_first
        done = finished[-1][1][1]  # the end of the last finished repetition
        with self.lock:
            poses, scores = self.poses.rows(first, done), self.scores.rows(first, done)
        observed = self.judged(first, done, poses, scores, context_first)
        judged = score_session(
            observed,
            self.reference,
            strictness=self.strictness,
            population=self.models.population,
            include_ghost=False,
            earlier_units=[_shifted(u, -first) for u in earlier],
        )
        self.keep_units(judged.unit_summaries, first, done)
        report = judged.to_dict()
        offset = first / self.fps  # session time of the scored stretch's start
        errors = [
            {
                **e,
                "start_s": round(e["start_s"] + offset, 2),
                "end_s": round(e["end_s"] + offset, 2),
            }
            for e in report["errors"]
        ]
        messages = []
        for number, (start, end) in finished:
            start_s, end_s = start / self.fps, end / self.fps
            messages.append(
                {
                    "type": "rep",
                    "rep": number + 1,
                    "start_s": round(start_s, 2),
                    "end_s": round(end_s, 2),
                    "errors": [e for e in errors if e["start_s"] < end_s and start_s < e["end_s"]],
                }
            )
            self.reported = number + 1
        return messages

    def keep_units(self, summaries: list[UnitSummary], first: int, done: int) -> None:
        """Keep the detector's ``summaries`` of the units of frames ``[first, done)``
        (their frames counted from ``first``) in place of any kept for those frames, and
        only as many as the next checks compare with."""
        kept = [u for u in self.units if _mid(u) < first]
        self.units = (kept + [_shifted(u, first) for u in summaries])[-2 * LIVE_CONTEXT_REPS :]
        self.units_until = done

    def summary(self) -> LiveSummary:
        """The whole session's report and the poses it judged; TooFewFrames before any
        pose was lifted."""
        self.lift_queued()
        if len(self.poses) < 2:
            raise TooFewFrames("no pose was lifted yet")
        frames = len(self.poses)
        with self.lock:
            poses, scores = self.poses.rows(), self.scores.rows()
        observed = self.judged(0, frames, poses, scores)
        report = score_session(
            observed,
            self.reference,
            strictness=self.strictness,
            population=self.models.population,
            model_version=self.models.recordings.metadata.version,
            include_ghost=False,
        )
        return LiveSummary(report.to_dict(), observed.poses)


def _mid(summary: UnitSummary) -> float:
    """The middle frame of a summarised unit."""
    return (summary.unit.start + summary.unit.end) / 2


def _shifted(summary: UnitSummary, frames: int) -> UnitSummary:
    """``summary`` with its unit moved by ``frames``."""
    unit = summary.unit
    return replace(summary, unit=Unit(unit.start + frames, unit.end + frames, unit.part))


def lift_together(sessions: list[LiveSession]) -> None:
    """Lift the queued frames of several sessions (distinct, of one lifter) in one network
    pass (:func:`pose3d.lifter.lift_taken`). The lifter's passes run one at a time, so on
    return every frame queued before the call is lifted, whoever lifted it."""
    if not sessions:
        return
    with sessions[0].stream.lift_lock:
        taken = [session._take_queued() for session in sessions]
        poses = lift_taken([session.stream for session in sessions], [rows for _, rows in taken])
        for session, (batches, _), lifted in zip(sessions, taken, poses, strict=True):
            session._record(batches, lifted)
