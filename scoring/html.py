"""The HTML report a person opens after a session: self-contained (images inline, no
script), readable on a phone (360 px up) and printable.

Shows the score, each segment's score beside its number of cues, the cues, an error
timeline (HTML bars, one colour per error with its legend, each bar numbered as its cue),
the alignment (the user's key angles against the trainer's at the matched moments, in
degrees over seconds) and, once per distinct cue, the moment it was worst: the user, the
trainer at the frame DTW matched to it (on the user's body, facing the user's way) and
the corrected "ghost", its corrected bones drawn in another colour and the size of the
correction stated.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from pose3d.skeleton import H36M17
from scoring.checks import ALL_CHECKS
from scoring.features import SEGMENT_FEATURES, F
from scoring.matching import MatchedSession, match_session
from scoring.observed import ObservedSession
from scoring.reference import Reference
from scoring.report import ErrorEvent, SessionReport
from scoring.session import GHOST_JOINTS, ghost_motion, trainer_on_user

# Okabe-Ito colours (told apart with the common colour-vision deficiencies), each with
# the text colour that reads on it; error kinds take them in order of first appearance.
KIND_COLOURS = (
    ("#0072B2", "#fff"),
    ("#D55E00", "#fff"),
    ("#009E73", "#fff"),
    ("#CC79A7", "#000"),
    ("#E69F00", "#000"),
    ("#56B4E9", "#000"),
    ("#444444", "#fff"),
    ("#F0E442", "#000"),
)
# The angles the alignment plot draws (degrees), and the most worst moments drawn.
ALIGNMENT_ANGLES = ("knee_flexion_left", "spine_flexion", "arm_elevation_left", "hip_flexion_left")
MAX_MOMENTS = 4
# Figures 4.8 in wide at 130 dpi (624 px): shown at most 640 px wide, and their 8-9 pt
# text still about 9 px high once shrunk to a 360 px phone.
FIGURE_WIDTH_IN, DPI = 4.8, 130
# Errors a side view shows (the checks' "sagittal" ones); the others are drawn from the front.
SIDE_VIEW = {check.kind: check.view == "sagittal" for check in ALL_CHECKS}
CHECKS = {(check.kind, check.segment): check for check in ALL_CHECKS}
YOU, TRAINER, CORRECTED, WRONG = "#222222", "#0072B2", "#009E73", "#D55E00"

STYLE = """*{box-sizing:border-box}
body{font-family:system-ui,sans-serif;max-width:980px;margin:0 auto;padding:1em;
color:#222;line-height:1.4;overflow-wrap:anywhere}
h1{margin:0 0 .2em;font-size:1.6em} .score{font-size:3em;font-weight:700;margin:0}
img{display:block;width:100%;max-width:640px;height:auto}
.segments{display:flex;flex-wrap:wrap;gap:.5em;list-style:none;padding:0}
.segments li{flex:1 1 6.5em;border:1px solid #ccc;border-radius:.4em;padding:.3em .5em;
text-align:center}
.segments b{display:block;font-size:1.4em} .segments small{color:#555}
.cues li{margin:.3em 0} .cues span{color:#555;font-size:.9em}
.legend{display:flex;flex-wrap:wrap;gap:.3em 1em;list-style:none;padding:0;font-size:.9em}
.legend i{display:inline-block;width:1em;height:1em;vertical-align:-.15em;margin-right:.3em}
.timeline .row{display:flex;align-items:center;gap:.5em;margin:.2em 0}
.timeline .name{flex:0 0 4.8em;font-size:.85em;text-align:right}
.timeline .track{position:relative;flex:1 1 auto;min-width:0;height:1.5em;background:#eee}
.timeline .bar{position:absolute;top:0;bottom:0;min-width:1.1em;border-left:1px solid #fff;
font-size:.75em;line-height:2em;text-align:center;text-decoration:none;overflow:hidden}
.timeline .axis{background:none;height:1.3em;font-size:.75em;color:#555}
.timeline .axis span{position:absolute;white-space:nowrap}
figure{margin:1em 0} figcaption{font-size:.9em;color:#444}
@media print{body{max-width:none;padding:0}a{color:inherit;text-decoration:none}
figure,.timeline{break-inside:avoid}.timeline .bar,.legend i{print-color-adjust:exact;
-webkit-print-color-adjust:exact}}"""


@dataclass(frozen=True)
class ShownMotion:
    """The three motions the page draws, one pose per user frame, root-relative
    ``(T, 17, 3)`` metres.

    Attributes:
        matched: The session matched to the reference as scoring matched it.
        user: The user's poses.
        trainer: The trainer's template pose DTW matched to each user frame, on the
            user's body, facing the user's way (:func:`scoring.session.trainer_on_user`).
        ghost: The user corrected where the report's cues flag a segment
            (:func:`scoring.session.ghost_motion`).
    """

    matched: MatchedSession
    user: np.ndarray
    trainer: np.ndarray
    ghost: np.ndarray


@dataclass(frozen=True)
class Moment:
    """One cue at the frame its check's signal is largest, as the page draws it.

    Attributes:
        cue: The cue's words.
        events: The cue's events at that frame (both knees, say).
        user_frame: The user's frame shown.
        trainer_frame: The trainer's template frame DTW matched to ``user_frame``.
        corrected_joints: The joints the correction moves.
        correction_m: The largest distance a corrected joint moves (metres).
    """

    cue: str
    events: tuple[ErrorEvent, ...]
    user_frame: int
    trainer_frame: int
    corrected_joints: tuple[int, ...]
    correction_m: float


def shown_motion(
    report: SessionReport,
    user_poses: np.ndarray,
    fps: float,
    reference: Reference,
    beat_times: Sequence[float] | None = None,
) -> ShownMotion:
    """Match ``user_poses`` to ``reference`` as scoring did (the same beats) and build
    the trainer and the ghost the page draws."""
    matched = match_session(ObservedSession(user_poses, fps, beat_times=beat_times), reference)
    user = np.asarray(user_poses, dtype=np.float64)
    ghost = ghost_motion(matched, report.errors)
    return ShownMotion(matched, user - user[:, :1], trainer_on_user(matched), ghost - ghost[:, :1])


def worst_moments(report: SessionReport, motion: ShownMotion) -> list[Moment]:
    """One moment per distinct cue on a body segment (timing cues have no pose to
    correct), the worst first, at most :data:`MAX_MOMENTS`: the cue's most severe event,
    at its frame where the check's signal (user against trainer) is largest, or its
    middle for a cue no 3D check measures (heels, from the 2D feet)."""
    by_cue: dict[str, list[ErrorEvent]] = {}
    for event in report.errors:
        if event.segment in GHOST_JOINTS:
            by_cue.setdefault(event.cue, []).append(event)
    matched = motion.matched
    trainer_features = matched.reference.template_features[matched.track_index]
    fps, frames = matched.fps, len(motion.user)
    moments = []
    for cue, events in by_cue.items():
        worst = max(events, key=lambda e: e.severity * e.confidence)
        start = min(frames - 1, int(worst.start_s * fps))
        stop = max(start + 1, min(frames, int(np.ceil(worst.end_s * fps))))
        check = CHECKS.get((worst.kind, worst.segment))
        if check is None:
            t = (start + stop - 1) // 2
        else:
            signal = check.signal(matched.features[start:stop], trainer_features[start:stop])
            t = start + int(np.argmax(signal))
        shown = tuple(e for e in events if e.start_s <= t / fps <= e.end_s) or (worst,)
        corrected = sorted({j for e in shown for j in GHOST_JOINTS[e.segment]})
        moved = np.linalg.norm(motion.ghost[t, corrected] - motion.user[t, corrected], axis=1)
        moments.append(
            Moment(
                cue,
                shown,
                t,
                int(matched.track_index[t]),
                tuple(corrected),
                float(moved.max()),
            )
        )
    moments.sort(key=lambda m: -max(e.severity * e.confidence for e in m.events))
    return moments[:MAX_MOMENTS]


def _png(fig: Figure) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode()


def _img(fig: Figure, alt: str) -> str:
    return f'<img src="data:image/png;base64,{_png(fig)}" alt="{html.escape(alt)}">'


def _words(name: str) -> str:
    return name.replace("_", " ")


def alignment_figure(user_features: np.ndarray, matched: np.ndarray, fps: float) -> Figure:
    """The user's :data:`ALIGNMENT_ANGLES` and the trainer's at the matched moments,
    degrees over seconds."""
    seconds = np.arange(len(user_features)) / fps
    rows = len(ALIGNMENT_ANGLES)
    fig, axes = plt.subplots(rows, 1, figsize=(FIGURE_WIDTH_IN, 1.7 * rows))
    for ax, name in zip(axes, ALIGNMENT_ANGLES, strict=True):
        ax.plot(seconds, matched[:, F[name]], color=TRAINER, lw=2, alpha=0.6, label="trainer")
        ax.plot(seconds, user_features[:, F[name]], color=YOU, lw=1, label="you")
        ax.set_title(_words(name), fontsize=9, loc="left")
        ax.set_ylabel("angle (deg)", fontsize=8)
        ax.set_xlabel("time (s)", fontsize=8)
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    return fig


def view_axes(poses: np.ndarray, side: bool) -> np.ndarray:
    """``(2, 3)`` the screen's horizontal and upward axes for drawing ``poses`` (T, 17, 3)
    seen from the front or, with ``side``, from the side. Taken from the body itself
    (up: pelvis to thorax; across: left hip to right hip), so lifted camera-space poses
    (y down) and world-space clips (y up) are drawn upright alike."""
    up = np.median(poses[:, H36M17.index("thorax")] - poses[:, 0], axis=0)
    up /= np.linalg.norm(up) + 1e-12
    across = np.median(poses[:, H36M17.index("right_hip")] - poses[:, H36M17.index("left_hip")], 0)
    across -= (across @ up) * up
    across /= np.linalg.norm(across) + 1e-12
    return np.stack([np.cross(up, across) if side else across, up])


def _draw(ax, pose: np.ndarray, axes: np.ndarray, colour: str, bones=H36M17.bones, **style):
    flat = pose @ axes.T  # (17, 2) on the screen
    for parent, child in bones:
        ax.plot(flat[[parent, child], 0], flat[[parent, child], 1], color=colour, **style)


def seen_from_side(moment: Moment) -> bool:
    """Whether the moment's errors show better from the side (a rounded back, depth, a
    knee past the toes) than from the front (knees caving in, arms)."""
    return all(SIDE_VIEW.get(e.kind, False) for e in moment.events)


def moment_figure(moment: Moment, motion: ShownMotion) -> Figure:
    """You, the trainer at the matched frame, and you corrected: the corrected bones in
    green over yours in dashed orange, the size of the correction in the title."""
    t = moment.user_frame
    axes2d = view_axes(motion.user, seen_from_side(moment))
    flagged = [b for b in H36M17.bones if b[1] in moment.corrected_joints]
    fig, axes = plt.subplots(1, 3, figsize=(FIGURE_WIDTH_IN, 2.4))
    _draw(axes[0], motion.user[t], axes2d, YOU, lw=2)
    _draw(axes[1], motion.trainer[t], axes2d, TRAINER, lw=2)
    _draw(axes[2], motion.ghost[t], axes2d, "#bbbbbb", lw=2)
    _draw(axes[2], motion.user[t], axes2d, WRONG, flagged, lw=1.5, ls="--")
    _draw(axes[2], motion.ghost[t], axes2d, CORRECTED, flagged, lw=3)
    titles = (
        f"you ({t / motion.matched.fps:.1f} s)",
        f"trainer (frame {moment.trainer_frame})",
        f"corrected ({moment.correction_m * 100:.0f} cm)",
    )
    # One square window around all three bodies, so they are drawn at the same scale.
    bodies = (motion.user[t], motion.trainer[t], motion.ghost[t])
    flat = np.concatenate([pose @ axes2d.T for pose in bodies])
    centre = (flat.max(axis=0) + flat.min(axis=0)) / 2
    half = (flat.max(axis=0) - flat.min(axis=0)).max() / 2 + 0.1
    for ax, title in zip(axes, titles, strict=True):
        ax.set_title(title, fontsize=9)
        ax.set_aspect("equal")
        ax.set_xlim(centre[0] - half, centre[0] + half)
        ax.set_ylim(centre[1] - half, centre[1] + half)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return fig


def _moment_html(moment: Moment, motion: ShownMotion) -> str:
    t_s = moment.user_frame / motion.matched.fps
    kinds = ", ".join(sorted({_words(e.kind) for e in moment.events}))
    segments = " and ".join(sorted({_words(e.segment) for e in moment.events}))
    size = f"{moment.correction_m * 100:.0f} cm"
    seen = "side" if seen_from_side(moment) else "front"
    alt = (
        f"Three skeletons seen from the {seen} at {t_s:.1f} s ({kinds}): you; the trainer "
        "at the matched moment; "
        f"you corrected, the {segments} moved by up to {size} to the trainer's position."
    )
    caption = (
        f"<b>{html.escape(moment.cue)}</b>: {html.escape(kinds)} at {t_s:.1f} s. "
        f"The trainer is shown at the moment matched to yours (frame {moment.trainer_frame}"
        f" of the trainer's repetition). Corrected: your {html.escape(segments)} in green "
        f"where it should be, yours dashed; the largest change is {size}."
    )
    return (
        f'<figure class="moment">{_img(moment_figure(moment, motion), alt)}'
        f"<figcaption>{caption}</figcaption></figure>"
    )


def kind_colours(errors: Sequence[ErrorEvent]) -> dict[str, tuple[str, str]]:
    """Each error kind's (bar, text) colours, in order of first appearance."""
    kinds = list(dict.fromkeys(e.kind for e in errors))
    return {k: KIND_COLOURS[i % len(KIND_COLOURS)] for i, k in enumerate(kinds)}


def _ticks(duration_s: float) -> list[float]:
    """Round seconds along the axis, six at most."""
    step = next((s for s in (1, 2, 5, 10, 15, 30, 60, 120, 300) if duration_s / s <= 6), 600)
    return list(np.arange(0.0, duration_s + 1e-9, step))


def _timeline(report: SessionReport) -> str:
    """Rows of bars per segment: colour by error kind (the legend above), the number
    of the bar's cue in the list, its name, times and severity in its title."""
    duration = max(report.duration_s, max((e.end_s for e in report.errors), default=0.0), 1e-9)
    colours = kind_colours(report.errors)
    legend = "".join(
        f'<li><i style="background:{bg}"></i>{html.escape(_words(kind))}</li>'
        for kind, (bg, _) in colours.items()
    )
    rows = []
    for segment in [*SEGMENT_FEATURES, "timing"]:
        bars = []
        for number, event in enumerate(report.errors, 1):
            if event.segment != segment:
                continue
            bg, fg = colours[event.kind]
            left = 100 * event.start_s / duration
            width = 100 * (event.end_s - event.start_s) / duration
            label = (
                f"{number}. {_words(event.kind)}, {event.start_s:.1f}-{event.end_s:.1f} s, "
                f"severity {event.severity:.2f}"
            )
            bars.append(
                f'<a class="bar" href="#cue-{number}" style="left:{left:.2f}%;'
                f'width:{width:.2f}%;background:{bg};color:{fg}" title="{html.escape(label)}"'
                f' aria-label="{html.escape(label)}">{number}</a>'
            )
        rows.append(
            f'<div class="row"><span class="name">{_words(segment)}</span>'
            f'<div class="track">{"".join(bars)}</div></div>'
        )
    # Each tick's label is shifted left by its own position, so the last stays inside.
    ticks = "".join(
        f'<span style="left:{at:.2f}%;transform:translateX(-{at:.0f}%)">{s:g} s</span>'
        for s, at in ((s, 100 * s / duration) for s in _ticks(duration))
    )
    return (
        '<div class="timeline" role="group" aria-label="errors over time">'
        f'<ul class="legend">{legend}</ul>{"".join(rows)}'
        f'<div class="row"><span class="name">time</span><div class="track axis">{ticks}'
        "</div></div></div>"
    )


def _segments(report: SessionReport) -> str:
    counts = {s: sum(e.segment == s for e in report.errors) for s in report.segments}
    return "".join(
        f"<li>{_words(s)} <b>{v:.0f}</b> <small>{counts[s] or 'no'} "
        f"cue{'' if counts[s] == 1 else 's'}</small></li>"
        for s, v in report.segments.items()
    )


def render_html(
    report: SessionReport,
    user_poses: np.ndarray,
    fps: float,
    reference: Reference,
    beat_times=None,
    title: str = "Your session",
) -> str:
    """The report page as one HTML string (``beat_times``: the session's, for a routine
    to music, so that the trainer is matched to the user as scoring matched them)."""
    motion = shown_motion(report, user_poses, fps, reference, beat_times)
    matched = reference.template_features[motion.matched.track_index]
    alignment = _img(
        alignment_figure(motion.matched.features, matched, fps),
        f"Four plots over the session's {report.duration_s:.0f} s: your "
        f"{', '.join(_words(a) for a in ALIGNMENT_ANGLES)} in degrees, each beside the "
        "trainer's at the matched moments.",
    )
    moments = "".join(_moment_html(m, motion) for m in worst_moments(report, motion))
    cues = (
        "".join(
            f'<li id="cue-{number}"><b>{html.escape(e.cue)}</b> <span>{e.start_s:.1f}-'
            f"{e.end_s:.1f} s, {_words(e.segment)}, {html.escape(_words(e.kind))}, "
            f"severity {e.severity:.2f}, confidence {e.confidence:.2f}</span></li>"
            for number, e in enumerate(report.errors, 1)
        )
        or "<li>No form errors found. Great work!</li>"
    )
    notes = "".join(f"<li>{html.escape(n.message)}</li>" for n in report.notes)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title><style>{STYLE}</style></head>
<body><h1>{html.escape(title)}</h1>
<p class="score">{report.score:.0f}<small>/100</small></p>
<p>{report.reps} repetitions, tempo {report.tempo["mean"]:.2f}x the trainer's
(strictness: {html.escape(report.strictness)}, model {html.escape(report.model_version or "-")})</p>
<h2>Body parts</h2><ul class="segments">{_segments(report)}</ul>
<h2>What to work on</h2><ol class="cues">{cues}</ol>
{"<h2>What we could not judge</h2><ul>" + notes + "</ul>" if notes else ""}
<h2>Errors over time</h2>
<p>One row per body part, one colour per error; each bar's number is its cue above.</p>
{_timeline(report)}
<h2>You against the trainer (aligned)</h2>{alignment}
<h2>The worst moments</h2>{moments or "<p>None.</p>"}
</body></html>"""


def write_html(path: str | Path, page: str) -> Path:
    """Write ``page`` to ``path`` (its folders made)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page)
    return path
