"""An exported session carries its routine's stored repetitions, so that scoring it again
uses the trainer's template the API used; a file whose repetitions do not fit is refused."""

import io

import numpy as np
import pytest

from pose3d.sequence_json import KeypointSequence
from scoring.exported import ExportedSession, RoutineMotion, read_session, session_bytes
from scoring.stored_motion import Motion
from synthetic_data.generator import trainer_clip


def _session(reps: list[tuple[int, int]] | None) -> ExportedSession:
    clip = trainer_clip("squat")
    frames = 12
    sequence = KeypointSequence(
        "mediapipe33", 30.0, 640, 480, np.zeros((frames, 33, 2)), np.ones((frames, 33))
    )
    routine = RoutineMotion(Motion(clip.h36m17(), clip.fps, reps=reps), "squat")
    return ExportedSession("k", sequence, None, routine, "intermediate", 80.0)


def test_the_routines_repetitions_travel_with_the_session():
    reps = [(10, 40), (40, 110), (110, 160)]
    read = read_session(session_bytes(_session(reps)))
    assert read.routine.motion.reps == reps
    assert read.routine.reference().template == (110, 160)
    assert read_session(session_bytes(_session(None))).routine.motion.reps is None


@pytest.mark.parametrize(
    ("stored", "problem"),
    [
        (np.array([[40, 10]], np.int32), "repetition 0 \\[40, 10\\)"),
        (np.array([[0, 10**6]], np.int32), "not within frames"),
        (np.array([0.5, 10.0]), "not \\(K, 2\\) integers"),
    ],
)
def test_stored_repetitions_that_do_not_fit_are_refused(stored, problem):
    data = session_bytes(_session([(10, 40)]))
    with np.load(io.BytesIO(data)) as archive:
        arrays = {key: archive[key] for key in archive.files}
    arrays["reference_reps"] = stored
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    with pytest.raises(ValueError, match=f"session: reference.*{problem}"):
        read_session(buffer.getvalue())
