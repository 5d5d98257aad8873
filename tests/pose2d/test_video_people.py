"""Server-side video with two people: the real pose model finds both, and the person
filmed is followed (pose2d.video with pose2d.people).

Needs the mediapipe 0.10.21 wheel (the ``pose_task`` fixture: conftest.py); skipped with
the reason when pip cannot get it. The video is ``bench.video_people``'s.
"""

from __future__ import annotations

import numpy as np
import pytest

from bench.video_people import FRAMES, OTHER_X, USER_FROM, USER_X, WIDTH, write_people_video
from pose2d.video import extract_keypoints
from pose3d.skeleton import MEDIAPIPE33

pytest.importorskip("cv2")


@pytest.mark.slow
def test_the_person_filmed_is_followed_not_the_one_beside(pose_task, tmp_path):
    """Someone smaller stands to the side from the first frame; the filmed person steps
    in at frame USER_FROM. A tracker of one person stays on the first (the extraction
    before pose2d.people did); the filmed one is followed, and nobody in the frames
    before."""
    video = write_people_video(tmp_path / "two.mp4", FRAMES)
    sequence = extract_keypoints(video, pose_task, 1000)
    scale = sequence.image_width / WIDTH
    nose = sequence.keypoints[:, MEDIAPIPE33.index("nose")]
    found = np.isfinite(nose).all(axis=1)
    assert not found[:USER_FROM].any()  # only the other person was in view
    assert found[USER_FROM:].mean() > 0.9
    assert ((nose[found, 0] > USER_X[0] * scale) & (nose[found, 0] < USER_X[1] * scale)).all()
    assert not (nose[found, 0] < OTHER_X[1] * scale).any()
    # It is the bobbing one: the nose follows the 60-px bob.
    expected = 60 * scale * np.sin(2 * np.pi * np.arange(FRAMES) / 30)
    moved = nose[:, 1] - np.nanmean(nose[:, 1])
    assert np.corrcoef(moved[found], expected[found])[0, 1] > 0.95
    (note,) = sequence.notes
    assert note.startswith("Other people were in view; the coach followed you")
