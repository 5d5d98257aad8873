"""Detected form errors counted against a clip's labels: precision, recall, F1, timing.

Per error kind, an event counts as true when it overlaps a label of the same kind and
segment; a label is found when any such event overlaps it, and the timing IoU of a found
label is its overlap with those events. A correct clip (no label at all) with any event
is a false alarm. :class:`ModeResult` keeps the counts of one pass over the clips, per
clip too, for bootstrap intervals of the F1 figures.

Recall is also given per severity band (:data:`SEVERITY_BANDS`): the labels are drawn
from barely there (0.2) to gross (1), and one recall over all of them cannot say whether
the gross errors a user most needs told are the ones found.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from scoring.report import ErrorEvent
from synthetic_data.clip import Clip

BOOTSTRAP_RESAMPLES = 1000
# Severity bands for recall, (name, low, high): a label's peak severity in [low, high).
# The generator and the real harness draw 0.2-1 evenly; a capture's own heel lift is its
# rise over a full lift's, capped at 1.
SEVERITY_BANDS = (("subtle", 0.0, 0.5), ("clear", 0.5, 0.8), ("gross", 0.8, float("inf")))


def severity_band(severity: float) -> str:
    """The name of the :data:`SEVERITY_BANDS` band ``severity`` falls in."""
    return next(name for name, low, high in SEVERITY_BANDS if low <= severity < high)


def f1_from_counts(events, true_events, labels, found_labels):
    """Precision, recall and F1 of events against labels (numbers or equal-shape arrays)."""
    events, true_events, labels, found_labels = map(
        np.asarray, (events, true_events, labels, found_labels)
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(events > 0, true_events / events, 0.0)
        recall = np.where(labels > 0, found_labels / labels, 0.0)
        total = precision + recall
        f1 = np.where(total > 0, 2 * precision * recall / total, 0.0)
    return precision, recall, f1


@dataclass
class KindTally:
    """Counts for one error kind."""

    events: int = 0
    true_events: int = 0
    labels: int = 0
    found_labels: int = 0
    ious: list[float] = field(default_factory=list)
    labels_by_band: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    found_by_band: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, other: KindTally) -> None:
        self.events += other.events
        self.true_events += other.true_events
        self.labels += other.labels
        self.found_labels += other.found_labels
        self.ious += other.ious
        for band, count in other.labels_by_band.items():
            self.labels_by_band[band] += count
            self.found_by_band[band] += other.found_by_band.get(band, 0)

    def add_label(self, severity: float, found: bool) -> None:
        """Count one label of peak ``severity``, ``found`` or not."""
        band = severity_band(severity)
        self.labels += 1
        self.found_labels += found
        self.labels_by_band[band] += 1
        self.found_by_band[band] += found

    def counts(self) -> tuple[int, int, int, int]:
        """``(events, true events, labels, found labels)``, what F1 is made of."""
        return self.events, self.true_events, self.labels, self.found_labels

    def metrics(self) -> dict:
        precision, recall, f1 = (float(v) for v in f1_from_counts(*self.counts()))
        return {
            "precision": round(precision, 3),
            "recall": round(recall, 3),
            "f1": round(f1, 3),
            "timing_iou": round(float(np.mean(self.ious)), 3) if self.ious else 0.0,
            "labels": self.labels,
            "events": self.events,
            "recall_by_severity": self.recall_by_severity(),
        }

    def recall_by_severity(self) -> dict[str, dict]:
        """Per :data:`SEVERITY_BANDS` band with labels: its labels and their recall."""
        return {
            name: {
                "labels": self.labels_by_band[name],
                "recall": round(self.found_by_band[name] / self.labels_by_band[name], 3),
            }
            for name, _, _ in SEVERITY_BANDS
            if self.labels_by_band.get(name)
        }


def severity_header() -> tuple[str, str]:
    """The header and rule rows' band cells of a markdown table of
    :func:`severity_cells` (each cell ``"| ... "``)."""
    names = [f"| recall, {name} ({low:g}-{min(high, 1):g}) " for name, low, high in SEVERITY_BANDS]
    return "".join(names), "|---" * len(SEVERITY_BANDS)


def severity_cells(metrics: dict) -> str:
    """A kind's :meth:`KindTally.metrics` recall per severity band, as markdown cells
    (``"| 0.45 of 20 "``; ``-`` for a band without labels)."""
    bands = metrics.get("recall_by_severity", {})
    return "".join(
        f"| {bands[name]['recall']} of {bands[name]['labels']} " if name in bands else "| - "
        for name, _, _ in SEVERITY_BANDS
    )


def _intervals(clip: Clip) -> dict[tuple[str, str], list[tuple[float, float, float]]]:
    """Per (kind, segment), each label's ``(start_s, end_s, severity)``."""
    spans = defaultdict(list)
    for label in clip.errors:
        spans[(label.kind, label.segment)].append(
            (label.start_frame / clip.fps, label.end_frame / clip.fps, label.severity)
        )
    return spans


def tally(clip: Clip, errors: list[ErrorEvent], tallies: dict[str, KindTally]) -> bool:
    """Add one clip's events and labels to ``tallies``; True if it raised any event."""
    labels = _intervals(clip)
    for event in errors:
        tallies[event.kind].events += 1
        spans = labels.get((event.kind, event.segment), [])
        tallies[event.kind].true_events += any(
            a < event.end_s and event.start_s < b for a, b, _ in spans
        )
    for (kind, segment), spans in labels.items():
        events = [e for e in errors if e.kind == kind and e.segment == segment]
        for a, b, severity in spans:
            hits = [e for e in events if a < e.end_s and e.start_s < b]
            tallies[kind].add_label(severity, bool(hits))
            if hits:
                lo, hi = min(e.start_s for e in hits), max(e.end_s for e in hits)
                overlap = sum(max(0.0, min(b, e.end_s) - max(a, e.start_s)) for e in hits)
                tallies[kind].ious.append(min(1.0, overlap / (max(b, hi) - min(a, lo))))
    return bool(errors)


@dataclass
class ModeResult:
    """Tallies of one pass over the clips: per kind, and false alarms on correct clips."""

    tallies: dict[str, KindTally] = field(default_factory=lambda: defaultdict(KindTally))
    correct: int = 0
    alarms: int = 0  # correct clips with any event
    alarms_by_kind: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    per_clip: list[dict[str, tuple[int, int, int, int]]] = field(default_factory=list)

    def add_clip(self, clip: Clip, errors: list[ErrorEvent], correct: bool) -> None:
        """Tally the ``errors`` reported for ``clip`` against its labels; a ``correct``
        clip (no error at all) with any error reported is a false alarm."""
        tallies: dict[str, KindTally] = defaultdict(KindTally)
        flagged = tally(clip, errors, tallies)
        self.add_tallies(tallies)
        if correct:
            self.correct += 1
            self.alarms += flagged
            for kind in {e.kind for e in errors}:
                self.alarms_by_kind[kind] += 1

    def add_tallies(self, tallies: dict[str, KindTally]) -> None:
        """Add one clip's tallies (kept per clip too, for :meth:`f1_intervals`)."""
        for kind, counts in tallies.items():
            self.tallies[kind].add(counts)
        self.per_clip.append({kind: counts.counts() for kind, counts in tallies.items()})

    def f1_intervals(
        self, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = 0
    ) -> tuple[dict[str, list[float]], list[float]]:
        """90% bootstrap intervals of each kind's F1 and of the macro F1, resampling
        clips: how far the figures could move on another draw of as many clips."""
        kinds = sorted(k for k, t in self.tallies.items() if t.labels)
        if not kinds or not self.per_clip:
            return {}, [0.0, 0.0]
        counts = np.array(
            [[clip.get(kind, (0, 0, 0, 0)) for kind in kinds] for clip in self.per_clip], float
        )  # (clips, kinds, 4)
        rng = np.random.default_rng(seed)
        draws = rng.integers(0, len(counts), size=(resamples, len(counts)))
        sums = counts[draws].sum(axis=1)  # (resamples, kinds, 4)
        f1 = f1_from_counts(*np.moveaxis(sums, -1, 0))[2]  # (resamples, kinds)
        low, high = np.percentile(f1, [5, 95], axis=0).round(3).tolist()
        macro = np.percentile(f1.mean(axis=1), [5, 95]).round(3).tolist()
        return {kind: [low[i], high[i]] for i, kind in enumerate(kinds)}, macro

    def summary(self, clips: int) -> dict:
        per_kind = {kind: t.metrics() for kind, t in sorted(self.tallies.items())}
        intervals, macro_interval = self.f1_intervals()
        for kind, interval in intervals.items():
            per_kind[kind]["f1_interval"] = interval
        labelled = [m for m in per_kind.values() if m["labels"]]
        ious = [m["timing_iou"] for m in labelled if m["timing_iou"]] or [0]
        return {
            "per_kind": per_kind,
            "macro_f1": round(float(np.mean([m["f1"] for m in labelled])), 3) if labelled else 0.0,
            "macro_f1_interval": macro_interval,
            "timing_iou": round(float(np.mean(ious)), 3),
            "false_alarm_rate": round(self.alarms / self.correct, 3) if self.correct else 0.0,
            "correct_clips": self.correct,
            "clips": clips,
        }
