"""Registered models: each kind of model the product serves, its versions and aliases.

Four registered models, one per kind (:data:`KINDS`): the two lifters (causal for live
streams, non-causal for recordings), the scoring detector (the population model with its
learned per-repetition detector) and the knee network. A version is a folder of the kind's
files plus ``card.json`` (:class:`ModelCard`: its figures, the data it was made from, the
command that made it, the oldest app that can run it), logged as the ``model`` artifact
of a run, so a version is self-contained: :func:`fetch` downloads the files of
``champion``, ``challenger`` or a version number into a local cache and the service loads
them from there. The card's figures are also the version's tags (``metric.<name>``) so the
MLflow UI and :func:`versions` show them without downloading anything.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from lifecycle import store

CARD = "card.json"
ARTIFACT_PATH = "model"
REGISTRY_EXPERIMENT = "coach-registry"
ALIASES = ("champion", "challenger")
# A detector's headline figures (of a scoring evaluation's summary per pose source), as
# its cards, the tracked runs and the gates name them: ``<where>.<source>.<figure>``.
DETECTOR_FIGURES = ("macro_f1", "timing_iou", "false_alarm_rate")


@dataclass(frozen=True)
class ModelKind:
    """One kind of model: its registered name and the files a version must hold."""

    kind: str
    name: str
    files: tuple[str, ...]
    description: str


KINDS: dict[str, ModelKind] = {
    kind.kind: kind
    for kind in (
        ModelKind(
            "lifter-causal",
            "coach-lifter-causal",
            ("lifter.pt",),
            "Causal temporal convolution lifter: live streams and the phone (2D -> 3D).",
        ),
        ModelKind(
            "lifter-recordings",
            "coach-lifter-recordings",
            ("lifter.pt",),
            "Non-causal lifter for recorded sessions and routines (2D -> 3D).",
        ),
        ModelKind(
            "detector",
            "coach-detector",
            ("population.json", "population.detector.npz", "population.detector.json"),
            "Population model of correct form and the learned per-repetition detector.",
        ),
        ModelKind(
            "knee-net",
            "coach-knee-net",
            ("knee_net.pt", "knee_net.json"),
            "Network reading knee errors from the 2D landmarks (the detector's input).",
        ),
    )
}


@dataclass
class ModelCard:
    """What a version is: ``metrics`` flat (``"synthetic.mpjpe_mm"``, ``"real.macro_f1"``),
    ``data`` the fingerprints of what it was trained on, ``command`` what made it,
    ``min_app_version`` the oldest app that runs it (phone lifters; ``""`` otherwise)."""

    kind: str
    label: str = ""
    metrics: dict[str, float] = field(default_factory=dict)
    data: dict[str, str] = field(default_factory=dict)
    command: str = ""
    min_app_version: str = ""
    run_id: str = ""

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> ModelCard:
        data = json.loads(text)
        return cls(**{key: data[key] for key in cls.__dataclass_fields__ if key in data})

    def tags(self) -> dict[str, str]:
        """The card as model-version tags (what the UI and :func:`versions` show)."""
        tags = {"kind": self.kind, "label": self.label, "command": self.command[:4000]}
        tags["min_app_version"] = self.min_app_version
        tags |= {f"metric.{name}": repr(float(value)) for name, value in self.metrics.items()}
        tags |= {f"data.{name}": value for name, value in self.data.items()}
        return tags


@dataclass(frozen=True)
class FetchedModel:
    """A version's files on local disk: ``folder`` holds the kind's files and the card."""

    kind: str
    version: str
    folder: Path
    card: ModelCard

    def file(self, name: str) -> Path:
        return self.folder / name


@dataclass(frozen=True)
class VersionInfo:
    """A registered version as the registry lists it (tags only, nothing downloaded)."""

    kind: str
    version: str
    aliases: tuple[str, ...]
    label: str
    metrics: dict[str, float]
    min_app_version: str
    run_id: str
    created_ms: int


def kind_of(kind: str) -> ModelKind:
    """The :class:`ModelKind` called ``kind``; ``ValueError`` naming the known ones."""
    if kind not in KINDS:
        raise ValueError(f"unknown model kind {kind!r}; one of {', '.join(KINDS)}")
    return KINDS[kind]


def check_folder(kind: str, folder: Path) -> None:
    """``ValueError`` naming the files ``folder`` lacks for a version of ``kind``, or,
    for a detector, what is wrong with its trees (registered or fetched, a detector that
    could not be served is refused here, not when a replica loads it)."""
    missing = [name for name in kind_of(kind).files if not (Path(folder) / name).is_file()]
    if missing:
        raise ValueError(f"{folder} is not a {kind} model: missing {', '.join(missing)}")
    if kind == "detector":
        from scoring.detector import FormErrorDetector  # only the detector's check needs it
        from scoring.population import detector_path

        # MalformedDetector (a ValueError) naming what is wrong
        FormErrorDetector.load(detector_path(Path(folder) / "population.json"))


def register(kind: str, folder: Path, card: ModelCard, run_id: str | None = None) -> str:
    """Register the files of ``folder`` (:func:`check_folder`) with ``card`` as a new
    version of ``kind``; returns its version number. The files are logged as the
    ``model`` artifact of ``run_id`` (the training run that made them), or of a new run
    in the ``coach-registry`` experiment. No alias moves: promotion does that."""
    spec = kind_of(kind)
    folder = Path(folder)
    check_folder(kind, folder)
    client = store.client()
    if run_id is None:
        experiment = store.experiment_id(REGISTRY_EXPERIMENT)
        run_id = client.create_run(experiment, run_name=f"register {kind}").info.run_id
        client.set_terminated(run_id)
    card.kind, card.run_id = kind, run_id
    with tempfile.TemporaryDirectory() as staging:
        staged = Path(staging) / ARTIFACT_PATH
        staged.mkdir()
        for name in spec.files:
            shutil.copy2(folder / name, staged / name)
        (staged / CARD).write_text(card.to_json())
        client.log_artifacts(run_id, str(staged), ARTIFACT_PATH)
    if not client.search_registered_models(filter_string=f"name = '{spec.name}'"):
        client.create_registered_model(spec.name, description=spec.description)
    version = client.create_model_version(
        spec.name, f"runs:/{run_id}/{ARTIFACT_PATH}", run_id, tags=card.tags()
    )
    return str(version.version)


def _model_version(kind: str, ref: str):
    """The MLflow model version of ``kind`` that ``ref`` names (an alias or a number);
    ``LookupError`` saying which is missing."""
    from mlflow.exceptions import MlflowException

    name = kind_of(kind).name
    try:
        if ref.isdigit():
            return store.client().get_model_version(name, ref)
        return store.client().get_model_version_by_alias(name, ref)
    except MlflowException:
        raise LookupError(f"{name} has no version {ref!r} in {store.tracking_uri()}") from None


def set_alias(kind: str, alias: str, version: str) -> None:
    """Point ``alias`` of ``kind`` at ``version`` (which must exist)."""
    _model_version(kind, version)
    store.client().set_registered_model_alias(kind_of(kind).name, alias, version)


def alias_version(kind: str, alias: str) -> str | None:
    """The version ``alias`` points at, ``None`` if it points nowhere."""
    try:
        return str(_model_version(kind, alias).version)
    except LookupError:
        return None


def fetch(kind: str, ref: str = "champion", cache_dir: Path | None = None) -> FetchedModel:
    """The files of version ``ref`` (alias or number) of ``kind``, downloaded once into
    ``cache_dir/<name>/<version>`` (default: the store's ``cache`` folder) and checked."""
    spec = kind_of(kind)
    found = _model_version(kind, ref)
    version = str(found.version)
    cache_dir = Path(cache_dir) if cache_dir is not None else store.store_dir() / "cache"
    target = cache_dir / spec.name / version
    if not (target / CARD).is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{version}-"))
        try:
            downloaded = store.client().download_artifacts(found.run_id, ARTIFACT_PATH, staging)
            check_folder(kind, Path(downloaded))
            if not (Path(downloaded) / CARD).is_file():
                raise ValueError(f"{spec.name} version {version} has no {CARD}")
            try:  # whole or not at all: a crash leaves no half copy
                os.replace(downloaded, target)
            except OSError:
                # Another process (a second replica sharing the cache) got there first.
                if not (target / CARD).is_file():
                    raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    card = ModelCard.from_json((target / CARD).read_text())
    return FetchedModel(kind, version, target, card)


def versions(kind: str) -> list[VersionInfo]:
    """Every registered version of ``kind``, newest first, with aliases and figures."""
    spec = kind_of(kind)
    client = store.client()
    if not client.search_registered_models(filter_string=f"name = '{spec.name}'"):
        return []
    aliases: dict[str, list[str]] = {}
    for alias, version in (client.get_registered_model(spec.name).aliases or {}).items():
        aliases.setdefault(str(version), []).append(alias)
    found = client.search_model_versions(f"name = '{spec.name}'")
    listed = []
    for mv in sorted(found, key=lambda mv: int(mv.version), reverse=True):
        tags = mv.tags or {}
        listed.append(
            VersionInfo(
                kind=kind,
                version=str(mv.version),
                aliases=tuple(sorted(aliases.get(str(mv.version), []))),
                label=tags.get("label", ""),
                metrics={
                    name.removeprefix("metric."): float(value)
                    for name, value in tags.items()
                    if name.startswith("metric.")
                },
                min_app_version=tags.get("min_app_version", ""),
                run_id=mv.run_id or "",
                created_ms=int(mv.creation_timestamp or 0),
            )
        )
    return listed
