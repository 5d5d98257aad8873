"""Replaying clips through the live socket's session (coach evaluate-scoring --live)."""

import pytest

from lab.live_eval import live_models, live_result, replay_live
from scoring import PopulationModel
from synthetic_data.errors import ErrorPlan
from synthetic_data.generator import ClipRequest, generate_clip

pytestmark = pytest.mark.slow  # whole clips lifted and judged frame by frame


@pytest.fixture(scope="module")
def population() -> PopulationModel:
    return PopulationModel.load()


@pytest.fixture
def judged(monkeypatch) -> list[tuple]:
    """Each live check's ``score_session`` call, as ``(observed, options)``, in order."""
    import scoring.live

    calls = []
    judge = scoring.live.score_session

    def recording(observed, reference, **options):
        calls.append((observed, options))
        return judge(observed, reference, **options)

    monkeypatch.setattr(scoring.live, "score_session", recording)
    return calls


def _arm_raise(*errors: ErrorPlan):
    request = ClipRequest(seed=4, movement="arm_raise", num_reps=6, errors=list(errors), tempo=1.0)
    return generate_clip(request)


def test_live_cues_flag_the_lowered_arms_in_their_repetitions(population):
    clip = _arm_raise(ErrorPlan("arms_not_raised", 1.0, "both", 2, 3))
    events, reported_s = replay_live(clip, 0, live_models(population), {}, "intermediate")
    spans = [(lb.start_frame / clip.fps, lb.end_frame / clip.fps) for lb in clip.errors]
    assert reported_s >= max(end for _, end in spans)  # the later repetitions were sent
    arms = [e for e in events if e.kind == "arms_not_raised"]
    assert all(any(e.start_s < b and a < e.end_s for a, b in spans) for e in arms)
    for a, b in spans:  # both lowered repetitions, each arm
        assert {e.segment for e in arms if e.start_s < b and a < e.end_s} == {
            "left_arm",
            "right_arm",
        }


def test_live_results_count_only_what_was_reported(population):
    correct, faulty = _arm_raise(), _arm_raise(ErrorPlan("arms_not_raised", 1.0, "both", 5, 5))
    result = live_result([correct, faulty], population, "intermediate")
    # The error is in the last repetition, which is never finished while streaming.
    assert result.correct == 1 and result.tallies["arms_not_raised"].labels == 0


def test_a_dance_streamed_with_its_beats_is_judged_on_the_beat(population):
    """Live, a routine to music is cut on its beat grid and lifted again by the
    recordings model: a correct dance draws no cue (it drew false off-beat cues on most
    moves), a late one is called late where it was."""
    models = live_models(population)

    def dance(*errors: ErrorPlan):
        request = ClipRequest(seed=6, movement="dance", num_reps=3, errors=list(errors))
        return generate_clip(request)

    events, reported_s = replay_live(dance(), 0, models, {}, "intermediate")
    assert events == [] and reported_s > 10
    late = dance(ErrorPlan("off_beat", 1.0, "late", 5, 6))
    events, _ = replay_live(late, 0, models, {}, "intermediate")
    spans = [(lb.start_frame / late.fps, lb.end_frame / late.fps) for lb in late.errors]
    calls = [e for e in events if e.kind == "off_beat"]
    assert calls and all(e.detail == "late" for e in calls)
    assert all(any(e.start_s < b and a < e.end_s for a, b in spans) for e in calls)


def test_each_check_judges_the_new_repetition_against_the_kept_earlier_ones(
    population, monkeypatch, judged
):
    """After the first repetitions a check lifts and judges only the newly finished one
    and the STRETCH_CONTEXT_REPS before it (not its 8 predecessors), and compares it with
    what the detector kept of the earlier ones: its cost stays flat, and the cues still
    land."""
    import scoring.live

    cleaned = []  # frames put through the 2D front end (and lifted) per check
    clean = scoring.live.clean_keypoints

    def counting(keypoints, *args, **options):
        cleaned.append(len(keypoints))
        return clean(keypoints, *args, **options)

    monkeypatch.setattr(scoring.live, "clean_keypoints", counting)
    request = ClipRequest(
        seed=4, movement="arm_raise", num_reps=10, tempo=1.0,
        errors=[ErrorPlan("arms_not_raised", 1.0, "both", 6, 7)],
    )  # fmt: skip
    clip = generate_clip(request)
    events, _ = replay_live(clip, 0, live_models(population), {}, "intermediate")
    stretches = [(len(obs.poses), len(opts.get("earlier_units", ()))) for obs, opts in judged]
    rep_frames = clip.num_frames / 10
    late = stretches[3:]
    bound = (scoring.live.STRETCH_CONTEXT_REPS + 1.6) * rep_frames
    assert scoring.live.STRETCH_CONTEXT_REPS < 4 and late
    assert max(frames for frames, _ in late) < bound
    # Frames lifted with their whole future by the last check are not lifted again: the
    # new repetition, with a receptive field's half and a second of front-end context.
    assert max(cleaned[3:]) < 1.6 * rep_frames + 40 + clip.fps + 40
    assert max(earlier for _, earlier in late) >= 5  # earlier repetitions, kept
    spans = [(lb.start_frame / clip.fps, lb.end_frame / clip.fps) for lb in clip.errors]
    arms = [e for e in events if e.kind == "arms_not_raised"]
    assert arms and all(any(e.start_s < b and a < e.end_s for a, b in spans) for e in arms)


def test_a_long_dance_is_judged_over_its_last_cycles_on_the_beat(population, judged):
    """A routine to music is judged like any session: each check lifts and judges the
    newly finished cycle and STRETCH_CONTEXT_REPS before it, so its cost does not grow
    with the session (it was judged from its start every cycle). Its stretches start on a
    beat's rounded frame, often just after the beat: that beat still anchors the
    stretch's first move, so a correct dance draws no cue and a late move is called late
    where it was (dropped, every move was matched a beat off)."""
    models = live_models(population)

    def dance(*errors: ErrorPlan):
        request = ClipRequest(seed=8, movement="dance", num_reps=7, errors=list(errors))
        return generate_clip(request)

    correct = dance()
    events, reported_s = replay_live(correct, 0, models, {}, "intermediate")
    assert events == [] and reported_s > 0.8 * correct.num_frames / correct.fps
    stretches = [(len(observed.poses), observed.beat_times[0]) for observed, _ in judged]
    cycle = correct.num_frames / 7
    late_checks = stretches[3:]
    assert late_checks and max(frames for frames, _ in late_checks) < 3.3 * cycle
    assert all(
        -0.5 / correct.fps <= first_beat < 0.5 / correct.fps for _, first_beat in late_checks
    )
    late = dance(ErrorPlan("off_beat", 1.0, "late", 21, 22))  # moves of the sixth cycle
    events, _ = replay_live(late, 0, models, {}, "intermediate")
    spans = [(lb.start_frame / late.fps, lb.end_frame / late.fps) for lb in late.errors]
    calls = [e for e in events if e.kind == "off_beat"]
    assert calls and all(e.detail == "late" for e in calls)
    assert all(any(e.start_s < b and a < e.end_s for a, b in spans) for e in calls)
