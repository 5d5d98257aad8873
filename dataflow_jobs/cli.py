"""Entry points of ``coach dataflow build-shards``, ``generate-clips``, ``rescore`` and
``drift``."""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import apache_beam as beam
from apache_beam.options.pipeline_options import (
    GoogleCloudOptions,
    PipelineOptions,
    SetupOptions,
    StandardOptions,
    WorkerOptions,
)

from dataflow_jobs import fileio
from dataflow_jobs.drift import drift
from dataflow_jobs.options import (
    BuildShardsOptions,
    DriftOptions,
    GenerateClipsOptions,
    RescoreOptions,
    parse_options,
)
from dataflow_jobs.pipelines import build_shards, generate_clips
from dataflow_jobs.rescoring import rescore


def validate_runner_options(options: PipelineOptions) -> list[str]:
    """Problems with the runner flags, without contacting any service."""
    runner = options.view_as(StandardOptions).runner or "DirectRunner"
    problems = []
    if runner.endswith("DataflowRunner"):
        gcp = options.view_as(GoogleCloudOptions)
        for flag, value in (("--project", gcp.project), ("--region", gcp.region)):
            if not value:
                problems.append(f"{flag} is required with DataflowRunner")
        if not (gcp.temp_location or "").startswith("gs://"):
            problems.append("--temp_location gs://BUCKET/PATH is required with DataflowRunner")
        # Workers get this project from an image that holds it (deploy/batch.Dockerfile)
        # or by installing it from the setup file at start-up.
        if not (
            options.view_as(SetupOptions).setup_file
            or options.view_as(WorkerOptions).sdk_container_image
        ):
            problems.append(
                "--sdk_container_image IMAGE (deploy/batch.Dockerfile) or --setup_file "
                "./setup.py is needed so workers get this project"
            )
    return problems


def _run(job, options_class, argv: list[str], prog: str, summary_name: str) -> int:
    args, options = parse_options(argv, options_class, prog)
    problems = validate_runner_options(options)
    if problems:
        for problem in problems:
            print(f"error: {problem}", file=sys.stderr)
        return 2
    fileio.configure(options)
    try:
        pipeline = beam.Pipeline(options=options)  # Beam validates the runner flags here
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    job(pipeline, args)
    if args.dry_run:
        proto = pipeline.to_runner_api()
        names = [t.unique_name for t in proto.components.transforms.values()]
        labels = sorted(n for n in names if "/" not in n and not n.startswith("ref_"))
        runner = options.view_as(StandardOptions).runner or "DirectRunner"
        print(f"dry run: pipeline built for {runner}, {len(labels)} top-level steps:")
        for label in labels:
            print(f"  {label}")
        return 0
    started = time.perf_counter()
    result = pipeline.run()
    result.wait_until_finish()
    seconds = time.perf_counter() - started
    summary_path = fileio.join(args.output, summary_name)
    if fileio.exists(summary_path):
        summary = json.loads(fileio.read_bytes(summary_path))
        keys = ("counts", "sessions", "dead_letters", "fingerprint", "drifted")
        brief = {k: summary[k] for k in keys if k in summary}
        print(json.dumps(brief, indent=1))
    print(f"finished in {seconds:.1f} s; {summary_name}: {summary_path}")
    return 0


def build_shards_main(argv: list[str]) -> int:
    return _run(
        build_shards, BuildShardsOptions, argv, "coach dataflow build-shards", "summary.json"
    )


def generate_clips_main(argv: list[str]) -> int:
    return _run(
        generate_clips, GenerateClipsOptions, argv, "coach dataflow generate-clips", "manifest.json"
    )


def drift_main(argv: list[str]) -> int:
    return _run(drift, DriftOptions, argv, "coach dataflow drift", "drift.json")


def _staged_rescore(pipeline: beam.Pipeline, args) -> None:
    """:func:`rescore` after resolving the two model sets and copying them under the
    output (only resolving them in a dry run)."""
    from dataflow_jobs.model_sets import SET_KINDS, SETS, resolve_and_stage, resolve_set

    specs = {
        name: {"whole": getattr(args, name)}
        | {kind: getattr(args, f"{name}_{kind.replace('-', '_')}") for kind in SET_KINDS}
        for name in SETS
    }
    if args.dry_run:
        with tempfile.TemporaryDirectory() as scratch:
            for spec in specs.values():
                resolve_set(spec["whole"], spec, Path(scratch))
        args.models = {}
    else:
        args.models = resolve_and_stage(specs, args.output)
    rescore(pipeline, args)


def rescore_main(argv: list[str]) -> int:
    try:
        return _run(_staged_rescore, RescoreOptions, argv, "coach dataflow rescore", "report.json")
    except (ValueError, LookupError) as exc:  # a model SPEC that names nothing usable
        print(f"error: {exc}", file=sys.stderr)
        return 2
