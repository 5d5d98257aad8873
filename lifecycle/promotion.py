"""Moving aliases: ``champion`` only through a passed gate (or back to the version it
replaced), ``challenger`` and ``previous-champion`` freely.

A promotion keeps the version it replaces as ``previous-champion``, so a rollback is one
alias move (:func:`move_alias` with ``champion`` onto that version, which swaps the two).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from lifecycle import registry
from lifecycle.gates import GateData, GateReport, run_gate

CHAMPION, PREVIOUS = "champion", "previous-champion"
FREE_ALIASES = ("challenger", PREVIOUS)


class GateFailed(Exception):
    """The candidate is worse than the champion beyond a tolerance (``report`` says where)."""

    def __init__(self, report: GateReport) -> None:
        failing = ", ".join(report.failing()) or "no figure measured"
        super().__init__(f"{report.kind} version {report.candidate} fails the gate: {failing}")
        self.report = report


def promote(
    kind: str,
    version: str,
    data: GateData,
    out: Path | None = None,
    extra_figures: Callable[[Path], dict[str, float]] | None = None,
    track: bool = True,
) -> GateReport:
    """Gate ``version`` against the champion and, if it passes, make it champion (the
    old one becomes ``previous-champion``); :class:`GateFailed` otherwise, nothing moved."""
    report = run_gate(kind, version, data, out, extra_figures, track)
    if not report.passed:
        raise GateFailed(report)
    previous = registry.alias_version(kind, CHAMPION)
    registry.set_alias(kind, CHAMPION, report.candidate)
    if previous is not None and previous != report.candidate:
        registry.set_alias(kind, PREVIOUS, previous)
    return report


def move_alias(kind: str, alias: str, version: str) -> None:
    """Point ``alias`` at ``version`` without a gate: ``challenger``, ``previous-champion``,
    or ``champion`` back onto the ``previous-champion`` (a rollback: the two swap).
    ``ValueError`` for any other move of ``champion``."""
    if alias in FREE_ALIASES:
        registry.set_alias(kind, alias, version)
        return
    if alias != CHAMPION:
        raise ValueError(f"unknown alias {alias!r}; one of champion, {', '.join(FREE_ALIASES)}")
    previous = registry.alias_version(kind, PREVIOUS)
    if version != previous:
        raise ValueError(
            "champion moves only through `coach models promote` (the gates), or back to "
            f"the previous champion (version {previous or 'none'})"
        )
    current = registry.alias_version(kind, CHAMPION)
    registry.set_alias(kind, CHAMPION, version)
    if current is not None:
        registry.set_alias(kind, PREVIOUS, current)
