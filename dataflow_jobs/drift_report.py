"""The drift job's report: one distribution plot per statistic (a PNG, base64) and the
self-contained HTML page (a table, then the plots; no script, no CDN)."""

from __future__ import annotations

import base64
import html
import io

import numpy as np

# Each source's colour and label in the plots and the table.
SOURCES = {
    "reference": ("#7f7f7f", "training reference"),
    "previous": ("#1f77b4", "previous window"),
    "current": ("#d62728", "current window"),
}


def plot_distributions(name: str, values: dict[str, np.ndarray]) -> str:
    """Overlaid density histograms of statistic ``name`` per source (``values``: source ->
    1-D values; empty sources left out), on shared bins; a PNG as base64 text."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    present = {source: v for source, v in values.items() if len(v)}
    pooled = np.concatenate(list(present.values()))
    low, high = float(pooled.min()), float(pooled.max())
    edges = np.linspace(low, high if high > low else low + 1.0, 31)
    fig, ax = plt.subplots(figsize=(5.2, 2.6))
    for source, data in present.items():
        colour, label = SOURCES[source]
        ax.hist(
            np.clip(data, edges[0], edges[-1]),
            bins=edges,
            density=True,
            histtype="step" if source == "reference" else "stepfilled",
            alpha=1.0 if source == "reference" else 0.35,
            color=colour,
            linewidth=1.4,
            label=f"{label} (n={len(data)})",
        )
    ax.set_xlabel(name)
    ax.set_ylabel("density")
    ax.legend(fontsize=7, frameon=False)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _cell(comparison: dict | None) -> str:
    if comparison is None:
        return "<td>-</td><td>-</td><td>-</td><td>-</td><td>no data</td>"
    status, psi_p = comparison["status"], comparison["psi_p"]
    return (
        f"<td>{comparison['psi']:.3f}</td><td>{'-' if psi_p is None else f'{psi_p:.2g}'}</td>"
        f"<td>{comparison['ks']:.3f}</td><td>{comparison['ks_p']:.2g}</td>"
        f"<td class='{status}'>{status}</td>"
    )


def _mean(summary: dict | None) -> str:
    return "-" if summary is None else f"{summary['mean']:.3g} (n={summary['n']})"


def alt_text(row: dict) -> str:
    """What a statistic's plot shows, in words (the image's alt text)."""
    parts = [
        f"{SOURCES[source][1]} mean {row['summaries'][source]['mean']:.3g} "
        f"over {row['summaries'][source]['n']}"
        for source in SOURCES
        if row["summaries"].get(source)
    ]
    verdict = row["against_reference"]["status"] if row["against_reference"] else "no data"
    return f"Distribution of {row['name']}: " + "; ".join(parts) + f". Against training: {verdict}."


def report_html(result: dict, plots: dict[str, str]) -> str:
    """The page of the drift job's ``result`` (``drift.json``'s content), with ``plots``
    (statistic -> base64 PNG)."""
    sessions = result["counts"]["sessions"]
    rows, figures = [], []
    for row in result["statistics"]:
        name = html.escape(row["name"])
        rows.append(
            f"<tr><td><a href='#{name}'>{name}</a></td>"
            f"<td>{_mean(row['summaries'].get('current'))}</td>"
            f"<td>{_mean(row['summaries'].get('reference'))}</td>"
            f"{_cell(row['against_reference'])}{_cell(row['against_previous'])}</tr>"
        )
        figures.append(
            f"<figure id='{name}'><img src='data:image/png;base64,{plots[row['name']]}' "
            f"alt='{html.escape(alt_text(row), quote=True)}'><figcaption>{name}: "
            f"{html.escape(row['status'])}</figcaption></figure>"
        )
    counts = ", ".join(f"{source} {n}" for source, n in sessions.items())
    thresholds = html.escape(
        ", ".join(f"{key} {value}" for key, value in result["thresholds"].items())
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Drift report</title>
<style>
body {{ font-family: sans-serif; margin: 2em; }}
table {{ border-collapse: collapse; font-size: 0.9em; }}
td, th {{ border: 1px solid #ccc; padding: 0.2em 0.5em; text-align: right; }}
td:first-child {{ text-align: left; }}
.drifted {{ background: #f4c7c3; }} .watch {{ background: #fce8b2; }}
.stable {{ background: #d9ead3; }}
figure {{ display: inline-block; margin: 0.5em; }}
</style></head><body>
<h1>Drift of session statistics</h1>
<p>Sessions: {html.escape(counts)}. Drifted: {len(result["drifted"])}, watch:
{len(result["watch"])} of {len(result["statistics"])} statistics. Thresholds: {thresholds}.</p>
<table><thead><tr><th rowspan="2">statistic</th><th rowspan="2">current mean</th>
<th rowspan="2">reference mean</th><th colspan="5">against the training reference</th>
<th colspan="5">against the previous window</th></tr>
<tr><th>PSI</th><th>PSI p</th><th>KS</th><th>KS p</th><th>status</th><th>PSI</th><th>PSI p</th>
<th>KS</th><th>KS p</th><th>status</th></tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody></table>
<h2>Distributions</h2>
{chr(10).join(figures)}
</body></html>
"""
