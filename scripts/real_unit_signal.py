"""Do the detector's real training units show an injected error? (issue 18): a diagnostic.

The real units (:mod:`lab.real_training_units`: CMU subject 14's takes of the agreed
**train** split, on the performer's and retargeted bodies, filmed all around, errors
injected by the real harness) are what the detector learns real motion from. For one
error kind on both knees' segments, per unit feature: within each clip and segment, the
mean over the units with the error minus the mean over those without (the person's own
other repetitions), then the mean of that difference and the share of segments where it
is positive, by how squarely the camera saw the person (the units' ``facing``: mean
``|cos|`` of the yaw). A feature that shows the error moves the right way on most
segments.

    .venv/bin/python scripts/real_unit_signal.py > docs/real-motion/real-unit-signal.md

``--units PATH`` reads one cached ``real-units-*.lifted.npz`` (or ``.exact.npz``) of
``runs/detector-units`` instead of the units of the bundled lifter and population model
(computed, ~6 min, and cached when missing).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from lab.detector_training import UnitDataset, trace_sources
from lab.real_training_units import cached_real_units
from pose3d.lifter import Lifter
from scoring import PopulationModel, PoseSource
from scoring.detector import feature_names
from scoring.evidence import MOVEMENTS
from scoring.features import FEATURE_NAMES

FEATURES = ("2d_inward_key_mean", "2d_off_line_key_mean", "3d_inward_key_mean")
FACING_BANDS = ((0.985, 1.0), (0.94, 0.985), (0.8, 0.94), (0.0, 0.8), (0.0, 1.0))


def segment_rows(clips: np.ndarray) -> list[np.ndarray]:
    """Row indices ``(U,)`` of each clip's segment. A clip's rows of a two-segment kind
    are its units for one segment, then the same units for the other
    (``UnitCollector.add`` adds them segment by segment), so each clip's rows split in
    halves."""
    out = []
    for clip in np.unique(clips):
        rows = np.flatnonzero(clips == clip)
        if len(rows) % 2:
            raise ValueError(f"clip {clip}: {len(rows)} rows, not two segments' units")
        out += [rows[: len(rows) // 2], rows[len(rows) // 2 :]]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mocap", type=Path, default=Path("data/mocap"))
    parser.add_argument("--units-cache", type=Path, default=Path("runs/detector-units"))
    parser.add_argument("--units", type=Path, help="one cached real-units-*.{lifted,exact}.npz")
    parser.add_argument("--kind", default="knees_caving_in")
    args = parser.parse_args()
    if args.units:
        dataset, label = UnitDataset.load(args.units), args.units.name
    else:
        real = cached_real_units(
            args.mocap, Lifter.for_recordings(), PopulationModel.load(), args.units_cache
        )
        dataset, label = real.datasets[PoseSource.LIFTED], "bundled lifter and population, lifted"
    units = dataset.kinds[args.kind]
    names = feature_names(trace_sources(args.kind), MOVEMENTS, FEATURE_NAMES)
    present = units.present.astype(bool)
    facing = units.rows[:, names.index("facing")]
    segments = [
        rows for rows in segment_rows(units.clip) if present[rows].any() and not present[rows].all()
    ]
    print(f"# Does an injected {args.kind.replace('_', ' ')} show in the real units?\n")
    print(f"Made by `scripts/real_unit_signal.py` ({label}); see its docstring.\n")
    print("| facing | feature | segments | with minus without (mean) | share > 0 |")
    print("|---|---|---|---|---|")
    for low, high in FACING_BANDS:
        chosen = [rows for rows in segments if low <= np.nanmean(facing[rows]) <= high]
        for feature in FEATURES:
            column = units.rows[:, names.index(feature)]
            change = np.array(
                [
                    np.nanmean(column[rows[present[rows]]])
                    - np.nanmean(column[rows[~present[rows]]])
                    for rows in chosen
                ]
            )
            if change.size:
                print(
                    f"| {low}-{high} | {feature} | {change.size} | {np.nanmean(change):+.3f} "
                    f"| {np.mean(change > 0):.2f} |"
                )


if __name__ == "__main__":
    main()
