"""The HTML report: one self-contained page with the score, segments, cues and images,
where nothing a user or trainer typed can inject markup."""

import re

import numpy as np
import pytest

from scoring.html import render_html, write_html
from scoring.reference import Reference
from scoring.report import ErrorEvent, Note, SessionReport
from synthetic_data.errors import ErrorPlan
from synthetic_data.generator import ClipRequest, generate_clip, trainer_clip

INJECTION = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture(scope="module")
def session():
    """A trainer's squat reference and a user's 3-rep squat with a rounded back."""
    trainer = trainer_clip("squat")
    reference = Reference.from_poses(trainer.h36m17(), trainer.fps, "squat")
    plan = ErrorPlan("rounded_back", 0.9, "both", 1, 1)
    user = generate_clip(ClipRequest(seed=3, movement="squat", num_reps=3, errors=[plan]))
    return reference, user.h36m17().astype(np.float64), user.fps


def _event(kind="rounded_back", segment="spine", start=1.0, severity=0.8, cue="Chest up"):
    return ErrorEvent(kind, segment, start, start + 1.0, severity, 0.9, cue)


def _report(poses, fps, errors, notes=(), **fields) -> SessionReport:
    values = {
        "score": 73.4,
        "segments": {"spine": 55.0, "hips": 91.0, "left_leg": 100.0},
        "reps": 3,
        "tempo": {"mean": 1.2},
        "errors": list(errors),
        "notes": [Note.over("rounded_back", "spine", 0.0, 1.0, message) for message in notes],
        "model_version": "test-1",
        "duration_s": len(poses) / fps,
        **fields,
    }
    return SessionReport(**values)


def _images(page: str) -> int:
    return len(re.findall(r'<img src="data:image/png;base64,[A-Za-z0-9+/=]+">', page))


def test_the_page_shows_score_segments_cues_and_the_worst_moments(session):
    reference, poses, fps = session
    errors = [
        _event(start=1.0, severity=0.9, cue="Keep your chest up"),
        _event("knees_caving_in", "left_leg", 2.0, 0.5, "Push your knees out"),
        _event("knees_caving_in", "right_leg", 3.0, 0.4, "Push your knees out"),
        _event("shallow_squat", "hips", 4.0, 0.3, "Sit deeper"),
    ]
    page = render_html(_report(poses, fps, errors), poses, fps, reference, title="Leg day")
    assert page.startswith("<!doctype html>") and page.rstrip().endswith("</html>")
    assert "<title>Leg day</title>" in page and "<h1>Leg day</h1>" in page
    assert '<p class="score">73<small>/100</small></p>' in page
    assert "3 repetitions, tempo 1.20x" in page and "model test-1" in page
    for segment, value in (("spine", 55), ("hips", 91), ("left leg", 100)):
        assert f"<td>{segment}<br><b>{value}</b></td>" in page
    assert page.count("<li><b>") == len(errors)  # every error is listed with its cue
    assert "<b>Push your knees out</b> <span>2.0-3.0 s, left leg, severity 0.50" in page
    # Self-contained: the timeline, the alignment plot and the three worst moments.
    assert _images(page) == 2 + 3
    assert "http://" not in page and "https://" not in page
    assert "What we could not judge" not in page


def test_a_session_without_errors_says_so(session):
    reference, poses, fps = session
    page = render_html(_report(poses, fps, []), poses, fps, reference)
    assert "No form errors found" in page and "<p>None.</p>" in page
    assert _images(page) == 2


def test_nothing_typed_by_a_person_becomes_markup(session):
    """The routine name (title), cues, notes, strictness and model version are escaped."""
    reference, poses, fps = session
    report = _report(
        poses,
        fps,
        [_event(cue=INJECTION)],
        notes=[INJECTION],
        model_version=INJECTION,
        strictness=INJECTION,
    )
    page = render_html(report, poses, fps, reference, title=INJECTION)
    assert "<script" not in page.lower() and "<img src=x" not in page
    escaped = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;"
    assert page.count(escaped) == 6  # title, heading, cue, note, strictness, model
    assert "<h2>What we could not judge</h2>" in page


def test_the_report_is_written_where_asked(tmp_path):
    path = write_html(tmp_path / "reports" / "today" / "session.html", "<!doctype html>é")
    assert path.read_text() == "<!doctype html>é"
