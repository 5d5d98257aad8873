"""The HTML report a person opens after a session: self-contained (images inline).

Shows the score and cues, the alignment (the user's key angles against the trainer's
at the matched moments), a per-segment error timeline, and side-by-side skeletons
(user, trainer on the user's body, corrected "ghost") at the worst moments.
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from pose3d.skeleton import H36M17
from scoring.features import SEGMENT_FEATURES, F, retarget
from scoring.matching import match_session
from scoring.observed import ObservedSession
from scoring.reference import Reference
from scoring.report import SessionReport

SEGMENT_COLOURS = {
    "spine": "tab:red",
    "hips": "tab:orange",
    "left_leg": "tab:green",
    "right_leg": "tab:olive",
    "left_arm": "tab:blue",
    "right_arm": "tab:cyan",
    "timing": "tab:purple",
}


def _png(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode()


def _alignment_plot(user_features, matched, fps) -> str:
    seconds = np.arange(len(user_features)) / fps
    shown = ("knee_flexion_left", "spine_flexion", "arm_elevation_left", "hip_flexion_left")
    fig, axes = plt.subplots(len(shown), 1, figsize=(9, 1.6 * len(shown)), sharex=True)
    for ax, name in zip(axes, shown, strict=True):
        ax.plot(
            seconds, matched[:, F[name]], color="grey", lw=2, alpha=0.6, label="trainer (aligned)"
        )
        ax.plot(seconds, user_features[:, F[name]], color="black", lw=1, label="you")
        ax.set_ylabel(name.replace("_", " "), fontsize=7)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7, loc="upper right")
    axes[-1].set_xlabel("time (s)")
    fig.tight_layout()
    return _png(fig)


def _timeline(report: SessionReport) -> str:
    segments = [*SEGMENT_FEATURES, "timing"]
    fig, ax = plt.subplots(figsize=(9, 2.4))
    for row, segment in enumerate(segments):
        for event in (e for e in report.errors if e.segment == segment):
            ax.barh(
                row,
                event.end_s - event.start_s,
                left=event.start_s,
                height=0.6,
                color=SEGMENT_COLOURS[segment],
                alpha=0.3 + 0.7 * event.severity,
            )
    ax.set_yticks(range(len(segments)))
    ax.set_yticklabels([s.replace("_", " ") for s in segments], fontsize=7)
    ax.set_xlim(0, report.duration_s)
    ax.set_xlabel("time (s)")
    ax.set_title("Errors over time (darker = more severe)", fontsize=9)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return _png(fig)


def _skeletons(poses_by_name: dict[str, np.ndarray], title: str) -> str:
    fig, axes = plt.subplots(1, len(poses_by_name), figsize=(2.6 * len(poses_by_name), 3.2))
    for ax, (name, pose) in zip(axes, poses_by_name.items(), strict=True):
        for parent, child in H36M17.bones:
            ax.plot(pose[[parent, child], 0], -pose[[parent, child], 1], color="tab:blue", lw=2)
        ax.set_title(name, fontsize=8)
        ax.set_aspect("equal")
        ax.set_xlim(-1.0, 1.0)
        ax.set_ylim(-1.1, 1.0)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return _png(fig)


def render_html(
    report: SessionReport,
    user_poses: np.ndarray,
    fps: float,
    reference: Reference,
    beat_times=None,
    title: str = "Your session",
) -> str:
    """The report page as one HTML string."""
    matched_session = match_session(
        ObservedSession(user_poses, fps, beat_times=beat_times), reference
    )
    features, index = matched_session.features, matched_session.track_index
    matched = reference.template_features[index]
    trainer = retarget(reference.template_poses[index], user_poses)
    ghost = report.ghost_poses if report.ghost_poses is not None else user_poses
    worst = sorted(report.errors, key=lambda e: -e.severity * e.confidence)[:3]
    frames_html = []
    for event in worst:
        t = min(len(user_poses) - 1, int((event.start_s + event.end_s) / 2 * fps))
        image = _skeletons(
            {
                "you": user_poses[t] - user_poses[t, 0],
                "trainer": trainer[t] - trainer[t, 0],
                "corrected": ghost[t] - ghost[t, 0],
            },
            f"{event.kind.replace('_', ' ')} at {t / fps:.1f} s",
        )
        frames_html.append(f'<img src="data:image/png;base64,{image}">')
    cues = (
        "".join(
            f"<li><b>{html.escape(e.cue)}</b> <span>{e.start_s:.1f}-{e.end_s:.1f} s, "
            f"{e.segment.replace('_', ' ')}, severity {e.severity:.2f}, "
            f"confidence {e.confidence:.2f}</span></li>"
            for e in report.errors
        )
        or "<li>No form errors found. Great work!</li>"
    )
    notes = "".join(f"<li>{html.escape(n.message)}</li>" for n in report.notes)
    segments = "".join(
        f"<td>{s.replace('_', ' ')}<br><b>{v:.0f}</b></td>" for s, v in report.segments.items()
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:980px;margin:2em auto;color:#222}}
h1{{margin-bottom:0}} .score{{font-size:3em;font-weight:700}}
td{{padding:.4em 1em;text-align:center;border:1px solid #ddd}}
li span{{color:#666;font-size:.9em}} img{{max-width:100%}}</style></head>
<body><h1>{html.escape(title)}</h1>
<p class="score">{report.score:.0f}<small>/100</small></p>
<p>{report.reps} repetitions, tempo {report.tempo["mean"]:.2f}x the trainer's
(strictness: {html.escape(report.strictness)}, model {html.escape(report.model_version or "-")})</p>
<table><tr>{segments}</tr></table>
<h2>What to work on</h2><ul>{cues}</ul>
{"<h2>What we could not judge</h2><ul>" + notes + "</ul>" if notes else ""}
<h2>Errors over time</h2><img src="data:image/png;base64,{_timeline(report)}">
<h2>You against the trainer (aligned)</h2>
<img src="data:image/png;base64,{_alignment_plot(features, matched, fps)}">
<h2>The worst moments</h2>{"".join(frames_html) or "<p>None.</p>"}
</body></html>"""


def write_html(path: str | Path, page: str) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page)
    return path
