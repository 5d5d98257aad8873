"""Batch re-scoring: exported sessions scored by two model sets, and where they disagree.

``coach dataflow rescore --sessions DIR --champion SPEC --candidate SPEC --output DIR``
reads the sessions ``coach-api export-sessions`` wrote (keypoints only,
:mod:`scoring.exported`), scores each with both model sets (:mod:`dataflow_jobs.model_sets`)
the way the API does (:func:`scoring.keypoint_scoring.score_keypoints`: front end,
recordings lifter, detector), and writes per session ``sessions/<key>.json`` (each set's
score and cues, matched by kind and time overlap) and the report per kind
(:mod:`dataflow_jobs.cue_agreement`: ``report.json``, ``report.md``, ``report.html``).
A session neither set can score is a dead letter (``dead_letters.jsonl``).

The knee network of a set is staged and recorded, but scoring still reads the bundled
knee network (``scoring.knee_net.bundled``): only the sets' lifters and detectors differ.
"""

from __future__ import annotations

import json
import posixpath
from argparse import Namespace
from dataclasses import asdict

import apache_beam as beam
from apache_beam.pvalue import TaggedOutput

from dataflow_jobs import fileio
from dataflow_jobs.cue_agreement import kind_rows, merge_tallies, report_files, session_tally
from dataflow_jobs.model_sets import SETS, load_set
from scoring.cue_matching import match_cues
from scoring.exported import SESSION_PREFIX, SUFFIX, Cue, read_session

DEAD_LETTER = "dead_letter"


def session_paths(sessions: str) -> list[str]:
    """The exported session files in folder ``sessions`` (local or gs://), sorted."""
    return fileio.match(fileio.join(sessions, f"{SESSION_PREFIX}*{SUFFIX}"))


def _cue_dicts(cues: list[Cue]) -> list[dict]:
    return [asdict(cue) for cue in cues]


class RescoreSession(beam.DoFn):
    """An exported session's file -> both sets' reports compared (dead letter if either
    cannot score it); writes ``sessions/<key>.json`` under the output."""

    def __init__(self, output: str) -> None:
        self.output = output
        self.sets: dict = {}

    def setup(self) -> None:
        import torch

        torch.set_num_threads(1)  # workers run one bundle per core
        self.sets = {name: load_set(self.output, name) for name in SETS}

    def process(self, path: str):
        from scoring.keypoint_scoring import score_keypoints

        name = posixpath.basename(path)
        try:
            session = read_session(fileio.read_bytes(path), name)
            reference = session.routine.reference()
            reports = {}
            for set_name, (lifter, population) in self.sets.items():
                report, _ = score_keypoints(
                    lifter,
                    population,
                    session.sequence,
                    reference,
                    session.strictness,
                    session.beat_times,
                )
                reports[set_name] = report
        except ValueError as exc:  # a bad file, or keypoints today's scoring refuses
            yield TaggedOutput(DEAD_LETTER, {"source": name, "reason": str(exc)})
            return
        yield self._compared(session.key, reports)

    def _compared(self, key: str, reports: dict) -> dict:
        cues = {
            name: [Cue(e.kind, e.segment, e.start_s, e.end_s, e.severity) for e in report.errors]
            for name, report in reports.items()
        }
        pairs, only_champion, only_candidate = match_cues(cues["champion"], cues["candidate"])
        change = float(reports["candidate"].score - reports["champion"].score)
        result = {
            "session": key,
            "champion": {"score": round(reports["champion"].score, 2)},
            "candidate": {"score": round(reports["candidate"].score, 2)},
            "agreed": [[asdict(a), asdict(b)] for a, b in pairs],
            "only_champion": _cue_dicts(only_champion),
            "only_candidate": _cue_dicts(only_candidate),
        }
        for name in SETS:
            result[name]["cues"] = _cue_dicts(cues[name])
        path = fileio.join(self.output, "sessions", f"{key}.json")
        fileio.write_bytes(path, (json.dumps(result, indent=1) + "\n").encode())
        return session_tally(cues["champion"], cues["candidate"], change)


def write_report(tally: dict, output: str, models: dict, dead: list[dict]) -> dict:
    """Write the report files and ``dead_letters.jsonl``; returns the report."""
    rows = kind_rows(tally)
    report = {
        "schema": "coach.rescore-report",
        "sessions": rows[-1]["sessions"],
        "dead_letters": len(dead),
        "models": models,
        "kinds": rows,
    }
    for name, data in report_files(report).items():
        fileio.write_bytes(fileio.join(output, name), data)
    lines = "".join(json.dumps(d, sort_keys=True) + "\n" for d in sorted(dead, key=str))
    fileio.write_bytes(fileio.join(output, "dead_letters.jsonl"), lines.encode())
    return report


def rescore(pipeline: beam.Pipeline, args: Namespace) -> None:
    """Exported sessions -> per-session comparisons and the report (see module doc).
    ``args.models`` are the staged sets' descriptions (:func:`model_sets.stage_sets`)."""
    scored = (
        pipeline
        | "ListSessions" >> beam.Create(session_paths(args.sessions))
        | "Redistribute" >> beam.Reshuffle()
        | "Rescore"
        >> beam.ParDo(RescoreSession(args.output)).with_outputs(DEAD_LETTER, main="tallies")
    )
    _ = (
        scored.tallies
        | "MergeTallies" >> beam.CombineGlobally(merge_tallies)
        | "WriteReport"
        >> beam.Map(
            write_report,
            output=args.output,
            models=args.models,
            dead=beam.pvalue.AsList(scored[DEAD_LETTER]),
        )
    )
