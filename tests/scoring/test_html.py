"""The HTML report: one self-contained page with the score, segments, cues and images,
truthful (scores beside their cues, a legend that matches the timeline's bars, the
trainer at the frame matched to the user's, a visibly corrected ghost, units on every
axis), readable on a phone, and where nothing a user or trainer typed can inject markup."""

import re
import shutil
from html.parser import HTMLParser

import numpy as np
import pytest

from scoring import ObservedSession, PopulationModel, score_session
from scoring.features import F, compute_features
from scoring.html import (
    ALIGNMENT_ANGLES,
    alignment_figure,
    kind_colours,
    render_html,
    shown_motion,
    worst_moments,
    write_html,
)
from scoring.matching import match_session
from scoring.reference import Reference
from scoring.report import ErrorEvent, Note, SessionReport
from synthetic_data.errors import ErrorPlan
from synthetic_data.generator import ClipRequest, generate_clip, trainer_clip

INJECTION = '<script>alert("x")</script><img src=x onerror=alert(1)>'


class Page(HTMLParser):
    """The parts of a page the tests read: every tag with its attributes, in order, and
    the text inside each element of interest (by id or class)."""

    def __init__(self, page: str):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.texts: dict[str, list[str]] = {}
        self._open: list[tuple[str, str]] = []
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if tag in ("img", "meta", "i"):
            return
        key = attributes.get("id") or attributes.get("class") or ""
        self._open.append((tag, key))
        if key:
            self.texts.setdefault(key, []).append("")

    def handle_endtag(self, tag):
        while self._open and self._open.pop()[0] != tag:
            pass

    def handle_data(self, data):
        for _, key in self._open:
            if key:
                self.texts[key][-1] += data

    def all(self, tag: str, **attributes) -> list[dict]:
        wanted = attributes.items()
        return [a for t, a in self.tags if t == tag and all(a.get(k) == v for k, v in wanted)]


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
        "segments": {"spine": 55.0, "hips": 91.0, "left_leg": 80.0, "right_leg": 85.0},
        "reps": 3,
        "tempo": {"mean": 1.2},
        "errors": list(errors),
        "notes": [Note.over("rounded_back", "spine", 0.0, 1.0, message) for message in notes],
        "model_version": "test-1",
        "duration_s": len(poses) / fps,
        **fields,
    }
    return SessionReport(**values)


ERRORS = [
    _event(start=1.0, severity=0.9, cue="Keep your chest up"),
    _event("knees_caving_in", "left_leg", 2.0, 0.5, "Push your knees out"),
    _event("knees_caving_in", "right_leg", 2.0, 0.4, "Push your knees out"),
    _event("shallow_squat", "hips", 4.0, 0.3, "Sit deeper"),
    _event("off_beat", "timing", 5.0, 0.5, "Stay on the beat"),
]


def test_the_page_shows_score_segments_cues_and_the_worst_moments(session):
    reference, poses, fps = session
    page = render_html(_report(poses, fps, ERRORS), poses, fps, reference, title="Leg day")
    parsed = Page(page)
    assert page.startswith("<!doctype html>") and page.rstrip().endswith("</html>")
    assert "<title>Leg day</title>" in page and "<h1>Leg day</h1>" in page
    assert '<p class="score">73<small>/100</small></p>' in page
    assert "3 repetitions, tempo 1.20x" in page and "model test-1" in page
    # Each segment's score beside its number of cues.
    segments = re.findall(r"<li>([a-z ]+) <b>(\d+)</b> <small>([^<]+)</small></li>", page)
    assert segments == [
        ("spine", "55", "1 cue"),
        ("hips", "91", "1 cue"),
        ("left leg", "80", "1 cue"),
        ("right leg", "85", "1 cue"),
    ]
    # Every error is listed, numbered, with its cue.
    cues = [parsed.texts[f"cue-{n}"][0] for n in range(1, len(ERRORS) + 1)]
    assert cues[1].startswith("Push your knees out 2.0-3.0 s, left leg, knees caving in")
    # Self-contained: the alignment plot and one moment per distinct cue on a body part.
    assert len(parsed.all("img")) == 1 + 3
    assert "http://" not in page and "https://" not in page
    assert "What we could not judge" not in page


def test_one_panel_per_distinct_cue(session):
    """Both knees caving at the same time made the same panel twice."""
    reference, poses, fps = session
    page = render_html(_report(poses, fps, ERRORS), poses, fps, reference)
    captions = Page(page).texts["moment"]
    for cue in ("Keep your chest up", "Push your knees out", "Sit deeper"):
        assert sum(c.startswith(cue) for c in captions) == 1, captions
    knees = next(c for c in captions if c.startswith("Push your knees out"))
    assert "left leg and right leg" in knees  # the one panel names both knees
    assert not any("Stay on the beat" in c for c in captions)  # no pose to correct


@pytest.mark.slow  # renders every plot of a report
def test_every_image_has_alt_text_and_the_page_fits_a_phone(session):
    reference, poses, fps = session
    parsed = Page(render_html(_report(poses, fps, ERRORS), poses, fps, reference))
    images = parsed.all("img")
    assert images and all(len(img.get("alt") or "") > 20 for img in images)
    assert all(img["src"].startswith("data:image/png;base64,") for img in images)
    (viewport,) = parsed.all("meta", name="viewport")
    assert "width=device-width" in viewport["content"]
    page = render_html(_report(poses, fps, ERRORS), poses, fps, reference)
    assert "img{display:block;width:100%;max-width:640px" in page and "@media print" in page


def test_the_timeline_names_each_error_and_its_legend_matches_the_colours(session):
    reference, poses, fps = session
    report = _report(poses, fps, ERRORS)
    page = render_html(report, poses, fps, reference)
    parsed = Page(page)
    assert "darker" not in page  # the old title promised a shading it did not draw
    legend = {
        text: colour
        for colour, text in re.findall(r'<li><i style="background:(#\w+)"></i>([^<]+)</li>', page)
    }
    assert set(legend) == {"rounded back", "knees caving in", "shallow squat", "off beat"}
    assert len(set(legend.values())) == len(legend)  # one colour per error
    bars = parsed.all("a", **{"class": "bar"})
    assert len(bars) == len(ERRORS)
    numbers = sorted(int(bar["href"].removeprefix("#cue-")) for bar in bars)
    assert numbers == list(range(1, len(ERRORS) + 1))  # each bar links to its own cue
    for bar in bars:
        number = int(bar["href"].removeprefix("#cue-"))
        kind = ERRORS[number - 1].kind.replace("_", " ")
        assert bar["title"].startswith(f"{number}. {kind}, ") and bar["title"] == bar["aria-label"]
        assert f"background:{legend[kind]};" in bar["style"]
        assert bar["href"] == f"#cue-{number}" and parsed.all("li", id=f"cue-{number}")
    assert kind_colours(ERRORS)["knees_caving_in"][0] == legend["knees caving in"]
    ticks = parsed.texts["track axis"][0]
    assert "0 s" in ticks and "5 s" in ticks


def test_every_plot_axis_carries_its_unit(session):
    reference, poses, fps = session
    matched = match_session(ObservedSession(poses, fps), reference)
    trainer = reference.template_features[matched.track_index]
    figure = alignment_figure(matched.features, trainer, fps)
    assert len(figure.axes) == len(ALIGNMENT_ANGLES)
    for ax, angle in zip(figure.axes, ALIGNMENT_ANGLES, strict=True):
        assert ax.get_title(loc="left") == angle.replace("_", " ")
        assert ax.get_xlabel() == "time (s)" and ax.get_ylabel() == "angle (deg)"


def _turned(poses: np.ndarray, degrees: float) -> np.ndarray:
    """``poses`` seen by a camera turned ``degrees`` about the vertical (y)."""
    a = np.radians(degrees)
    rotation = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
    return poses @ rotation.T


def test_the_trainer_is_drawn_at_the_frame_matched_to_the_users_and_facing_the_same_way():
    """The trainer was drawn in another pose: filmed by another camera, and not turned.
    A user doing the trainer's own motion, filmed from 60 degrees to the side, must see
    the trainer in their own pose, at the template frame DTW matched to each frame."""
    trainer = trainer_clip("squat")
    reference = Reference.from_poses(trainer.h36m17(), trainer.fps, "squat")
    user = _turned(trainer.h36m17().astype(np.float64), 60.0)
    errors = [_event("knees_caving_in", "left_leg", 2.0, 0.6, "Push your knees out")]
    report = _report(user, trainer.fps, errors)
    motion = shown_motion(report, user, trainer.fps, reference)
    (moment,) = worst_moments(report, motion)
    t = moment.user_frame
    assert (
        moment.trainer_frame
        == match_session(ObservedSession(user, trainer.fps), reference).track_index[t]
    )
    # The pose drawn is that template frame's (angles kept), turned onto the user's.
    drawn = compute_features(motion.trainer[[t, t]])[0]
    template = reference.template_features[moment.trainer_frame]
    assert np.allclose(
        drawn[[F["knee_flexion_left"], F["spine_flexion"]]],
        template[[F["knee_flexion_left"], F["spine_flexion"]]],
        atol=1.0,
    )
    assert np.abs(motion.trainer[t] - motion.user[t]).max() < 0.05  # metres
    page = render_html(report, user, trainer.fps, reference)
    assert f"frame {moment.trainer_frame} of the trainer" in page


def test_the_ghost_shows_a_visible_correction_and_says_how_large(session):
    """The corrected figure barely differed from the user's (a stored report has no
    ghost, so the page drew the user twice)."""
    reference, poses, fps = session
    report = score_session(ObservedSession(poses, fps), reference, include_ghost=False)
    assert [e.kind for e in report.errors] == ["rounded_back"]
    motion = shown_motion(report, poses, fps, reference)
    (moment,) = worst_moments(report, motion)
    t = moment.user_frame
    assert moment.correction_m > 0.08  # the thorax moves by more than 8 cm
    spine = F["spine_flexion"]
    flexion = compute_features(np.stack([motion.user[t], motion.ghost[t], motion.trainer[t]]))
    user, ghost, trainer = flexion[:, spine]
    assert abs(ghost - trainer) < 3 and user - ghost > 15  # degrees
    page = render_html(report, poses, fps, reference)
    assert f"the largest change is {moment.correction_m * 100:.0f} cm" in page


def test_a_session_without_errors_says_so(session):
    reference, poses, fps = session
    page = render_html(_report(poses, fps, []), poses, fps, reference)
    assert "No form errors found" in page and "<p>None.</p>" in page
    assert len(Page(page).all("img")) == 1


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
    # title, heading, cue (listed and captioned), note, strictness, model
    assert page.count(escaped) == 7
    assert "<h2>What we could not judge</h2>" in page


def test_the_report_is_written_where_asked(tmp_path):
    path = write_html(tmp_path / "reports" / "today" / "session.html", "<!doctype html>é")
    assert path.read_text() == "<!doctype html>é"


def _browser():
    """Headless Chromium through Selenium, or the reason the test cannot have one."""
    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        pytest.skip("needs chromium and chromedriver (Debian: chromium, chromium-driver)")
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    return webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)


@pytest.mark.slow
def test_the_page_fits_a_phone_in_a_real_browser(session, tmp_path):
    """At 360 and 390 px nothing overflows sideways (the segment table cut off "right
    arm" before) and every image fits its column."""
    reference, poses, fps = session
    population = PopulationModel.load()
    report = score_session(ObservedSession(poses, fps), reference, population=population)
    path = write_html(tmp_path / "page.html", render_html(report, poses, fps, reference))
    browser = _browser()
    try:
        for width in (360, 390, 1280):
            browser.set_window_size(width, 900)
            browser.get(path.as_uri())
            inner = browser.execute_script("return document.documentElement.clientWidth")
            scroll = browser.execute_script("return document.documentElement.scrollWidth")
            assert scroll <= inner <= width, (width, inner, scroll)
            widest = browser.execute_script(
                "return Math.max(...[...document.images].map(i => i.getBoundingClientRect().right))"
            )
            assert widest <= inner
    finally:
        browser.quit()
