"""The report of ``coach evaluate-scoring-real`` (:mod:`lab.real_scoring_eval`):
``metrics.json``, ``report.md`` and ``f1.png``."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np

from lab.f1_chart import interval_text, plot_f1
from lab.real_exercise import CAPTURE_HEEL_LIFT_DEG, HEEL_LIFT_FULL_DEG, RealSession
from lab.tallies import severity_cells, severity_header
from pose3d.lifter import Lifter
from scoring import PopulationModel

TARGETS = {"macro_f1": 0.85, "false_alarm_rate": 0.05, "timing_iou": 0.6}

NOT_COVERED = """\
## What these figures do not cover

- **No real labelled video.** The 2D comes from the real 3D motion through a simulated
  phone camera and the `mediapipe-real` detector noise, not from MediaPipe on real
  video; real video adds clothing, lighting, blur and detector failures the noise model
  only imitates.
- **Injected errors, not real ones.** The errors are the simulator's kinematic
  perturbations applied to real motion on its own skeleton; a real person's rounded back
  or caving knees also move other joints.
- **Few movements.** The archives hold real squats (HDM05, 5 actors) and jumping jacks
  (CMU subject 14 only, three reps a take, and in the lifter's training split); there are
  no real lunges, push-ups, arm raises or dances, so `knee_over_toes`, `hips_sagging`
  and `off_beat` are not measured on real motion here.
- **Heel labels from foot markers.** The heel lifts the unperturbed takes hold are read
  off the capture's heel and toe markers; one take's feet pitch 35-45 deg opposite ways at
  the bottom (HDM05 dg, take 0), so its heel cues count as false alarms though the
  phone's 2D shows a heel rising.
- **Small samples.** A kind has a few dozen labels; the 90% intervals say how far a
  figure could move.
"""


def _setup_lines(
    sessions: list[RealSession],
    lifter: Lifter,
    population: PopulationModel | None,
    trainer: str,
) -> list[str]:
    people = Counter(s.person for s in sessions)
    movements = Counter(s.clip.movement for s in sessions)
    detector = population.detector if population else None
    trained = (
        f"trained on {detector.info.get('training_clips')} simulated clips" if detector else "none"
    )
    real = detector.info.get("real_units") if detector else None
    if real:
        trained += (
            f" and {real['clips']} scored clips of the real training takes "
            f"{', '.join(real['takes'])} (CMU subject 14: its jumping-jack figures below are "
            "training figures; HDM05 was never trained on)"
        )
    return [
        "# Form checks on real motion with injected errors",
        "",
        f"{len(sessions)} real sessions ({', '.join(f'{n} {m}' for m, n in movements.items())})"
        f" of {len(people)} people; each scored against {TRAINER_WORDS[trainer]}; lifter "
        f"`{lifter.metadata.version}`; learned detector "
        f"{trained}"
        "; cameras all around the person, `mediapipe-real` detector noise, the 2D front end "
        "before lifting. Made by `coach evaluate-scoring-real`.",
        "",
    ]


def _headline_lines(
    summaries: dict, headline: tuple[str, str, str], labelling: str = ""
) -> list[str]:
    group, source, decider = headline
    result = summaries.get(group, {}).get(source, {}).get(decider)
    if result is None:
        return []
    checks = [
        ("macro F1", result["macro_f1"], ">=", TARGETS["macro_f1"]),
        ("false alarms on correct sessions", result["false_alarm_rate"], "<=",
         TARGETS["false_alarm_rate"]),
        ("timing IoU", result["timing_iou"], ">=", TARGETS["timing_iou"]),
    ]  # fmt: skip
    lines = [f"## Targets ({group}, {source}, {decider}{labelling})", "",
             "| figure | value | target | met |", "|---|---|---|---|"]  # fmt: skip
    for name, value, sense, target in checks:
        met = value >= target if sense == ">=" else value <= target
        lines.append(f"| {name} | {value:.3f} | {sense} {target} | {'yes' if met else 'NO'} |")
    return [*lines, ""]


def _other_labelling_lines(labelling: str, summaries: dict) -> list[str]:
    """The summary figures under another labelling of the unperturbed takes."""
    lines = [f"## The same clips, {labelling}", "",
             "| group | poses | decisions | macro F1 (90% interval) | timing IoU | "
             "false alarms (correct clips) | alarming kinds |",
             "|---|---|---|---|---|---|---|"]  # fmt: skip
    for group, by_source in summaries.items():
        for source, by_decider in by_source.items():
            for decider, r in by_decider.items():
                lines.append(f"| {group} | {source} | {decider} | {_figures_cells(r)} |")
    return [*lines, ""]


def _figures_cells(r: dict) -> str:
    """A summary's macro F1 (interval), timing IoU, false alarms and alarming kinds, as
    table cells."""
    kinds = ", ".join(f"{k} {n}" for k, n in r["alarms_by_kind"].items()) or "-"
    return (
        f"{r['macro_f1']:.3f} ({interval_text(r['macro_f1_interval'])}) | "
        f"{r['timing_iou']:.3f} | {100 * r['false_alarm_rate']:.1f}% of "
        f"{r['correct_clips']} | {kinds}"
    )


def _group_lines(group: str, by_source: dict) -> list[str]:
    lines = [f"## {group}", "", "| poses | decisions | clips | macro F1 (90% interval) | "
             "timing IoU | false alarms (correct clips) | alarming kinds |",
             "|---|---|---|---|---|---|---|"]  # fmt: skip
    for source, by_decider in by_source.items():
        for decider, r in by_decider.items():
            lines.append(f"| {source} | {decider} | {r['clips']} | {_figures_cells(r)} |")
    lines += ["", "| poses, decisions | error kind | precision | recall | F1 (90% interval) | "
              "timing IoU | labels | events |", "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for source, by_decider in by_source.items():
        for decider, r in by_decider.items():
            for kind, m in r["per_kind"].items():
                lines.append(
                    f"| {source}, {decider} | {kind} | {m['precision']} | {m['recall']} | "
                    f"{m['f1']} ({interval_text(m.get('f1_interval'))}) | {m['timing_iou']} | "
                    f"{m['labels']} | {m['events']} |"
                )
    header, rule = severity_header()
    lines += [
        "",
        "Recall by the labels' peak severity (0.2 barely there .. 1 gross; a capture's own "
        f"heel lift: its rise over a full lift's {HEEL_LIFT_FULL_DEG:g} deg), share found of "
        "the labels:",
        "",
        f"| poses, decisions | error kind {header}|",
        f"|---|---{rule}|",
    ]
    for source, by_decider in by_source.items():
        for decider, r in by_decider.items():
            for kind, m in r["per_kind"].items():
                if m["labels"]:
                    lines.append(f"| {source}, {decider} | {kind} {severity_cells(m)}|")
    return [*lines, ""]


def _rep_lines(rows: list[dict]) -> list[str]:
    sources = [k for k in rows[0] if k not in ("session", "group", "true")] if rows else []
    lines = ["## Repetition counting on correct real sessions", ""]
    for source in sources:
        exact = sum(row[source] == row["true"] for row in rows)
        off = [abs(row[source] - row["true"]) for row in rows]
        lines.append(
            f"- {source}: count exact on {exact} of {len(rows)} sessions, mean absolute "
            f"error {sum(off) / max(1, len(off)):.2f} repetitions."
        )
    lines += ["", f"| session | true | {' | '.join(sources)} |",
              f"|---|---|{'---|' * len(sources)}"]  # fmt: skip
    lines += [
        f"| {row['session']} | {row['true']} | {' | '.join(str(row[s]) for s in sources)} |"
        for row in rows
    ]
    return [*lines, ""]


def _squat_lines(rows: list[dict]) -> list[str]:
    """Depth as each pose source saw it, and heel cues against the capture's heel rise."""
    if not rows:
        return []
    lines = [
        "## Correct squats: depth as seen, and heel cues against the capture's own heels",
        "",
        "| poses | bottom knee flexion, capture (mean) | as seen (mean) | mean abs. "
        "difference | seen past 120 deg | heel cues, take with heel lifts labelled "
        "| heel cues, no heel lift labelled |",
        "|---|---|---|---|---|---|---|",
    ]
    for source in dict.fromkeys(row["source"] for row in rows):
        mine = [row for row in rows if row["source"] == source]
        exact = np.concatenate([row["bottom_exact_deg"] for row in mine])
        seen = np.concatenate([row["bottom_seen_deg"] for row in mine])
        rising = [row["heel_cued"] for row in mine if row["heel_labelled"]]
        flat = [row["heel_cued"] for row in mine if not row["heel_labelled"]]
        lines.append(
            f"| {source} | {exact.mean():.0f} | {seen.mean():.0f} | "
            f"{np.abs(exact - seen).mean():.0f} | {100 * (seen >= 120).mean():.0f}% | "
            f"{sum(rising)} of {len(rising)} views | {sum(flat)} of {len(flat)} views |"
        )
    lines += [
        "",
        "Views of the unperturbed takes (injected with nothing); a take with heel lifts "
        "labelled is one whose capture lifts the heels past the coach's own standard (above).",
        "",
    ]
    return lines


TRAINER_WORDS = {
    "other-person": "another real person's take of the same movement (CMU 14's jumping "
    "jacks: the same person's next take, nobody else did them)",
    "own-take": "**the same person's other take** of the movement (`--trainer own-take`; "
    "HDM05 mm has one squat take and gets another person's)",
}


CAPTURE_HEELS_WORDS = (
    "The unperturbed takes are labelled with the heel lifts their capture holds: a squat "
    "whose heels rise at the bottom by at least {deg:.1f} deg on both feet (half a full "
    "heel lift, where the coach's heel rule starts to cue) carries a `heels_lifting` label, "
    "and a view of a take with such squats is not a correct session. The last section "
    "gives the figures with every unperturbed take counted correct."
)


def write_report(
    out: Path,
    summaries: dict[str, dict],
    rows: dict[str, list[dict]],
    sessions: list[RealSession],
    lifter: Lifter,
    population: PopulationModel | None,
    *,
    headline: tuple[str, str, str],
    trainer: str = "other-person",
) -> Path:
    """Write ``metrics.json``, ``report.md`` and ``f1.png`` into ``out``. ``summaries``
    holds :meth:`~lab.real_scoring_eval.RealResults.summaries` per labelling, the first
    the headline's; ``rows`` the ``"repetitions"`` and ``"squats"`` rows of
    :class:`~lab.real_scoring_eval.RealResults`; ``headline`` (group, pose source,
    decisions) names the figures held to the targets."""
    out.mkdir(parents=True, exist_ok=True)
    (labelling, main), *others = summaries.items()
    metrics = {
        "groups": main,
        "labelling": labelling,
        "other_labellings": dict(others),
        **rows,
        "targets": TARGETS,
    }
    (out / "metrics.json").write_text(json.dumps(metrics, indent=1) + "\n")
    lines = _setup_lines(sessions, lifter, population, trainer)
    lines += [CAPTURE_HEELS_WORDS.format(deg=CAPTURE_HEEL_LIFT_DEG), ""]
    lines += _headline_lines(main, headline)
    for other, figures in others:
        lines += _headline_lines(figures, headline, f", {other}")
    for group, by_source in main.items():
        lines += _group_lines(group, by_source)
    lines += _rep_lines(rows["repetitions"]) + _squat_lines(rows["squats"])
    for other, figures in others:
        lines += _other_labelling_lines(other, figures)
    group, source, _ = headline
    if group in main:
        plot_f1({f"{source}, {d}": r for d, r in main[group][source].items()}, out / "f1.png")
        lines += [f"![F1 per error kind, {group}](f1.png)", ""]
    lines += [NOT_COVERED]
    (out / "report.md").write_text("\n".join(lines) + "\n")
    return out / "report.md"
