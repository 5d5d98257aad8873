"""``coach``: the single command-line entry point (see ``coach --help``).

Sub-commands import their packages inside the command function so that ``coach --help``
and light commands start fast (torch, Beam and coremltools are slow to import).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

import typer

from coach_cli.models import models_app
from coach_cli.phone_rollout import export_phone

app = typer.Typer(
    help="AI fitness and dance coach: lifting, scoring, data pipelines, demo and export "
    "(the API service itself: coach-api).",
    no_args_is_help=True,
    add_completion=False,
)
bench_app = typer.Typer(help="Speed and memory benchmarks (print a table, write JSON).")
app.add_typer(bench_app, name="bench")
synth_app = typer.Typer(
    help="Simulated workout and dance clips with labelled form errors.",
    invoke_without_command=True,
)
app.add_typer(synth_app, name="synth")
dataflow_app = typer.Typer(help="Apache Beam jobs (DirectRunner here, Dataflow at scale).")
app.add_typer(dataflow_app, name="dataflow")
mocap_app = typer.Typer(help="Real motion capture (../shared/mocap) for training and evaluation.")
app.add_typer(mocap_app, name="mocap")
app.add_typer(models_app, name="models")
_PASS_THROUGH = {"allow_extra_args": True, "ignore_unknown_options": True}
Track = Annotated[
    bool,
    typer.Option(
        "--track/--no-track",
        help="Log params, data fingerprints, metrics and outputs to MLflow (./mlruns, "
        "COACH_MLFLOW_DIR or COACH_MLFLOW_TRACKING_URI).",
    ),
]
Register = Annotated[
    bool,
    typer.Option("--register", help="Register the result as a new model version (no alias moves)."),
]


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Folder for the demo's outputs.")] = Path("out/demo"),
) -> None:
    """A simulated trainer and user through the HTTP API: feedback, HTML report, lift error."""
    from coach_cli.demo import run_demo
    from pose3d.lifter import ModelNotBundledError

    try:
        run_demo(out)
    except ModelNotBundledError as exc:
        raise typer.BadParameter(str(exc)) from None


@synth_app.callback()
def synth(
    ctx: typer.Context,
    out: Annotated[Path | None, typer.Option(help="Folder for the clip files.")] = None,
    clips: Annotated[int, typer.Option(min=1, help="Number of user clips.")] = 60,
    seed: Annotated[int, typer.Option(help="Base seed of the batch.")] = 0,
    exercises: Annotated[
        list[str] | None, typer.Option("--exercises", help="Movements (repeat); default all.")
    ] = None,
    workers: Annotated[int, typer.Option(min=1, help="Parallel processes.")] = 1,
    cameras: Annotated[int, typer.Option(min=1, help="Phone cameras per clip.")] = 1,
    duration: Annotated[
        float | None, typer.Option(help="Clip length in seconds (default: whole reps).")
    ] = None,
    fps: Annotated[float, typer.Option(min=1, help="Frame rate.")] = 30.0,
    deep_squat_share: Annotated[
        float,
        typer.Option(min=0, max=1, help="Share of the squats done deep, below parallel."),
    ] = 0.0,
    style_variation: Annotated[
        float,
        typer.Option(
            min=0, max=2, help="How much correct users' posture differs from the trainer's."
        ),
    ] = 0.0,
    stance_variation: Annotated[
        float,
        typer.Option(
            min=0, max=2, help="How far users turn their toes out (1: 10-45 deg in a squat)."
        ),
    ] = 0.0,
    camera_coverage: Annotated[
        str,
        typer.Option(
            help="Where the phone stands: 'front' (within 60 deg of the facing) or "
            "'anywhere' (all around the person, as real users film)."
        ),
    ] = "front",
) -> None:
    """Generate clips (``coach synth --out DIR``) or preview one (``coach synth preview``)."""
    if ctx.invoked_subcommand is not None:
        return
    if out is None:
        raise typer.BadParameter("--out is required to generate clips", param_hint="--out")
    from synthetic_data.batch import generate_batch, plan_requests

    try:
        requests = plan_requests(
            clips,
            seed,
            exercises,
            fps=fps,
            duration_s=duration,
            num_cameras=cameras,
            deep_squat_share=deep_squat_share,
            style_variation=style_variation,
            stance_variation=stance_variation,
            camera_coverage=camera_coverage,
        )
    except ValueError as exc:
        hint = "--camera-coverage" if "coverage" in str(exc) else "--exercises"
        raise typer.BadParameter(str(exc), param_hint=hint) from None
    manifest = generate_batch(out, requests, workers=workers)
    typer.echo(f"wrote {clips} clips and trainer references; manifest: {manifest}")


@synth_app.command("preview")
def synth_preview(
    clip: Annotated[Path, typer.Argument(help="A .clip.npz file.", exists=True)],
    out: Annotated[Path, typer.Option(help="PNG to write.")] = Path("preview.png"),
    frames: Annotated[int, typer.Option(min=1, help="Frames on the sheet.")] = 8,
    camera: Annotated[int, typer.Option(min=0, help="Which of the clip's cameras.")] = 0,
) -> None:
    """Draw a clip: the phone's 2D view and the 3D skeleton, errors in red."""
    from synthetic_data.clip import ClipFormatError, read_clip
    from synthetic_data.preview import contact_sheet

    try:
        loaded = read_clip(clip)
    except ClipFormatError as exc:
        raise typer.BadParameter(str(exc), param_hint="CLIP") from None
    if camera >= len(loaded.cameras):
        raise typer.BadParameter(
            f"the clip has {len(loaded.cameras)} camera(s)", param_hint="--camera"
        )
    typer.echo(f"wrote {contact_sheet(loaded, out, frames=frames, camera=camera)}")


@synth_app.command("gallery")
def synth_gallery(
    out: Annotated[Path, typer.Option(help="Folder for the PNGs.")] = Path("docs/previews"),
) -> None:
    """Preview every movement done correctly and with a form error (the docs' images)."""
    from synthetic_data.gallery import write_gallery

    for path in write_gallery(out):
        typer.echo(f"wrote {path}")


@dataflow_app.command("build-shards", context_settings=_PASS_THROUGH, add_help_option=False)
def dataflow_build_shards(ctx: typer.Context) -> None:
    """Clips (ours, BVH, Unity SOLO) -> filmed, normalised, split training shards.

    Flags: --input PATTERN --output DIR_OR_GS_URL [--cameras-per-clip K] [--window W]
    [--num-shards N] [--seed S] [--skip-existing] [--dry-run] [Beam runner flags].
    """
    from dataflow_jobs.cli import build_shards_main

    raise typer.Exit(build_shards_main(list(ctx.args)))


@dataflow_app.command("generate-clips", context_settings=_PASS_THROUGH, add_help_option=False)
def dataflow_generate_clips(ctx: typer.Context) -> None:
    """The simulator as a Beam job: --count N --output DIR_OR_GS_URL [--seed S] ...."""
    from dataflow_jobs.cli import generate_clips_main

    raise typer.Exit(generate_clips_main(list(ctx.args)))


@dataflow_app.command("rescore", context_settings=_PASS_THROUGH, add_help_option=False)
def dataflow_rescore(ctx: typer.Context) -> None:
    """Exported sessions (coach-api export-sessions) scored by a champion and a candidate
    model set; where they disagree, per kind.

    Flags: --sessions DIR --candidate SPEC --output DIR [--champion SPEC (bundled)]
    [--champion-lifter|--champion-detector|--champion-knee-net SPEC] [--candidate-... SPEC]
    [--dry-run] [Beam runner flags]. SPEC: bundled, registry:REF (alias or version) or a
    folder of the model's files.
    """
    from dataflow_jobs.cli import rescore_main

    raise typer.Exit(rescore_main(list(ctx.args)))


@dataflow_app.command("drift", context_settings=_PASS_THROUGH, add_help_option=False)
def dataflow_drift(ctx: typer.Context) -> None:
    """Drift of production sessions' statistics against the training distribution and the
    previous window: --current A.jsonl --previous B.jsonl --reference REF.jsonl --output DIR
    (drift.json, drift.html) [Beam runner flags]."""
    from dataflow_jobs.cli import drift_main

    raise typer.Exit(drift_main(list(ctx.args)))


def _widths(text: str) -> list[int]:
    try:
        return [int(w) for w in text.split(",")]
    except ValueError:
        raise typer.BadParameter(f"expected comma-separated integers, got {text!r}") from None


def _shares(text: str) -> list[float]:
    if not text:
        return []
    try:
        return [float(share) for share in text.split(",")]
    except ValueError:
        raise typer.BadParameter(f"expected comma-separated numbers, got {text!r}") from None


@app.command()
def train(
    shards: Annotated[Path, typer.Option(help="Folder of training shards.", exists=True)],
    out: Annotated[Path, typer.Option(help="Folder for checkpoints, metrics, plots.")],
    filter_widths: Annotated[str, typer.Option(help="e.g. 3,3,3,3 (81 frames).")] = "3,3,3,3",
    channels: Annotated[int, typer.Option(min=8)] = 256,
    causal: Annotated[bool, typer.Option(help="Causal model for live streaming.")] = True,
    epochs: Annotated[int, typer.Option(min=1)] = 16,
    samples_per_epoch: Annotated[int, typer.Option(min=0, help="0: every frame once.")] = 200_000,
    batch_size: Annotated[int, typer.Option(min=1)] = 512,
    lr: Annotated[float, typer.Option(min=0)] = 1e-3,
    lr_decay: Annotated[float, typer.Option(min=0, max=1)] = 0.9,
    labelled_fraction: Annotated[float, typer.Option(min=0, max=1)] = 1.0,
    semi_supervised: Annotated[bool, typer.Option(help="Reprojection + bone losses.")] = False,
    bone_weight: Annotated[
        float, typer.Option(min=0, help="Weight of a loss on the labelled bones' lengths.")
    ] = 0.0,
    warmup_epochs: Annotated[int, typer.Option(min=0)] = 2,
    seed: Annotated[int, typer.Option()] = 0,
    threads: Annotated[int, typer.Option(min=1)] = 2,
    version: Annotated[str, typer.Option(help="Model version to record.")] = "dev",
    resume: Annotated[bool, typer.Option(help="Continue from OUT/last.pt.")] = False,
    extra_shards: Annotated[
        list[Path] | None,
        typer.Option(
            help="More shard folders to train on (repeat); val stays on --shards.", exists=True
        ),
    ] = None,
    init_from: Annotated[
        Path | None, typer.Option(help="Checkpoint to start from (fine-tuning).", exists=True)
    ] = None,
    source_shares: Annotated[
        str,
        typer.Option(
            help="Share of each batch from --shards and each --extra-shards, in order "
            "(e.g. 0.4,0.3,0.3); default: every frame equally likely."
        ),
    ] = "",
    rare_pose_power: Annotated[
        float,
        typer.Option(
            min=0,
            max=1,
            help="Draw rare postures more often: weight count(posture bin)^-power "
            "(0: every frame alike; 0.5: a deep squat several times as often).",
        ),
    ] = 0.0,
    rare_posture: Annotated[
        Literal["limbs", "legs"],
        typer.Option(help="What posture bins are cut on: limbs (knees, hips, arms) or legs."),
    ] = "limbs",
    track: Track = True,
    register: Register = False,
) -> None:
    """Train the lifter on Beam shards (strided twin, flip augmentation, decays)."""
    from dataclasses import asdict

    from coach_cli.tracked import log_outputs, register_files
    from lifecycle.tracking import fingerprints, tracked_run
    from pose3d.checkpoint import load_checkpoint
    from pose3d.training import TrainConfig
    from pose3d.training import train as run_training

    config = TrainConfig(
        shards=str(shards),
        out=str(out),
        filter_widths=_widths(filter_widths),
        channels=channels,
        causal=causal,
        epochs=epochs,
        samples_per_epoch=samples_per_epoch,
        batch_size=batch_size,
        lr=lr,
        lr_decay=lr_decay,
        labelled_fraction=labelled_fraction,
        semi_supervised=semi_supervised,
        bone_weight=bone_weight,
        warmup_epochs=warmup_epochs,
        seed=seed,
        threads=threads,
        version=version,
        extra_shards=[str(folder) for folder in extra_shards or []],
        init_from=str(init_from or ""),
        source_shares=_shares(source_shares),
        rare_pose_power=rare_pose_power,
        rare_posture=rare_posture,
    )
    data = fingerprints({"shards": shards, "extra_shards": extra_shards or [], "init": init_from})
    with tracked_run("coach-train", f"train {version}", asdict(config), data, track) as tracker:
        try:
            best = run_training(config, resume=resume, on_epoch=tracker.log_step)
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None
        figures = {f"best.{k}": v for k, v in load_checkpoint(best).metadata.metrics.items()}
        tracker.log_metrics(figures)
        log_outputs(tracker, [out / "metrics.jsonl", out / "loss.png", best])
        typer.echo(f"best checkpoint: {best}")
        if register:
            kind = "lifter-causal" if causal else "lifter-recordings"
            number = register_files(kind, {"lifter.pt": best}, tracker, figures, data, version)
            typer.echo(f"registered {kind} version {number}")


@app.command()
def evaluate(
    checkpoint: Annotated[Path, typer.Option(help="The lifter to evaluate.", exists=True)],
    out: Annotated[Path, typer.Option(help="Folder for report.md, metrics.json, plots.")],
    shards: Annotated[Path | None, typer.Option(help="Shard folder (test split).")] = None,
    baseline: Annotated[
        list[Path] | None, typer.Option(help="Baseline checkpoints (repeat).", exists=True)
    ] = None,
    split: Annotated[str, typer.Option(help="Which split of --shards.")] = "test",
    bvh: Annotated[
        list[Path] | None, typer.Option(help="BVH files to film and evaluate on.", exists=True)
    ] = None,
    cameras: Annotated[int, typer.Option(min=1, help="Cameras per BVH clip.")] = 4,
    flip_test: Annotated[
        bool, typer.Option(help="Also report each model averaged with its mirrored input's lift.")
    ] = False,
    track: Track = True,
) -> None:
    """MPJPE, P-MPJPE, N-MPJPE, MPJVE, bone drift, with breakdowns, against baselines; writes
    a report."""
    from coach_cli.tracked import lifter_report_figures
    from lab.evaluate import run_evaluation
    from lifecycle.tracking import fingerprints, tracked_run

    if shards is None and not bvh:
        raise typer.BadParameter("give --shards and/or --bvh")
    params = {"split": split, "cameras": cameras, "baselines": baseline or [], "flip": flip_test}
    data = fingerprints(
        {"checkpoint": checkpoint, "shards": shards, "bvh": bvh or [], "baselines": baseline or []}
    )
    with tracked_run("coach-evaluate", f"evaluate {checkpoint}", params, data, track) as tracker:
        report = run_evaluation(
            checkpoint, out, shards, baseline or [], split, bvh or [], cameras, flip_test
        )
        tracker.log_metrics(lifter_report_figures(out / "metrics.json"))
        tracker.log_artifact(out, "report")
    typer.echo(f"wrote {report}")


@app.command()
def bundle(
    checkpoint: Annotated[Path, typer.Option(help="Trained checkpoint to ship.", exists=True)],
    report: Annotated[Path, typer.Option(help="Its `coach evaluate` output folder.", exists=True)],
    offline: Annotated[
        bool, typer.Option(help="Bundle as the non-causal model for recorded sessions.")
    ] = False,
    command: Annotated[
        str, typer.Option(help="The command that made the weights (recorded beside them).")
    ] = "scripts/train_default.sh",
    extra_report: Annotated[
        list[Path] | None,
        typer.Option(help="More `coach evaluate` folders to ship (repeat).", exists=True),
    ] = None,
    flip_test: Annotated[
        bool,
        typer.Option(
            help="Lift whole sequences averaged with their mirror image (reports made with"
            " `coach evaluate --flip-test`; refit the scoring after)."
        ),
    ] = False,
) -> None:
    """Install a trained lifter as a bundled model (with its metrics and reports)."""
    from lab.evaluate import bundle_default
    from pose3d.lifter import OFFLINE_CHECKPOINT

    target = OFFLINE_CHECKPOINT if offline else None
    typer.echo(
        f"bundled {bundle_default(checkpoint, report, target, command, extra_report, flip_test)}"
    )


@app.command()
def score(
    trainer: Annotated[
        Path, typer.Option(help="Trainer: clip file or keypoint JSON.", exists=True)
    ],
    user: Annotated[Path, typer.Option(help="User: clip file or keypoint JSON.", exists=True)],
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the report JSON.")] = None,
    report: Annotated[Path | None, typer.Option(help="Write the HTML report.")] = None,
    movement: Annotated[str | None, typer.Option(help="Movement (when not in a clip).")] = None,
    strictness: Annotated[str, typer.Option(help="beginner, intermediate or expert.")] = (
        "intermediate"
    ),
) -> None:
    """Score a session against a trainer: summary, JSON report and HTML page."""
    from coach_cli.score import run_score

    try:
        result, performance, reference = run_score(trainer, user, movement, strictness)
    except (ValueError, FileNotFoundError) as exc:  # bad files, bad JSON, no bundled model
        raise typer.BadParameter(str(exc)) from None
    for line in result.summary_lines():
        typer.echo(line)
    if json_out is not None:
        json_out.write_text(json.dumps(result.to_dict(), indent=1) + "\n")
        typer.echo(f"wrote {json_out}")
    if report is not None:
        from scoring.html import render_html, write_html

        page = render_html(
            result,
            performance.poses,
            performance.fps,
            reference,
            performance.beat_times,
            title=f"{reference.movement} session",
        )
        typer.echo(f"wrote {write_html(report, page)}")


@app.command("fit-scoring")
def fit_scoring_command(
    sessions: Annotated[int, typer.Option(min=6, help="Correct sessions to learn from.")] = 180,
    seed: Annotated[
        int, typer.Option(help="First seed (keep clear of evaluation seeds).")
    ] = 500_000,
    validation: Annotated[
        Path | None,
        typer.Option(
            help="Labelled clips (coach synth) to calibrate the thresholds on; never the "
            "held-out evaluation clips.",
            exists=True,
        ),
    ] = None,
    training: Annotated[
        list[Path] | None,
        typer.Option(
            "--training",
            help="Folders of labelled clips (coach synth) to train the learned detector on "
            "(repeat); needs --validation.",
            exists=True,
        ),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Where to write it (default: the bundled model).")
    ] = None,
    units_cache: Annotated[
        Path | None,
        typer.Option(help="Folder to keep the detector's training units in (retrain faster)."),
    ] = None,
    feedback: Annotated[
        Path | None,
        typer.Option(
            help="Users' verdicts on cues (coach-api export-feedback) to train the detector "
            "on too; needs --training.",
            exists=True,
            file_okay=False,
        ),
    ] = None,
    feedback_weight: Annotated[
        float,
        typer.Option(min=0.01, max=100.0, help="How many simulated units one verdict's weighs."),
    ] = 1.0,
    real_mocap: Annotated[
        Path | None,
        typer.Option(
            help="Unpacked motion-capture archives (scripts/train_real.sh unpacks them to "
            "data/mocap): their train-split exercise takes join the detector's training; "
            "needs --training.",
            exists=True,
            file_okay=False,
        ),
    ] = None,
    style_variation: Annotated[
        float,
        typer.Option(
            min=0,
            max=2,
            help="How much the correct sessions' posture differs from the trainer's (as "
            "coach synth --style-variation; give the training folders' value).",
        ),
    ] = 0.0,
    stance_variation: Annotated[
        float,
        typer.Option(
            min=0,
            max=2,
            help="How far the correct sessions' toes turn out (as coach synth "
            "--stance-variation; give the training folders' value).",
        ),
    ] = 0.0,
    track: Track = True,
    register: Register = False,
) -> None:
    """Fit the population model of correct-form variation and, with --training, the learned
    per-repetition detector (both ship with the package)."""
    from coach_cli.tracked import detector_files, log_outputs, register_files, validation_figures
    from lab.scoring_eval import fit_scoring
    from lifecycle.tracking import fingerprints, tracked_run

    if register and not training:
        raise typer.BadParameter("a detector version needs --training", param_hint="--register")
    params = {"sessions": sessions, "seed": seed, "out": out or "bundled"}
    params["feedback_weight"] = feedback_weight
    params["real_mocap"] = str(real_mocap) if real_mocap else None
    params["style_variation"] = style_variation
    params["stance_variation"] = stance_variation
    data = fingerprints(
        {"validation": validation, "training": training or [], "feedback": feedback}
    )
    with tracked_run("coach-fit-scoring", "fit-scoring", params, data, track) as tracker:
        try:
            written = fit_scoring(
                sessions,
                seed,
                validation,
                out,
                training,
                units_cache,
                feedback,
                feedback_weight,
                real_mocap,
                style_variation,
                stance_variation,
            )
            typer.echo(f"wrote {written}")
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None
        files, figures = detector_files(written), validation_figures(written)
        tracker.log_metrics(figures)
        log_outputs(tracker, list(files.values()))
        if register:
            number = register_files("detector", files, tracker, figures, data)
            typer.echo(f"registered detector version {number}")


@app.command("train-knee-net")
def train_knee_net_command(
    clips: Annotated[
        list[Path],
        typer.Option(
            "--clips",
            help="Folders of labelled clips (coach synth; repeat). Never the clips the "
            "detector is trained on (fit-scoring --training) nor the held-out ones.",
            exists=True,
        ),
    ],
    real_mocap: Annotated[
        Path | None,
        typer.Option(
            help="Unpacked motion-capture archives (data/mocap): their train-split takes "
            "join with caving knees injected (not the detector's real training people), "
            "and the network is measured on the real squats, view by view.",
            exists=True,
            file_okay=False,
        ),
    ] = None,
    coverage: Annotated[
        str,
        typer.Option(
            help="Where the clips are filmed from: 'front' (their own camera, within 60 "
            "deg of the facing: the bundled network) or 'anywhere' around the person."
        ),
    ] = "front",
    epochs: Annotated[int, typer.Option(min=1)] = 12,
    seed: Annotated[int, typer.Option()] = 0,
    out: Annotated[
        Path | None, typer.Option(help="Where to write it (default: the bundled network).")
    ] = None,
    track: Track = True,
    register: Register = False,
) -> None:
    """Train the network that reads knee errors from the 2D landmarks (scoring.knee_net);
    refit the detector afterwards (fit-scoring), which reads its outputs."""
    from dataclasses import asdict

    from coach_cli.tracked import log_outputs, register_files
    from lab.knee_net_real import real_caving_report, real_knee_examples
    from lab.knee_net_training import KneeNetTraining, plot_history, train_knee_net
    from lab.real_exercise import training_sessions
    from lifecycle.tracking import fingerprints, tracked_run
    from scoring.knee_net import DEFAULT_PATH
    from synthetic_data.cameras import COVERAGES

    if coverage not in COVERAGES:  # before the real takes are filmed (minutes)
        raise typer.BadParameter(
            f"coverage must be one of {', '.join(COVERAGES)}, got {coverage!r}",
            param_hint="--coverage",
        )
    settings = KneeNetTraining(epochs=epochs, seed=seed, coverage=coverage)
    data = fingerprints({"clips": clips})
    params = asdict(settings) | {"out": out or "bundled", "real_mocap": str(real_mocap)}
    with tracked_run("coach-train-knee-net", "train-knee-net", params, data, track) as tracker:
        real = []
        if real_mocap is not None:
            manifest = real_mocap / "MANIFEST.tsv"
            detector_people = {s.person for s in training_sessions(real_mocap, manifest)}
            real = real_knee_examples(real_mocap, detector_people, seed)
        try:
            network = train_knee_net(clips, settings, on_epoch=tracker.log_step, real=real)
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None
        typer.echo(f"held-out AUC per output: {network.info['held_out_auc']}")
        figures = {f"held_out.auc_{name}": v for name, v in network.info["held_out_auc"].items()}
        if real_mocap is not None:
            report = real_caving_report(network, real_mocap, seed)
            network.info["real_caving_auc"] = report
            typer.echo(f"caving AUC on real squats, by view: {report}")
            for group, aucs in report.items():
                figures |= {f"real_{group}.auc_{band}": v for band, v in aucs.items() if v}
        written = network.save(out or DEFAULT_PATH)
        plot = plot_history(network.info, written.with_suffix(".png"))
        typer.echo(f"wrote {written} and {plot}")
        tracker.log_metrics(figures)
        files = {"knee_net.pt": written, "knee_net.json": written.with_suffix(".json")}
        log_outputs(tracker, [*files.values(), plot])
        if register:
            number = register_files("knee-net", files, tracker, figures, data)
            typer.echo(f"registered knee-net version {number}")


@app.command("evaluate-scoring")
def evaluate_scoring_command(
    clips: Annotated[Path, typer.Option(help="Folder of held-out clip files.", exists=True)],
    out: Annotated[Path, typer.Option(help="Folder for report.md and metrics.json.")] = Path(
        "out/scoring-eval"
    ),
    strictness: Annotated[str, typer.Option()] = "intermediate",
    limit: Annotated[int | None, typer.Option(min=1, help="Use only the first N clips.")] = None,
    population: Annotated[
        Path | None,
        typer.Option(
            help="A population.json from fit-scoring --out (default: the bundled one).", exists=True
        ),
    ] = None,
    live: Annotated[
        bool, typer.Option(help="Also replay every clip through the live socket's session.")
    ] = False,
    track: Track = True,
) -> None:
    """Precision / recall / F1 per error kind, timing IoU and false alarms; writes a report."""
    from coach_cli.tracked import mode_figures
    from lab.scoring_eval import evaluate_scoring
    from lifecycle.tracking import fingerprints, tracked_run

    params = {"strictness": strictness, "limit": limit, "live": live}
    data = fingerprints({"clips": clips, "population": population})
    with tracked_run("coach-evaluate-scoring", str(clips), params, data, track) as tracker:
        try:
            report = evaluate_scoring(clips, out, strictness, limit, population, live)
            typer.echo(f"wrote {report}")
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None
        results = json.loads((out / "metrics.json").read_text())
        tracker.log_metrics(mode_figures(results, "synthetic"))
        tracker.log_artifact(out, "report")


@app.command("drift-reference")
def drift_reference_command(
    clips: Annotated[
        Path | None, typer.Option(help="Folder of labelled clips (coach synth).", exists=True)
    ] = None,
    real_mocap: Annotated[
        Path | None,
        typer.Option(
            help="Instead of --clips: the unpacked mocap archives, whose real exercise "
            "takes (HDM05 squats, CMU jumping jacks) are filmed all around, correct and "
            "with injected errors: real bodies standing in for real users.",
            exists=True,
        ),
    ] = None,
    manifest: Annotated[Path, typer.Option(help="MANIFEST.tsv of the archives.")] = Path(
        "../shared/mocap/MANIFEST.tsv"
    ),
    out: Annotated[Path, typer.Option(help="The JSON-lines file to write.")] = Path(
        "reference.jsonl"
    ),
    limit: Annotated[
        int | None, typer.Option(min=1, help="Use only N clips, spread over the movements.")
    ] = None,
    strictness: Annotated[str, typer.Option(help="beginner, intermediate or expert.")] = (
        "intermediate"
    ),
) -> None:
    """The drift statistics of clips, filmed, lifted and scored as the API scores
    sessions: of training clips, the reference distribution of ``coach dataflow drift``."""
    from lab.drift_reference import real_clips, synthetic_clips, write_reference

    if (clips is None) == (real_mocap is None):
        raise typer.BadParameter("give --clips or --real-mocap", param_hint="--clips")
    try:
        chosen = (
            synthetic_clips(clips, limit)
            if clips is not None
            else real_clips(real_mocap, manifest, limit)
        )
        count = write_reference(chosen, out, strictness)
    except (ValueError, FileNotFoundError) as exc:
        raise typer.BadParameter(str(exc)) from None
    typer.echo(f"{count} clips' statistics: {out}")


@app.command("evaluate-scoring-real")
def evaluate_scoring_real_command(
    root: Annotated[Path, typer.Option(help="The unpacked mocap archives.")] = Path("data/mocap"),
    manifest: Annotated[Path, typer.Option(help="MANIFEST.tsv of the archives.")] = Path(
        "../shared/mocap/MANIFEST.tsv"
    ),
    out: Annotated[Path, typer.Option(help="Folder for report.md and metrics.json.")] = Path(
        "docs/real-scoring-eval"
    ),
    population: Annotated[
        Path | None,
        typer.Option(help="A population.json (default: the bundled one).", exists=True),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of cameras, noise and injected errors.")] = 0,
    checkpoint: Annotated[
        Path | None,
        typer.Option(help="A lifter checkpoint to try (default: the bundled one).", exists=True),
    ] = None,
    live: Annotated[
        bool, typer.Option(help="Also stream every clip through the live socket's session.")
    ] = False,
    trainer: Annotated[
        str,
        typer.Option(
            help="Each session's trainer: another person's take (other-person, as the "
            "product meets users) or the same person's other take (own-take, a diagnosis)."
        ),
    ] = "other-person",
    track: Track = True,
) -> None:
    """Form checks on real motion capture with injected errors, filmed all around."""
    from coach_cli.tracked import real_scoring_figures
    from lab.real_exercise import TRAINER_CHOICES
    from lab.real_scoring_eval import evaluate_real_scoring
    from lifecycle.tracking import fingerprints, tracked_run

    if trainer not in TRAINER_CHOICES:
        choices = ", ".join(TRAINER_CHOICES)
        raise typer.BadParameter(f"{trainer!r} is not one of {choices}", param_hint="--trainer")
    if not manifest.is_file():
        raise typer.BadParameter(f"no manifest at {manifest}", param_hint="--manifest")
    params = {"root": root, "seed": seed, "live": live, "trainer": trainer}
    prints = {"manifest": manifest, "population": population, "checkpoint": checkpoint}
    data = fingerprints(prints)
    with tracked_run("coach-evaluate-scoring-real", str(root), params, data, track) as tracker:
        try:
            report = evaluate_real_scoring(
                root, manifest, out, population, seed, checkpoint, with_live=live, trainer=trainer
            )
        except (ValueError, FileNotFoundError) as exc:
            raise typer.BadParameter(str(exc)) from None
        tracker.log_metrics(real_scoring_figures(out / "metrics.json"))
        tracker.log_artifact(out, "report")
    typer.echo(f"wrote {report}")


@app.command("evaluate-front-end")
def evaluate_front_end_command(
    clips: Annotated[
        Path, typer.Option(help="Folder of real-motion clip files.", exists=True)
    ] = Path("data/real-clips"),
    out: Annotated[Path, typer.Option(help="Folder for report.md and metrics.json.")] = Path(
        "docs/front-end-eval"
    ),
    limit: Annotated[
        int | None, typer.Option(min=1, help="Use only N clips, taken in turn from each person.")
    ] = None,
    split: Annotated[
        str, typer.Option(help="Clips of this split (test: held-out people; validation).")
    ] = "test",
    cameras: Annotated[int, typer.Option(min=1, help="Phone cameras around each person.")] = 4,
    stress: Annotated[
        bool, typer.Option(help="Also film every sequence again with an identity switch.")
    ] = True,
) -> None:
    """Left/right swaps and identity switches repaired before lifting: share fixed, false
    changes, other-person frames caught, MPJPE with and without the repair."""
    from lab.front_end_eval import evaluate_front_end

    try:
        report = evaluate_front_end(clips, out, limit, split, cameras, stress=stress)
        typer.echo(f"wrote {report}")
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


@app.command()
def export(
    out: Annotated[Path, typer.Option(help="Folder for the artifacts and lifter.json.")],
    format: Annotated[str, typer.Option(help="coreml, onnx or all.")] = "all",
    quantize: Annotated[str, typer.Option(help="none, fp16 or int8.")] = "fp16",
    checkpoint: Annotated[Path | None, typer.Option(help="Default: the bundled model.")] = None,
) -> None:
    """Export the lifter for phones: streaming + windowed variants, with a sidecar JSON."""
    from mobile_export.export import FORMATS, export_all

    formats = list(FORMATS) if format == "all" else [format]
    try:
        sidecar = export_all(out, formats, quantize, checkpoint)
    except (ValueError, FileNotFoundError) as exc:
        raise typer.BadParameter(str(exc)) from None
    typer.echo(f"wrote {sidecar}")


app.command("export-phone")(export_phone)


@mocap_app.command("clips")
def mocap_clips(
    root: Annotated[Path, typer.Option(help="The unpacked archives.")] = Path("data/mocap"),
    manifest: Annotated[Path, typer.Option(help="MANIFEST.tsv of the archives.")] = Path(
        "../shared/mocap/MANIFEST.tsv"
    ),
    out: Annotated[Path, typer.Option(help="Folder for the clip files.")] = Path("data/real-clips"),
    variants: Annotated[int, typer.Option(min=0, help="Sampled bodies per training take.")] = 4,
    donor_variants: Annotated[
        int, typer.Option(min=0, help="Other real training subjects' skeletons per take.")
    ] = 0,
    real_body: Annotated[
        bool, typer.Option(help="Also keep each training take on its performer's own body.")
    ] = False,
    seed: Annotated[int, typer.Option(help="Seed of the sampled bodies.")] = 0,
    split: Annotated[
        list[str] | None, typer.Option(help="Only these splits (repeat): train, validation, test.")
    ] = None,
) -> None:
    """Real takes -> clips: training subjects on sampled bodies (and other real
    skeletons), validation and test subjects as they are."""
    from lab.mocap_clips import make_real_clips

    try:
        summary = make_real_clips(
            root, manifest, out, splits=tuple(split or ("train", "validation", "test")),
            variant_count=variants, seed=seed, donor_count=donor_variants, keep_real=real_body,
        )  # fmt: skip
    except ValueError as exc:  # an unknown split
        raise typer.BadParameter(str(exc)) from None
    typer.echo(json.dumps(summary, indent=1))


@app.command("fuzz-api")
def fuzz_api_command(
    out: Annotated[Path, typer.Option(help="Folder for fuzz-summary.json.")] = Path(
        "docs/security"
    ),
    reports: Annotated[Path, typer.Option(help="Folder for schemathesis' reports.")] = Path(
        "runs/fuzz"
    ),
    examples: Annotated[int, typer.Option(min=1, help="Generated cases per operation.")] = 100,
    seed: Annotated[int, typer.Option(help="Schemathesis' random seed.")] = 1,
) -> None:
    """Schemathesis against a fresh server as a user and a trainer: no case may get a 5xx."""
    from bench.fuzz_api import main

    args = ["--out", str(out), "--reports", str(reports), "--examples", str(examples)]
    main([*args, "--seed", str(seed)])


@bench_app.command("synth")
def bench_synth(
    clips: Annotated[int, typer.Option(min=1, help="Clips per measurement.")] = 300,
) -> None:
    """Clips per second per core for 10-s, 30-fps clips (generate, and generate + write)."""
    from bench.synth import main

    main(["--clips", str(clips)])


@bench_app.command("lifter")
def bench_lifter(
    quick: Annotated[bool, typer.Option(help="Shorter sequences, fewer pushes.")] = False,
) -> None:
    """Frames/s of whole-sequence lifting and LiftStream latency per configuration."""
    from bench.lifter import main

    main(["--quick"] if quick else [])


if __name__ == "__main__":
    app()
