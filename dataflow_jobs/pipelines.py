"""The Beam pipelines: ``build_shards`` and ``generate_clips``.

``build_shards`` shuffles only small clip references: inputs are read and checked,
each clip is keyed by its split (a hash of the body) and shard (a hash of the clip id),
and one worker per shard re-reads its clips, films them and writes the shard. Moving
references instead of filmed arrays keeps the shuffle tiny (and cheap on Dataflow).

Every step is labelled; per-element work lives in small functions
(:mod:`dataflow_jobs.sources`, :mod:`dataflow_jobs.records`). Elements that fail go
to a ``dead_letter`` output with the file and the reason, and the job carries on; the
summary counts them and ``dead_letters.jsonl`` lists them.
"""

from __future__ import annotations

import hashlib
import json
from argparse import Namespace
from collections import Counter
from dataclasses import asdict, dataclass

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.pvalue import TaggedOutput

from dataflow_jobs import fileio
from dataflow_jobs.records import (
    ERROR_KIND_NAMES,
    Filming,
    clip_split,
    film_clip,
    shard_index,
    window_record,
)
from dataflow_jobs.sources import expand_patterns, read_source
from dataflow_jobs.stats import nest, record_counts
from pose3d.archive import json_bytes
from pose3d.shards import records_from_bytes, shard_bytes, shard_name
from synthetic_data.batch import plan_requests
from synthetic_data.clip import CLIP_SUFFIX, clip_bytes
from synthetic_data.generator import GENERATOR_VERSION, ClipRequest, generate_clip, trainer_clip

DEAD_LETTER = "dead_letter"


def _dead(source: str, stage: str, exc: BaseException) -> TaggedOutput:
    return TaggedOutput(DEAD_LETTER, {"source": source, "stage": stage, "reason": str(exc)})


@dataclass(frozen=True)
class ClipRef:
    """Where to find one clip again: its source and its index within that source."""

    source: str
    index: int
    clip_id: str
    sha256: str


class PlanSources(beam.DoFn):
    """Input path -> ``((split, shard), ClipRef)`` per clip; unreadable inputs to the
    dead letter. Only these small references are shuffled, never the filmed data."""

    def __init__(self, num_shards: int) -> None:
        self.num_shards = num_shards
        self.read = Metrics.counter("build_shards", "clips_read")

    def process(self, path: str):
        try:
            clips = read_source(path)
        except Exception as exc:  # any bad file must not stop the job
            yield _dead(path, "read", exc)
            return
        for index, item in enumerate(clips):
            self.read.inc()
            clip = item.clip
            key = (clip_split(clip), shard_index(clip.clip_id, self.num_shards))
            yield key, ClipRef(item.source, index, clip.clip_id, item.sha256)


class BuildShard(beam.DoFn):
    """``((split, index), [ClipRef])`` -> one shard file written; yields its summary entry.

    Re-reads each clip, films it with the sampled cameras, cuts windows, and writes the
    records sorted by key. A clip that fails goes to the dead letter; the shard is
    written with the others.
    """

    def __init__(self, args: Namespace) -> None:
        self.output, self.num_shards = args.output, args.num_shards
        self.cameras, self.seed, self.window = args.cameras_per_clip, args.seed, args.window
        self.skip_existing = args.skip_existing
        self.filming = filming_of(args)
        self.windows = Metrics.counter("build_shards", "windows")

    def process(self, element):
        (split, index), refs = element
        name = shard_name(split, index, self.num_shards)
        path = fileio.join(self.output, name)
        if self.skip_existing and fileio.exists(path):
            records, _ = records_from_bytes(fileio.read_bytes(path), path)
            yield self._entry(name, records, "kept")
            return
        records = []
        for ref in sorted(refs, key=lambda r: (r.clip_id, r.source, r.index)):
            try:
                clip = read_source(ref.source)[ref.index].clip
                records += [
                    piece
                    for record in film_clip(clip, self.cameras, self.seed, self.filming)
                    for piece in window_record(record, self.window)
                ]
            except Exception as exc:
                yield _dead(ref.source, "film", exc)
        if not records:
            return
        records.sort(key=lambda r: r.key)
        fileio.write_bytes(path, shard_bytes(records, ERROR_KIND_NAMES))
        self.windows.inc(len(records))
        yield self._entry(name, records, "written")

    @staticmethod
    def _entry(name: str, records: list, status: str) -> dict:
        counts = Counter()
        for record in records:
            counts.update(record_counts(record, ERROR_KIND_NAMES))
        return {
            "name": name,
            "sequences": len(records),
            "frames": sum(r.num_frames for r in records),
            "status": status,
            "counts": dict(counts),
        }


def fingerprint(sources: list[str], options: dict) -> str:
    """sha256 over the sorted input hashes and the options that shape the output."""
    digest = hashlib.sha256(json.dumps(options, sort_keys=True).encode())
    for source in sorted(sources):
        digest.update(source.encode())
    return digest.hexdigest()


def write_summary(
    shards: list[dict], output: str, dead: list[dict], sources: list[str], options: dict
) -> dict:
    """Write ``summary.json`` and ``dead_letters.jsonl``; return the summary."""
    dead = sorted(dead, key=lambda d: (d["source"], d["stage"]))
    counts: Counter = Counter()
    for shard in shards:
        counts.update(shard.pop("counts"))
    summary = {
        "schema": "coach.shard-summary",
        "fingerprint": fingerprint(sources, options),
        "options": options,
        "inputs": len({s.rsplit(":", 1)[0] for s in sources}),
        "counts": nest(counts),
        "dead_letters": len(dead),
        "shards": sorted(shards, key=lambda s: s["name"]),
        "error_kinds": ERROR_KIND_NAMES,
    }
    fileio.write_bytes(fileio.join(output, "summary.json"), json_bytes(summary))
    lines = "".join(json.dumps(d, sort_keys=True) + "\n" for d in dead)
    fileio.write_bytes(fileio.join(output, "dead_letters.jsonl"), lines.encode())
    return summary


def filming_of(args: Namespace) -> Filming:
    """The filming options of a build-shards run (the seed's setup when not given)."""
    return Filming(
        coverage=getattr(args, "camera_coverage", "front"),
        profile=getattr(args, "noise_profile", "phone-v1"),
        allow_partial=getattr(args, "partial_framing", False),
    )


def build_shards(pipeline: beam.Pipeline, args: Namespace) -> None:
    """Clip files -> filmed, normalised, split, sharded training data (see module doc)."""
    options = {
        "cameras_per_clip": args.cameras_per_clip,
        "window": args.window,
        "num_shards": args.num_shards,
        "seed": args.seed,
    }
    filming = filming_of(args)
    if filming != Filming():  # fingerprints of shard sets filmed the old way stay the same
        options["filming"] = asdict(filming)
    planned = (
        pipeline
        | "ListInputs" >> beam.Create(expand_patterns(args.input))
        | "PlanSources"
        >> beam.ParDo(PlanSources(args.num_shards)).with_outputs(DEAD_LETTER, main="refs")
    )
    built = (
        planned.refs
        | "GroupByShard" >> beam.GroupByKey()
        | "BuildShards" >> beam.ParDo(BuildShard(args)).with_outputs(DEAD_LETTER, main="shards")
    )
    dead = (planned[DEAD_LETTER], built[DEAD_LETTER]) | "DeadLetters" >> beam.Flatten()
    sources = (
        planned.refs
        | "SourceHashes" >> beam.Map(lambda kv: f"{kv[1].source}:{kv[1].sha256}")
        | "DistinctSources" >> beam.Distinct()
    )
    _ = (
        built.shards
        | "ListShards" >> beam.combiners.ToList()
        | "WriteSummary"
        >> beam.Map(
            write_summary,
            output=args.output,
            dead=beam.pvalue.AsList(dead),
            sources=beam.pvalue.AsList(sources),
            options=options,
        )
    )


def _write_clip(request: ClipRequest, output: str, skip_existing: bool) -> dict:
    name = f"{request.movement}-{request.role}-{request.seed:09d}{CLIP_SUFFIX}"
    path = fileio.join(output, name)
    if not (skip_existing and fileio.exists(path)):
        clip = generate_clip(request)
        fileio.write_bytes(path, clip_bytes(clip))
    return {"file": name, "movement": request.movement}


class GenerateClips(beam.DoFn):
    """:class:`ClipRequest` -> a clip file; failures to the dead letter."""

    def __init__(self, output: str, skip_existing: bool) -> None:
        self.output, self.skip_existing = output, skip_existing

    def process(self, request: ClipRequest):
        try:
            yield _write_clip(request, self.output, self.skip_existing)
        except Exception as exc:
            yield _dead(f"seed {request.seed}", "generate", exc)


def write_references(movements: list[str], output: str) -> list[str]:
    names = []
    for movement in movements:
        name = f"references/trainer-{movement}{CLIP_SUFFIX}"
        fileio.write_bytes(fileio.join(output, name), clip_bytes(trainer_clip(movement)))
        names.append(name)
    return names


def generate_clips(pipeline: beam.Pipeline, args: Namespace) -> None:
    """The simulator as a Beam job: requests -> clip files + references + manifest."""
    movements = [m.strip() for m in args.exercises.split(",") if m.strip()] or None
    requests = plan_requests(
        args.count,
        args.seed,
        movements,
        duration_s=args.duration,
        num_cameras=args.cameras,
        deep_squat_share=args.deep_squat_share,
    )
    results = (
        pipeline
        | "PlanRequests" >> beam.Create(requests)
        | "Redistribute" >> beam.Reshuffle()
        | "GenerateClips"
        >> beam.ParDo(GenerateClips(args.output, args.skip_existing)).with_outputs(
            DEAD_LETTER, main="clips"
        )
    )
    references = (
        pipeline
        | "ListMovements" >> beam.Create([sorted({r.movement for r in requests})])
        | "WriteReferences" >> beam.Map(write_references, output=args.output)
    )

    def write_manifest(clips: list[dict], references: list[str], dead: list[dict]) -> None:
        manifest = {
            "generator_version": GENERATOR_VERSION,
            "seed": args.seed,
            "clips": sorted(clips, key=lambda c: c["file"]),
            "references": references,
            "dead_letters": sorted(dead, key=lambda d: d["source"]),
        }
        fileio.write_bytes(fileio.join(args.output, "manifest.json"), json_bytes(manifest))

    _ = (
        results.clips
        | "ListClips" >> beam.combiners.ToList()
        | "WriteManifest"
        >> beam.Map(
            write_manifest,
            references=beam.pvalue.AsSingleton(references),
            dead=beam.pvalue.AsList(results[DEAD_LETTER]),
        )
    )
