"""Promotion gates: a candidate version is measured beside the champion, on the same data
in the same run, and may be no worse than it beyond a stated tolerance.

Figures stored on a card are never compared across runs (the data they were measured on
may differ); :func:`run_gate` fetches both versions and measures them here:

- lifters: MPJPE and P-MPJPE (mm) on a split of synthetic shards (``synthetic.*``) and
  on held-out real motion capture filmed by phone cameras as the shards are (``real.*``:
  the ``test`` people of ``coach mocap clips`` -- CMU evaluation subjects and HDM05 --,
  never a training take);
- detector: macro F1, timing IoU and false-alarm rate on held-out labelled simulated
  clips per pose source (``synthetic.<source>.*``), those of ``coach
  evaluate-scoring-real`` on real motion when the archives are there (``real.*``), and
  any ``feedback.*`` figures of an ``extra_figures`` hook (higher is better);
- knee network: per-output ROC AUC on labelled clips (``synthetic.auc_*``).

Each figure is held to the first rule of :data:`TOLERANCES` that matches its name.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from fnmatch import fnmatch
from pathlib import Path

from lifecycle import registry

LOWER, HIGHER = "lower", "higher"  # which way a figure is better
GATE_EXPERIMENT = "coach-gates"


@dataclass(frozen=True)
class Tolerance:
    """How much worse than the champion a figure may be: the larger of ``absolute`` and
    ``relative`` x the champion's value (small held-out sets move by that much alone)."""

    pattern: str
    direction: str
    absolute: float
    relative: float = 0.0

    def allowed(self, champion: float) -> float:
        return max(self.absolute, self.relative * abs(champion))

    def describe(self) -> str:
        worse = "rise" if self.direction == LOWER else "drop"
        if self.relative:
            return f"{worse} <= max({self.absolute:g}, {100 * self.relative:g}%)"
        return f"{worse} <= {self.absolute:g}"


TOLERANCES: tuple[Tolerance, ...] = (
    Tolerance("feedback.*", HIGHER, 0.01),  # agreement with what users marked
    Tolerance("*mpjpe_mm", LOWER, 2.0, 0.02),  # lifters: 2 mm or 2%, MPJPE and P-MPJPE
    Tolerance("*macro_f1", HIGHER, 0.01),
    Tolerance("*timing_iou", HIGHER, 0.02),
    Tolerance("*false_alarm_rate", LOWER, 0.005),  # half a percentage point
    Tolerance("*auc*", HIGHER, 0.01),
)


def tolerance_for(figure: str) -> Tolerance:
    """The rule ``figure`` is held to; ``ValueError`` if none names it."""
    for rule in TOLERANCES:
        if fnmatch(figure, rule.pattern):
            return rule
    raise ValueError(f"no gate tolerance for figure {figure!r}")


@dataclass(frozen=True)
class GateData:
    """What the gates measure on. A folder that does not exist is skipped, saying so.

    ``shards`` (split ``split``, at most ``limit`` sequences) and ``real_clips`` (the
    ``test`` people, at most ``limit`` clips, ``cameras`` each) for lifters; ``clips``
    (held-out labelled clips, at most ``limit``) for the detector and the knee network;
    ``mocap_root`` + ``mocap_manifest`` for the detector on real motion when ``real``."""

    shards: Path | None = None
    split: str = "test"
    real_clips: Path | None = None
    cameras: int = 2
    clips: Path | None = None
    limit: int = 40
    mocap_root: Path | None = None
    mocap_manifest: Path | None = None
    real: bool = True
    strictness: str = "intermediate"
    seed: int = 0


@dataclass
class GateRow:
    figure: str
    champion: float | None
    candidate: float
    tolerance: str
    direction: str
    passed: bool


@dataclass
class GateReport:
    """The gate's verdict: one row per figure, ``notes`` on what was skipped and why."""

    kind: str
    candidate: str
    champion: str | None
    rows: list[GateRow] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.rows) and all(row.passed for row in self.rows)

    def failing(self) -> list[str]:
        return [row.figure for row in self.rows if not row.passed]

    def to_dict(self) -> dict:
        return asdict(self) | {"passed": self.passed}

    def to_markdown(self) -> str:
        champion = f"version {self.champion}" if self.champion else "none"
        lines = [
            f"# Gate: {self.kind} version {self.candidate} (champion: {champion})",
            "",
            f"**{'PASSED' if self.passed else 'FAILED'}**"
            + (f": worse than allowed on {', '.join(self.failing())}" if self.failing() else ""),
            "",
            "| figure | champion | candidate | tolerance | better | passed |",
            "|---|---|---|---|---|---|",
        ]
        for row in self.rows:
            held = "-" if row.champion is None else f"{row.champion:.4g}"
            lines.append(
                f"| {row.figure} | {held} | {row.candidate:.4g} | {row.tolerance} "
                f"| {row.direction} | {'yes' if row.passed else '**no**'} |"
            )
        return "\n".join(lines + [""] + [f"- {note}" for note in self.notes]) + "\n"

    def write(self, out: Path) -> Path:
        """``report.md`` and ``report.json`` into ``out``; returns the markdown's path."""
        out.mkdir(parents=True, exist_ok=True)
        (out / "report.json").write_text(json.dumps(self.to_dict(), indent=1) + "\n")
        (out / "report.md").write_text(self.to_markdown())
        return out / "report.md"


def compare(
    champion: dict[str, float] | None, candidate: dict[str, float]
) -> tuple[list[GateRow], list[str]]:
    """Rows for every figure of ``candidate`` (``champion`` None: no champion yet, every
    row passes on the candidate's figures alone), and notes on figures only one has."""
    rows, notes = [], []
    for figure, value in sorted(candidate.items()):
        rule = tolerance_for(figure)
        held = None if champion is None else champion.get(figure)
        if champion is not None and held is None:
            notes.append(f"{figure}: the champion has no such figure; not gated")
            continue
        if held is None:
            passed = True
        elif rule.direction == LOWER:
            passed = value <= held + rule.allowed(held)
        else:
            passed = value >= held - rule.allowed(held)
        rows.append(GateRow(figure, held, value, rule.describe(), rule.direction, passed))
    return rows, notes


# -- measuring ------------------------------------------------------------------------


def _exists(path: Path | None) -> bool:
    return path is not None and Path(path).exists()


def lifter_records(data: GateData, notes: list[str]) -> dict[str, list]:
    """The gate's sequences per source (``synthetic``, ``real``), loaded once for both
    versions."""
    from pose3d.shards import load_split

    sources: dict[str, list] = {}
    if _exists(data.shards):
        records = load_split(data.shards, data.split)[: data.limit]
        if records:
            sources["synthetic"] = records
            notes.append(f"synthetic: {len(records)} {data.split} sequences of {data.shards}")
    else:
        notes.append(f"synthetic: no shards at {data.shards}; skipped")
    if _exists(data.real_clips):
        from dataflow_jobs.records import film_clip
        from lab.front_end_eval import held_out_clips

        clips = held_out_clips(Path(data.real_clips), "test", data.limit)
        records = [r for clip in clips for r in film_clip(clip, data.cameras, data.seed)]
        if records:
            sources["real"] = records
            notes.append(
                f"real: {len(clips)} test-split clips of {data.real_clips} (held-out people), "
                f"{data.cameras} cameras each"
            )
    else:
        notes.append(f"real: no clips at {data.real_clips} (coach mocap clips); skipped")
    return sources


def lifter_figures(folder: Path, sources: dict[str, list]) -> dict[str, float]:
    """MPJPE and P-MPJPE (mm) of the version in ``folder`` on each source's sequences."""
    from pose3d.checkpoint import load_checkpoint
    from pose3d.evaluation import evaluate_model, summarise

    model = load_checkpoint(Path(folder) / "lifter.pt").model
    figures = {}
    for source, records in sources.items():
        overall = summarise(evaluate_model(model, records))["overall"]
        figures |= {f"{source}.{name}_mm": overall[name] for name in ("mpjpe", "p_mpjpe")}
    return figures


def scoring_clips(data: GateData, notes: list[str]) -> dict[str, list]:
    """The held-out labelled clips prepared per pose source, once for both versions."""
    from lab.clips import MODE_NAMES, clip_paths, prepare_clips
    from pose3d.lifter import Lifter

    if not _exists(data.clips):
        notes.append(f"synthetic: no clips at {data.clips}; skipped")
        return {}
    paths = clip_paths(data.clips, data.limit)
    if not paths:
        notes.append(f"synthetic: no clip files in {data.clips}; skipped")
        return {}
    lifter = Lifter.for_recordings()
    notes.append(f"synthetic: {len(paths)} held-out clips of {data.clips} ({data.strictness})")
    return {
        name.split()[0]: prepare_clips(paths, source, lifter) for source, name in MODE_NAMES.items()
    }


def detector_figures(
    folder: Path,
    prepared: dict[str, list],
    data: GateData,
    extra_figures: Callable[[Path], dict[str, float]] | None,
) -> dict[str, float]:
    """Macro F1, timing IoU and false alarms of the detector in ``folder`` per pose
    source; real-motion figures when the archives are there; the hook's figures."""
    from lab.calibration import score_clips
    from scoring import PopulationModel

    population_json = Path(folder) / "population.json"
    population = PopulationModel.load(population_json)
    figures: dict[str, float] = {}
    cache: dict = {}
    for source, clips in prepared.items():
        summary = score_clips(clips, population, data.strictness, cache).summary(len(clips))
        for name in registry.DETECTOR_FIGURES:
            figures[f"synthetic.{source}.{name}"] = float(summary[name])
    if data.real and _exists(data.mocap_root) and _exists(data.mocap_manifest):
        from lab.real_scoring_eval import DECIDERS, SOURCES, TEST_GROUP, evaluate_real_scoring
        from scoring import PoseSource

        with tempfile.TemporaryDirectory() as out:
            evaluate_real_scoring(
                Path(data.mocap_root), Path(data.mocap_manifest), Path(out), population_json
            )
            groups = json.loads((Path(out) / "metrics.json").read_text())["groups"]
        summary = groups[TEST_GROUP][SOURCES[PoseSource.LIFTED]][DECIDERS[0]]
        for name in registry.DETECTOR_FIGURES:
            figures[f"real.lifted.{name}"] = float(summary[name])
    if extra_figures is not None:
        extra = extra_figures(population_json)
        strays = [name for name in extra if not name.startswith("feedback.")]
        if strays:
            raise ValueError(f"extra gate figures must start with 'feedback.': {strays}")
        figures |= {name: float(value) for name, value in extra.items()}
    return figures


def knee_examples(data: GateData, notes: list[str]) -> list:
    """Each labelled clip filmed once with detector noise, for both versions."""
    from lab.clips import clip_paths
    from lab.knee_net_training import clip_examples
    from synthetic_data.clip import read_clip

    if not _exists(data.clips):
        notes.append(f"synthetic: no clips at {data.clips}; skipped")
        return []
    paths = clip_paths(data.clips, data.limit)
    notes.append(f"synthetic: {len(paths)} labelled clips of {data.clips}, filmed once each")
    return [
        example
        for number, path in enumerate(paths)
        for example in clip_examples(read_clip(path), 1, data.seed * 1_000_003 + number)
    ]


def knee_figures(folder: Path, examples: list) -> dict[str, float]:
    """Per-output ROC AUC of the network in ``folder`` over every frame of ``examples``."""
    from lab.knee_net_training import held_out_auc
    from scoring.knee_net import KneeNet

    network = KneeNet.load(Path(folder) / "knee_net.pt")
    return {f"synthetic.auc_{k}": v for k, v in held_out_auc(network.model, examples).items()}


def measure(
    kind: str,
    folders: list[Path],
    data: GateData,
    extra_figures: Callable[[Path], dict[str, float]] | None = None,
) -> tuple[list[dict[str, float]], list[str]]:
    """The figures of each version folder of ``kind`` on the same data; notes on it."""
    registry.kind_of(kind)
    notes: list[str] = []
    if kind.startswith("lifter"):
        sources = lifter_records(data, notes)
        figures = [lifter_figures(folder, sources) for folder in folders]
    elif kind == "detector":
        prepared = scoring_clips(data, notes)
        if not (data.real and _exists(data.mocap_root) and _exists(data.mocap_manifest)):
            notes.append("real: no mocap archives (or --no-real); skipped")
        figures = [detector_figures(f, prepared, data, extra_figures) for f in folders]
    else:
        examples = knee_examples(data, notes)
        figures = [knee_figures(folder, examples) if examples else {} for folder in folders]
    return figures, notes


def run_gate(
    kind: str,
    version: str,
    data: GateData,
    out: Path | None = None,
    extra_figures: Callable[[Path], dict[str, float]] | None = None,
    track: bool = True,
) -> GateReport:
    """Measure version ``version`` of ``kind`` and the champion on ``data``; write the
    report into ``out`` and log it to the ``coach-gates`` experiment. No figure at all
    (no data found) fails the gate."""
    from lifecycle.tracking import fingerprints, tracked_run

    candidate = registry.fetch(kind, version)
    held = registry.alias_version(kind, "champion")
    champion = registry.fetch(kind, held) if held is not None else None
    itself = held == candidate.version  # measured once, compared with itself
    folders = [candidate.folder] + ([champion.folder] if champion and not itself else [])
    paths = {
        "shards": data.shards,
        "real_clips": data.real_clips,
        "clips": data.clips,
        "manifest": data.mocap_manifest,
    }
    params = {"kind": kind, "candidate": candidate.version, "champion": held or "none"}
    params |= {k: v for k, v in asdict(data).items() if k not in paths}
    prints = fingerprints({k: v for k, v in paths.items() if _exists(v)})
    run_name = f"{kind} v{candidate.version} vs {held or 'none'}"
    with tracked_run(GATE_EXPERIMENT, run_name, params, prints, track) as tracker:
        figures, notes = measure(kind, folders, data, extra_figures)
        if itself:
            figures.append(figures[0])
            notes.append("the candidate is the champion")
        rows, more = compare(figures[1] if champion else None, figures[0])
        report = GateReport(kind, candidate.version, held, rows, notes + more)
        if champion is None:
            report.notes.append("no champion yet: passed on the candidate's figures alone")
        if not rows:
            report.notes.append("no figure measured (no data, or no error labelled in it): failed")
        tracker.log_metrics({f"candidate.{k}": v for k, v in figures[0].items()})
        if champion:
            tracker.log_metrics({f"champion.{k}": v for k, v in figures[1].items()})
        tracker.log_metrics({"passed": float(report.passed)})
        with tempfile.TemporaryDirectory() as staging:
            target = Path(out) if out is not None else Path(staging)
            report.write(target)
            tracker.log_artifact(target / "report.md", "gate")
            tracker.log_artifact(target / "report.json", "gate")
    return report
