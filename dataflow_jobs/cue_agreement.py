"""Where two model sets' cues on the same session agree: matching, tallies per kind, and
the re-scoring report (JSON, a markdown table, an HTML page with bars).

Two cues agree by :func:`scoring.cue_matching.match_cues` (same kind and segment,
overlapping in time, one-to-one), the rule the API's shadow scoring counts by too. Per
kind the report counts the sessions where either set cued it, each set's cues, the
agreed ones and those only one set gave; the agreement rate is agreed / (agreed + only
champion + only candidate) (1 when neither cued the kind), and the mean score change is
the candidate's score less the champion's over those sessions (points of 0-100). The
``all`` row counts every scored session.
"""

from __future__ import annotations

import html
import json

from scoring.cue_matching import match_cues
from scoring.exported import Cue

ALL = "all"
COUNTS = (
    "sessions",
    "cues_champion",
    "cues_candidate",
    "agreed",
    "only_champion",
    "only_candidate",
    "score_change_sum",
)


def session_tally(champion: list[Cue], candidate: list[Cue], score_change: float) -> dict:
    """One session's counts per kind (and ``all``): kind -> {count name -> value}."""
    pairs, only_a, only_b = match_cues(champion, candidate)
    kinds = sorted({cue.kind for cue in (*champion, *candidate)})
    tally = {}
    for kind in [*kinds, ALL]:

        def count(cues, kind=kind) -> int:
            return sum(1 for cue in cues if kind in (ALL, cue.kind))

        tally[kind] = {
            "sessions": 1,
            "cues_champion": count(champion),
            "cues_candidate": count(candidate),
            "agreed": count([a for a, _ in pairs]),
            "only_champion": count(only_a),
            "only_candidate": count(only_b),
            "score_change_sum": float(score_change),
        }
    return tally


def merge_tallies(tallies) -> dict:
    """The sum of session (or partial) tallies: associative, for ``beam.CombineGlobally``."""
    merged: dict[str, dict] = {}
    for tally in tallies:
        for kind, counts in tally.items():
            into = merged.setdefault(kind, dict.fromkeys(COUNTS, 0))
            for name in COUNTS:
                into[name] += counts[name]
    return merged


def kind_rows(tally: dict) -> list[dict]:
    """The report's rows, kinds sorted then ``all``: counts, agreement rate, mean score
    change."""
    rows = []
    for kind in [*sorted(k for k in tally if k != ALL), ALL]:
        counts = tally.get(kind, dict.fromkeys(COUNTS, 0))
        judged = counts["agreed"] + counts["only_champion"] + counts["only_candidate"]
        sessions = counts["sessions"]
        rows.append(
            {"kind": kind}
            | {name: int(counts[name]) for name in COUNTS if name != "score_change_sum"}
            | {
                "agreement": round(counts["agreed"] / judged, 4) if judged else 1.0,
                "mean_score_change": round(counts["score_change_sum"] / sessions, 3)
                if sessions
                else 0.0,
            }
        )
    return rows


COLUMNS = (
    ("kind", "kind"),
    ("sessions", "sessions"),
    ("cues_champion", "cues champion"),
    ("cues_candidate", "cues candidate"),
    ("agreed", "agreed"),
    ("only_champion", "only champion"),
    ("only_candidate", "only candidate"),
    ("agreement", "agreement"),
    ("mean_score_change", "mean score change"),
)


def markdown(report: dict) -> str:
    """The report as markdown: what was compared, then the table per kind."""
    lines = ["# Batch re-scoring: candidate against champion", ""]
    for name, described in report["models"].items():
        specs = ", ".join(
            f"{kind} {d['spec']}" + (f" (v{d['version']})" if d["version"] else "")
            for kind, d in described.items()
        )
        lines.append(f"- **{name}**: {specs}")
    lines += [
        f"- sessions scored: {report['sessions']}, left out: {report['dead_letters']}",
        "",
        "| " + " | ".join(title for _, title in COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
    ]
    for row in report["kinds"]:
        cells = [
            f"{row['agreement']:.1%}" if key == "agreement" else str(row[key]) for key, _ in COLUMNS
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def html_page(report: dict) -> str:
    """A small page: the markdown's table and, per kind, bars of each set's cues and the
    agreed ones (inline SVG, nothing fetched)."""
    rows = report["kinds"]
    scale = max([1] + [max(r["cues_champion"], r["cues_candidate"]) for r in rows])
    bars, height = [], 18
    for index, row in enumerate(rows):
        y = index * (3 * height + 10)
        bars.append(f'<text x="0" y="{y + height}">{html.escape(row["kind"])}</text>')
        for offset, (key, colour) in enumerate(
            (("cues_champion", "#4c72b0"), ("cues_candidate", "#dd8452"), ("agreed", "#55a868"))
        ):
            width = 300 * row[key] / scale
            top = y + offset * height
            bars.append(
                f'<rect x="170" y="{top}" width="{width:.1f}" height="{height - 3}" '
                f'fill="{colour}"/><text x="{175 + width:.1f}" y="{top + height - 5}">'
                f"{row[key]}</text>"
            )
    svg_height = len(rows) * (3 * height + 10)
    table = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(row[key]))}</td>" for key, _ in COLUMNS) + "</tr>"
        for row in rows
    )
    head = "".join(f"<th>{html.escape(title)}</th>" for _, title in COLUMNS)
    return (
        "<!doctype html><meta charset=utf-8><title>Batch re-scoring</title>"
        "<style>body{font-family:sans-serif}td,th{padding:2px 8px;text-align:right}</style>"
        "<h1>Batch re-scoring: candidate against champion</h1>"
        f"<table><tr>{head}</tr>{table}</table>"
        "<p>Cues per kind: <span style=color:#4c72b0>champion</span>, "
        "<span style=color:#dd8452>candidate</span>, <span style=color:#55a868>agreed</span></p>"
        f'<svg width="560" height="{svg_height}" font-size="12">{"".join(bars)}</svg>'
    )


def report_files(report: dict) -> dict[str, bytes]:
    """The report's files: ``report.json``, ``report.md``, ``report.html``."""
    return {
        "report.json": (json.dumps(report, indent=1, sort_keys=True) + "\n").encode(),
        "report.md": markdown(report).encode(),
        "report.html": html_page(report).encode(),
    }
