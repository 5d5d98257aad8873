"""The models the service scores with: the bundled files, or versions from the registry.

A :class:`ModelSet` is one complete set: the causal lifter (live streams), the lifter for
recordings, and the population model with its detector and the knee network the
detector reads (they travel together: the detector's features are the network's
outputs). Each kind's origin is a :class:`ServedModel` (``GET /v1/models``, and the
``models`` of each report). With ``COACH_MODEL_SOURCE=registry`` every kind is fetched
through :func:`lifecycle.registry.fetch` at start-up; a registry that cannot be reached
or lacks the alias stops the start with a :class:`ModelSourceError` naming the kind and
the URI, so an API never serves half a set. A shadow set (``COACH_SHADOW_ALIAS``) takes
the alias's version of the kinds that have one and shares the served models of the rest.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import Literal

from lifecycle import registry, store
from lifecycle.bundled import bundled_figures, bundled_label
from pose3d.lifter import Lifter
from scoring import PopulationModel
from scoring.knee_net import KneeNet

logger = logging.getLogger(__name__)

Source = Literal["bundled", "file", "registry"]  # file: a configured lifter checkpoint
LIFTERS = ("lifter-causal", "lifter-recordings")
# The kinds that score a recorded session (the causal lifter only streams live).
RECORDED_KINDS = ("lifter-recordings", "detector", "knee-net")
LIVE_KINDS = ("lifter-causal", *RECORDED_KINDS)


class ModelSourceError(RuntimeError):
    """The configured models cannot be served (the message names the kind and where)."""


@dataclass(frozen=True)
class ServedModel:
    """Where one kind's served model came from: ``registered_version`` and ``alias`` are
    None for a bundled (or configured) file; ``metrics`` its figures (the version card's,
    or a lifter checkpoint's own)."""

    kind: str
    source: Source
    label: str
    registered_version: str | None = None
    alias: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """What a report names it by: the registered version, else its label."""
        return self.registered_version or self.label


@dataclass(frozen=True)
class ModelSet:
    """One complete set of models and where each came from (``served``, per kind; a kind
    with no model, e.g. no bundled knee network, is absent)."""

    lifter: Lifter
    recordings: Lifter
    population: PopulationModel | None
    served: dict[str, ServedModel]

    def names(self, kinds: tuple[str, ...] = RECORDED_KINDS) -> dict[str, str]:
        """``{kind: version or label}`` of ``kinds``: what a report says scored it."""
        return {kind: self.served[kind].name for kind in kinds if kind in self.served}


def bundled_set(settings) -> ModelSet:
    """The committed models; ``settings.lifter_checkpoint`` (a file) replaces both
    lifters when set, as before the registry existed."""
    if settings.lifter_checkpoint is not None:
        lifter = recordings = Lifter.from_checkpoint(settings.lifter_checkpoint)
        source: Source = "file"
    else:
        lifter, recordings, source = Lifter.from_checkpoint(), Lifter.for_recordings(), "bundled"
    population = PopulationModel.load()
    served = {
        kind: ServedModel(
            kind, source, model.metadata.version, metrics=_floats(model.metadata.metrics)
        )
        for kind, model in zip(LIFTERS, (lifter, recordings), strict=True)
    }
    if population is not None:
        kinds = ["detector"] + (["knee-net"] if population.knee_network() is not None else [])
        for kind in kinds:
            label, figures = bundled_label(kind), bundled_figures(kind)
            served[kind] = ServedModel(kind, "bundled", label, metrics=figures)
    return ModelSet(lifter, recordings, population, served)


def registry_set(alias: str, settings, fallback: ModelSet | None = None) -> ModelSet:
    """Each kind's version ``alias`` (an alias or a version number) from the registry,
    cached under ``settings.resolved_model_cache_dir``. Without ``fallback`` every kind
    must have it; with one (a shadow set), kinds without it take ``fallback``'s model.
    :class:`ModelSourceError` naming the kind and the registry's URI otherwise."""
    fetched: dict[str, registry.FetchedModel] = {}
    for kind in registry.KINDS:
        try:
            fetched[kind] = registry.fetch(kind, alias, settings.resolved_model_cache_dir)
        except LookupError as exc:
            if fallback is None:
                raise _source_error(kind, alias, exc) from None
        except Exception as exc:  # unreachable server, broken version: stop, say where
            raise _source_error(kind, alias, exc) from exc
    served = dict(fallback.served) if fallback is not None else {}
    served |= {
        kind: ServedModel(
            kind,
            "registry",
            found.card.label or f"{kind} v{found.version}",
            found.version,
            alias,
            _floats(found.card.metrics),
        )
        for kind, found in fetched.items()
    }
    lifter = _lifter(fetched, "lifter-causal", alias, fallback)
    if not lifter.causal:
        raise ModelSourceError(f"lifter-causal {alias!r} is not causal: it cannot stream live")
    recordings = _lifter(fetched, "lifter-recordings", alias, fallback)
    return ModelSet(lifter, recordings, _population(fetched, alias, fallback), served)


def shadow_set(settings, served: ModelSet) -> ModelSet | None:
    """The set ``settings.shadow_alias`` names (None when unset, or when no kind has that
    alias yet: nothing to compare, said in the log)."""
    alias = settings.shadow_alias
    if not alias:
        return None
    shadow = registry_set(alias, settings, fallback=served)
    if all(model.alias != alias for model in shadow.served.values()):
        logger.warning("no model has the shadow alias %r in %s", alias, store.tracking_uri())
        return None
    return shadow


def _lifter(fetched, kind: str, alias: str, fallback: ModelSet | None) -> Lifter:
    if kind not in fetched:
        return fallback.lifter if kind == "lifter-causal" else fallback.recordings
    try:
        return Lifter.from_checkpoint(fetched[kind].file("lifter.pt"))
    except Exception as exc:  # a registered file the lifter cannot read: stop, say which
        raise _source_error(kind, alias, exc) from exc


def _population(fetched, alias: str, fallback: ModelSet | None) -> PopulationModel | None:
    """The detector's population model with the knee network it reads: the alias's
    version of each where there is one, the fallback's otherwise."""
    knee_net = None
    if "knee-net" in fetched:
        knee_net = KneeNet.load(fetched["knee-net"].file("knee_net.pt"))
    elif fallback is not None and fallback.population is not None:
        knee_net = fallback.population.knee_network()
    if "detector" in fetched:
        return PopulationModel.load(fetched["detector"].file("population.json"), knee_net)
    if fallback.population is None or knee_net is None:
        return fallback.population
    return replace(fallback.population, knee_net=knee_net)


def _source_error(kind: str, alias: str, exc: Exception) -> ModelSourceError:
    return ModelSourceError(
        f"cannot serve the {kind} model {alias!r} from the model registry at "
        f"{store.tracking_uri()}: {exc}"
    )


def _floats(metrics: dict) -> dict[str, float]:
    return {name: float(value) for name, value in metrics.items()}
