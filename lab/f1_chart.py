"""The F1-per-error-kind chart and interval text of the scoring reports."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def interval_text(interval: list[float] | None) -> str:
    """A 90% interval as ``low-high`` (``-`` without one)."""
    return f"{interval[0]}-{interval[1]}" if interval else "-"


def plot_f1(results: dict[str, dict], path: Path) -> Path:
    """Bar chart of F1 per error kind, one bar per mode (whiskers: the 90% bootstrap
    interval), with the 0.9 target line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kinds = sorted({kind for result in results.values() for kind in result["per_kind"]})
    fig, ax = plt.subplots(figsize=(9, 3.6))
    width = 0.8 / max(1, len(results))
    for number, (mode, result) in enumerate(results.items()):
        metrics = [result["per_kind"].get(kind, {}) for kind in kinds]
        f1 = np.array([m.get("f1", 0.0) for m in metrics])
        low, high = np.array([m.get("f1_interval", [m.get("f1", 0.0)] * 2) for m in metrics]).T
        ax.bar(
            np.arange(len(kinds)) + (number - (len(results) - 1) / 2) * width,
            f1,
            width,
            yerr=[f1 - low, high - f1],
            error_kw={"elinewidth": 0.8, "capsize": 2},
            label=f"{mode} (macro {result['macro_f1']:.2f})",
        )
    ax.axhline(0.9, color="grey", linestyle="--", linewidth=1, label="target 0.9")
    ax.set_xticks(np.arange(len(kinds)), [k.replace("_", " ") for k in kinds], rotation=25)
    ax.set_ylabel("F1")
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=8, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
