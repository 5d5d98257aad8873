"""What live cues are judged against: the labels as far as the stream reported."""

from dataclasses import replace

from lab.live_eval import reported_part
from synthetic_data.clip import ErrorLabel
from synthetic_data.generator import ClipRequest, generate_clip


def test_labels_are_cut_at_the_last_reported_repetition():
    """A label over both squats (the live stream reported the first) ends where the
    report did; one that starts after it is left for the closing summary; one before it is
    kept whole. Kept whole, the first label would halve a found cue's timing IoU."""
    clip = generate_clip(ClipRequest(seed=3, movement="squat", num_reps=2, tempo=1.0))
    fps = clip.fps
    labels = [
        ErrorLabel("rounded_back", "spine", 0, 90, 0.8),  # both squats
        ErrorLabel("shallow_squat", "hips", 10, 40, 0.5),  # the first only
        ErrorLabel("heels_lifting", "left_leg", 60, 80, 0.5),  # after the report
    ]
    judged = reported_part(replace(clip, errors=labels), reported_s=45 / fps)
    assert [(e.kind, e.start_frame, e.end_frame) for e in judged.errors] == [
        ("rounded_back", 0, 45),
        ("shallow_squat", 10, 40),
    ]
    assert reported_part(replace(clip, errors=labels), reported_s=0.0).errors == []
