"""Pipeline options: app flags as ``PipelineOptions`` subclasses, runner flags passed through.

``parse_options(argv, BuildShardsOptions)`` splits the command line with
``parse_known_args``: the app's own flags are parsed (and validated) here, everything
else (``--runner``, ``--project``, ``--region``, ``--temp_location``, ``--setup_file``,
``--direct_num_workers`` ...) goes to Beam untouched.

Beam registers the flags of every ``PipelineOptions`` subclass in one parser, so flags
shared by both jobs live in :class:`JobOptions` and none is marked required there
(``parse_options`` checks the required ones of the job being run).
"""

from __future__ import annotations

import argparse

from apache_beam.options.pipeline_options import PipelineOptions


class JobOptions(PipelineOptions):
    """Flags every coach job has."""

    @classmethod
    def _add_argparse_args(cls, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--output", help="Output folder or gs:// URL (required).")
        parser.add_argument("--seed", type=int, default=0, help="Seed of everything random.")
        parser.add_argument(
            "--skip-existing",
            dest="skip_existing",
            action="store_true",
            help="Keep output files already present (resume a killed run).",
        )
        parser.add_argument(
            "--dry-run",
            dest="dry_run",
            action="store_true",
            help="Build the pipeline graph and validate options without running it.",
        )


class BuildShardsOptions(PipelineOptions):
    """Clips -> training shards: coach dataflow build-shards."""

    required = ("input", "output")

    @classmethod
    def _add_argparse_args(cls, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--input",
            help="Comma-separated file patterns (local or gs://) of clip files (*.clip.npz), "
            "BVH files (*.bvh) and Unity SOLO datasets (their annotation_definitions.json); "
            "required.",
        )
        parser.add_argument(
            "--cameras-per-clip",
            dest="cameras_per_clip",
            type=int,
            default=4,
            help="Phone cameras sampled to film each clip.",
        )
        parser.add_argument(
            "--window",
            type=int,
            default=0,
            help="Cut sequences into windows of this many frames (0: whole sequences).",
        )
        parser.add_argument(
            "--num-shards", dest="num_shards", type=int, default=16, help="Shards per split."
        )
        parser.add_argument(
            "--camera-coverage",
            dest="camera_coverage",
            choices=("front", "anywhere"),
            default="front",
            help="front: within 60 deg of the person's facing; anywhere: all around them.",
        )
        parser.add_argument(
            "--noise-profile",
            dest="noise_profile",
            choices=("phone-v1", "mediapipe-real", "exact"),
            default="phone-v1",
            help="Detector noise; mediapipe-real adds real MediaPipe's side swaps, hidden "
            "joints and identity switches; exact is the true projection (no noise).",
        )
        parser.add_argument(
            "--partial-framing",
            dest="partial_framing",
            action="store_true",
            help="Let some cameras cut off the feet or the head, as users do.",
        )


class GenerateClipsOptions(PipelineOptions):
    """The simulator as a Beam job: coach dataflow generate-clips."""

    required = ("count", "output")

    @classmethod
    def _add_argparse_args(cls, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--count", type=int, help="User clips to generate (required).")
        parser.add_argument(
            "--exercises", default="", help="Comma-separated movements (default: all)."
        )
        parser.add_argument("--duration", type=float, default=None, help="Clip length, seconds.")
        parser.add_argument("--cameras", type=int, default=1, help="Cameras per clip.")
        parser.add_argument(
            "--deep-squat-share",
            type=float,
            default=0.0,
            help="Share of the squats done deep, below parallel (default 0).",
        )


class RescoreOptions(PipelineOptions):
    """Exported sessions re-scored by a champion and a candidate model set: coach dataflow
    rescore. A SPEC is bundled, registry:REF (an alias or a version number) or a folder of
    the models' files; a kind's own flag overrides its set's SPEC."""

    required = ("sessions", "output", "candidate")

    @classmethod
    def _add_argparse_args(cls, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--sessions", help="Folder (local or gs://) of coach-api export-sessions (required)."
        )
        for name, default in (("champion", "bundled"), ("candidate", None)):
            parser.add_argument(
                f"--{name}",
                default=default,
                help=f"The {name} set's SPEC" + (" (default: bundled)." if default else "."),
            )
            for kind in ("lifter", "detector", "knee-net"):
                parser.add_argument(
                    f"--{name}-{kind}",
                    dest=f"{name}_{kind.replace('-', '_')}",
                    help=f"The {name}'s {kind} SPEC, over the set's.",
                )


class DriftOptions(PipelineOptions):
    """Drift of session statistics: coach dataflow drift."""

    required = ("current", "reference", "output")

    @classmethod
    def _add_argparse_args(cls, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--current",
            help="JSON lines of the window of sessions to judge (coach-api export-stats); "
            "required.",
        )
        parser.add_argument(
            "--previous", default="", help="JSON lines of the window before it (optional)."
        )
        parser.add_argument(
            "--reference",
            help="JSON lines of the training clips' statistics (coach drift-reference); required.",
        )


def parse_options(
    argv: list[str], options_class: type[PipelineOptions], prog: str
) -> tuple[argparse.Namespace, PipelineOptions]:
    """Split ``argv`` into the app's flags and Beam's; validate the app's.

    Returns the app flags and the ``PipelineOptions`` built from the runner flags plus
    the app flags (so ``options.view_as(options_class)`` works on any runner).
    """
    parser = argparse.ArgumentParser(
        prog=prog,
        description=options_class.__doc__,
        epilog="Other flags go to Apache Beam, e.g. --runner DataflowRunner --project P "
        "--region R --temp_location gs://B/tmp --setup_file ./setup.py",
    )
    JobOptions._add_argparse_args(parser)
    options_class._add_argparse_args(parser)
    app_args, beam_args = parser.parse_known_args(argv)
    for name in options_class.required:
        if getattr(app_args, name) is None:
            parser.error(f"--{name} is required")
    for name in ("cameras_per_clip", "num_shards", "count", "cameras"):
        if getattr(app_args, name, 1) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if getattr(app_args, "window", 0) < 0:
        parser.error("--window must be 0 (whole sequences) or positive")
    options = PipelineOptions(beam_args, **vars(app_args))
    return app_args, options
