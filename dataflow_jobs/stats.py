"""Counting what a pipeline produced, for its JSON summary."""

from __future__ import annotations

from collections import Counter

from pose3d.shards import SequenceRecord


def record_counts(record: SequenceRecord, error_kinds: list[str]) -> Counter:
    """Flat counters of one record: ``"split/train/frames"`` -> 300, ..."""
    counts: Counter = Counter()
    counts[f"split/{record.split}/sequences"] += 1
    counts[f"split/{record.split}/frames"] += record.num_frames
    counts[f"movement/{record.movement}/sequences"] += 1
    counts[f"movement/{record.movement}/frames"] += record.num_frames
    flagged = record.error_severity > 0
    for column, kind in enumerate(error_kinds):
        frames = int(flagged[:, column].sum())
        if frames:
            counts[f"error/{kind}/sequences"] += 1
            counts[f"error/{kind}/frames"] += frames
    if not flagged.any():
        counts["error/none/sequences"] += 1
    return counts


def nest(counts: Counter) -> dict:
    """``{"a/b/c": n}`` -> ``{"a": {"b": {"c": n}}}`` with sorted keys."""
    tree: dict = {}
    for key in sorted(counts):
        node = tree
        *parents, leaf = key.split("/")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = int(counts[key])
    return tree
