"""``coach models``: the registered models, their versions and aliases, gates and promotion
(:mod:`lifecycle`; the store: ./mlruns, ``COACH_MLFLOW_DIR`` or
``COACH_MLFLOW_TRACKING_URI``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

models_app = typer.Typer(
    help="Registered models: list, seed, register, gate, promote, move aliases.",
    no_args_is_help=True,
)

Kind = Annotated[
    str,
    typer.Option(help="lifter-causal, lifter-recordings, detector or knee-net."),
]
Version = Annotated[str, typer.Option(help="Version number.")]
Shards = Annotated[
    Path, typer.Option(help="Lifters: synthetic shard folder (coach dataflow build-shards).")
]
Split = Annotated[str, typer.Option(help="Lifters: the split of --shards (never train).")]
RealClips = Annotated[
    Path,
    typer.Option(help="Lifters: real-motion clips (coach mocap clips); their test people only."),
]
Cameras = Annotated[int, typer.Option(min=1, max=8, help="Lifters: cameras per real clip.")]
Clips = Annotated[
    Path,
    typer.Option(help="Detector, knee net: held-out labelled clips (coach synth), never trained."),
]
Limit = Annotated[
    int, typer.Option(min=1, max=100_000, help="At most N sequences / clips per source.")
]
MocapRoot = Annotated[Path, typer.Option(help="Detector: the unpacked mocap archives.")]
Manifest = Annotated[Path, typer.Option(help="Detector: MANIFEST.tsv of the archives.")]
Real = Annotated[
    bool, typer.Option("--real/--no-real", help="Detector: also score real motion (minutes).")
]
Out = Annotated[Path | None, typer.Option(help="Report folder (default out/gates/KIND-vN).")]
Track = Annotated[bool, typer.Option("--track/--no-track", help="Log the gate to MLflow.")]
Feedback = Annotated[
    Path | None,
    typer.Option(
        help="Detector: users' verdicts (coach-api export-feedback) to measure both on too.",
        exists=True,
        file_okay=False,
    ),
]


def _kind(kind: str) -> str:
    from lifecycle.registry import kind_of

    try:
        kind_of(kind)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--kind") from None
    return kind


def _version(version: str) -> str:
    if not version.isdigit() or len(version) > 9:
        raise typer.BadParameter("a version number (1, 2, ...)", param_hint="--version")
    return version


def _feedback_figures(kind: str, feedback: Path | None):
    """The gate's ``extra_figures`` hook: the detector measured on users' verdicts."""
    if feedback is None:
        return None
    if kind != "detector":
        raise typer.BadParameter("only detectors are measured on feedback", param_hint="--feedback")
    from lab.feedback import feedback_figures

    return lambda population_json: feedback_figures(population_json, feedback)


def _gate_data(shards, split, real_clips, cameras, clips, limit, mocap_root, manifest, real):
    from lifecycle.gates import GateData

    if split == "train":
        raise typer.BadParameter("a gate never measures on training data", param_hint="--split")
    return GateData(
        shards=shards,
        split=split,
        real_clips=real_clips,
        cameras=cameras,
        clips=clips,
        limit=limit,
        mocap_root=mocap_root,
        mocap_manifest=manifest,
        real=real,
    )


@models_app.command("list")
def list_command(
    kind: Annotated[str | None, typer.Option(help="Only this kind.")] = None,
) -> None:
    """Every version of each kind, newest first: aliases, label and figures."""
    from lifecycle.registry import KINDS, versions

    for name in [_kind(kind)] if kind else list(KINDS):
        listed = versions(name)
        typer.echo(f"{name}: {len(listed)} version(s)")
        for info in listed:
            aliases = f" [{', '.join(info.aliases)}]" if info.aliases else ""
            figures = ", ".join(f"{k}={v:.4g}" for k, v in sorted(info.metrics.items()))
            typer.echo(f"  v{info.version}{aliases} {info.label} {figures}".rstrip())


@models_app.command("seed")
def seed_command() -> None:
    """Register the bundled models as version 1 and champion of each kind (empty registry
    only)."""
    from lifecycle.seeding import seed_bundled

    try:
        seeded = seed_bundled()
    except ValueError as exc:
        typer.echo(f"refused: {exc}", err=True)
        raise typer.Exit(1) from None
    for kind, version in seeded.items():
        typer.echo(f"{kind}: version {version} is champion")


@models_app.command("register")
def register_command(
    kind: Kind,
    folder: Annotated[
        Path,
        typer.Option(help="A folder with the kind's files.", exists=True, file_okay=False),
    ],
    label: Annotated[str, typer.Option(help="A name for the version (200 characters).")] = "",
) -> None:
    """Register a folder of model files as a new version (no alias moves)."""
    from lifecycle.registry import ModelCard, register
    from lifecycle.tracking import command_line, fingerprint

    if len(label) > 200:
        raise typer.BadParameter("at most 200 characters", param_hint="--label")
    card = ModelCard(_kind(kind), label, data={"folder": fingerprint(folder)})
    card.command = command_line()
    try:
        version = register(kind, folder, card)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--folder") from None
    typer.echo(f"registered {kind} version {version}")


@models_app.command("gate")
def gate_command(
    kind: Kind,
    version: Version,
    shards: Shards = Path("data/shards"),
    split: Split = "test",
    real_clips: RealClips = Path("data/real-clips"),
    cameras: Cameras = 2,
    clips: Clips = Path("data/heldout"),
    limit: Limit = 40,
    mocap_root: MocapRoot = Path("data/mocap"),
    manifest: Manifest = Path("../shared/mocap/MANIFEST.tsv"),
    real: Real = True,
    out: Out = None,
    track: Track = True,
    feedback: Feedback = None,
) -> None:
    """Measure a version beside the champion on the same data; print and write the table.
    Exits 1 if it would not be promoted."""
    from lifecycle.gates import run_gate

    data = _gate_data(shards, split, real_clips, cameras, clips, limit, mocap_root, manifest, real)
    out = out or Path("out/gates") / f"{_kind(kind)}-v{_version(version)}"
    try:
        report = run_gate(kind, version, data, out, _feedback_figures(kind, feedback), track)
    except LookupError as exc:
        raise typer.BadParameter(str(exc), param_hint="--version") from None
    typer.echo(report.to_markdown())
    typer.echo(f"wrote {out / 'report.md'}")
    if not report.passed:
        raise typer.Exit(1)


@models_app.command("promote")
def promote_command(
    kind: Kind,
    version: Version,
    shards: Shards = Path("data/shards"),
    split: Split = "test",
    real_clips: RealClips = Path("data/real-clips"),
    cameras: Cameras = 2,
    clips: Clips = Path("data/heldout"),
    limit: Limit = 40,
    mocap_root: MocapRoot = Path("data/mocap"),
    manifest: Manifest = Path("../shared/mocap/MANIFEST.tsv"),
    real: Real = True,
    out: Out = None,
    track: Track = True,
    feedback: Feedback = None,
) -> None:
    """Gate a version and make it champion if it passes (the old one becomes
    previous-champion); exits 1 naming the failing figures otherwise."""
    from lifecycle.promotion import GateFailed, promote

    data = _gate_data(shards, split, real_clips, cameras, clips, limit, mocap_root, manifest, real)
    out = out or Path("out/gates") / f"{_kind(kind)}-v{_version(version)}"
    try:
        report = promote(kind, version, data, out, _feedback_figures(kind, feedback), track)
    except LookupError as exc:
        raise typer.BadParameter(str(exc), param_hint="--version") from None
    except GateFailed as exc:
        typer.echo(exc.report.to_markdown())
        typer.echo(f"refused: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(report.to_markdown())
    typer.echo(f"{kind} version {version} is champion (report: {out / 'report.md'})")


@models_app.command("alias")
def alias_command(
    kind: Kind,
    version: Version,
    alias: Annotated[
        str,
        typer.Option(
            help="challenger or previous-champion; champion only back to the previous "
            "champion (a rollback; otherwise promote)."
        ),
    ] = "challenger",
) -> None:
    """Point an alias at a version without a gate."""
    from lifecycle.promotion import move_alias

    try:
        move_alias(_kind(kind), alias, _version(version))
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--alias") from None
    except LookupError as exc:
        raise typer.BadParameter(str(exc), param_hint="--version") from None
    typer.echo(f"{kind} {alias} -> version {version}")
