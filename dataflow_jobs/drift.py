"""``coach dataflow drift``: has what the service sees drifted from what its models were
fitted on, or since the previous window?

Inputs are JSON lines with a ``stats`` object of named floats each: a window of
production sessions (``coach-api export-stats``), optionally the window before it, and
the training clips' reference (``coach drift-reference``). Every statistic is compared
on its own (:mod:`dataflow_jobs.drift_stats`: PSI and KS, stable / watch / drifted),
against the reference and against the previous window, and plotted; ``drift.json``
(numbers and verdicts) and ``drift.html`` (a table and the plots) are written into
``--output``.

Values are grouped by statistic, so one worker holds one statistic's values of the
three sources (8 bytes a session: millions fit); statistics are judged and plotted in
parallel.
"""

from __future__ import annotations

import json
import math
from argparse import Namespace
from collections.abc import Iterator

import apache_beam as beam
import numpy as np

from dataflow_jobs import fileio
from dataflow_jobs.drift_report import SOURCES, plot_distributions, report_html
from dataflow_jobs.drift_stats import (
    KS_P_DRIFT,
    MIN_SAMPLES,
    PSI_BINS,
    PSI_DRIFT,
    PSI_FLOOR,
    PSI_P_DRIFT,
    PSI_P_WATCH,
    PSI_PERMUTATIONS,
    PSI_WATCH,
    STATUSES,
    compare,
    summary,
)

NO_DATA = "no data"  # a statistic the current window (or every baseline) lacks


def statistic_values(line: str) -> Iterator[tuple[str, float]]:
    """``(name, value)`` of each finite statistic of one JSON line (blank lines: none);
    ValueError for a line that is not an object with a ``stats`` object."""
    if not line.strip():
        return
    record = json.loads(line)
    stats = record.get("stats") if isinstance(record, dict) else None
    if not isinstance(stats, dict):
        raise ValueError(f"expected a JSON object with a 'stats' object, got {line[:80]!r}")
    for name, value in stats.items():
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if number and math.isfinite(value):
            yield str(name), float(value)


def judge_statistic(element: tuple[str, dict]) -> tuple[dict, str]:
    """``(statistic, {source: values})`` -> its row of ``drift.json`` and its plot (base64
    PNG). The row's ``status`` is the worse of its two comparisons."""
    name, grouped = element
    values = {s: np.asarray(list(grouped.get(s, ())), dtype=np.float64) for s in SOURCES}
    against = {
        "against_reference": compare(values["current"], values["reference"]),
        "against_previous": compare(values["current"], values["previous"]),
    }
    statuses = [c.status for c in against.values() if c is not None]
    row = {
        "name": name,
        "status": max(statuses, key=STATUSES.index) if statuses else NO_DATA,
        "summaries": {source: summary(v) for source, v in values.items()},
    } | {key: c.to_dict() if c else None for key, c in against.items()}
    return row, plot_distributions(name, values)


def write_outputs(judged: list[tuple[dict, str]], output: str, sessions: dict[str, int]) -> dict:
    """Write ``drift.json`` and ``drift.html`` into ``output``; returns the JSON's content."""
    rows = sorted((row for row, _ in judged), key=lambda row: row["name"])
    plots = {row["name"]: plot for row, plot in judged}

    def flagged(status: str) -> list[str]:
        return [
            row["name"]
            for row in rows
            if any((row[key] or {}).get("status") == status for key in _COMPARISONS)
        ]

    verdicts = (*reversed(STATUSES), NO_DATA)
    tally = {status: sum(row["status"] == status for row in rows) for status in verdicts}
    result = {
        "counts": {"sessions": {s: sessions.get(s, 0) for s in SOURCES}, "statistics": tally},
        "thresholds": {
            "psi_watch": PSI_WATCH,
            "psi_drift": PSI_DRIFT,
            "ks_p_drift": KS_P_DRIFT,
            "ks_min_samples": MIN_SAMPLES,
            "psi_bins": PSI_BINS,
            "psi_floor": PSI_FLOOR,
            "psi_p_watch": PSI_P_WATCH,
            "psi_p_drift": PSI_P_DRIFT,
            "psi_permutations": PSI_PERMUTATIONS,
        },
        "drifted": flagged("drifted"),
        "watch": flagged("watch"),
        "statistics": rows,
    }
    text = json.dumps(result, indent=1) + "\n"
    fileio.write_bytes(fileio.join(output, "drift.json"), text.encode())
    fileio.write_bytes(fileio.join(output, "drift.html"), report_html(result, plots).encode())
    return result


_COMPARISONS = ("against_reference", "against_previous")


def drift(pipeline: beam.Pipeline, args: Namespace) -> None:
    """Build the drift job on ``pipeline`` (flags: :class:`~dataflow_jobs.options.DriftOptions`)."""
    inputs = {"current": args.current, "reference": args.reference}
    if args.previous:
        inputs["previous"] = args.previous
    values, counts = {}, []
    for source, path in inputs.items():
        lines = pipeline | f"Read {source}" >> beam.io.ReadFromText(path)
        values[source] = lines | f"Values of {source}" >> beam.FlatMap(statistic_values)
        counts.append(
            lines
            | f"Sessions of {source}" >> beam.Filter(str.strip)
            | f"Key {source}" >> beam.Map(lambda _, source=source: (source, 1))
        )
    sessions = (
        counts | "All sessions" >> beam.Flatten() | "Count sessions" >> beam.CombinePerKey(sum)
    )
    (
        values
        | "Group by statistic" >> beam.CoGroupByKey()
        | "Judge and plot" >> beam.Map(judge_statistic)
        | "Collect" >> beam.combiners.ToList()
        | "Write report" >> beam.Map(write_outputs, args.output, beam.pvalue.AsDict(sessions))
    )
