"""When two reports on the same session gave the same cue: one rule for every comparison
of model sets (the API's shadow scoring and the re-scoring job).

Two cues agree when they are of the same kind, on the same body segment, and their time
windows overlap (sharing an end point counts: a cue may last a single frame). Each cue
agrees with at most one other, the largest overlaps first.
"""

from __future__ import annotations

from scoring.exported import Cue


def match_cues(champion: list[Cue], candidate: list[Cue]) -> tuple[list, list[Cue], list[Cue]]:
    """``(pairs, only_champion, only_candidate)``: pairs ``(champion cue, candidate cue)``
    that agree (see the module doc), one-to-one, largest overlap first; the cues of each
    side left without a partner, in their given order."""
    options = []
    for i, a in enumerate(champion):
        for j, b in enumerate(candidate):
            overlap = min(a.end_s, b.end_s) - max(a.start_s, b.start_s)
            if (a.kind, a.segment) == (b.kind, b.segment) and overlap >= 0:
                options.append((overlap, i, j))
    used_a, used_b, pairs = set(), set(), []
    for _, i, j in sorted(options, key=lambda o: (-o[0], o[1], o[2])):
        if i not in used_a and j not in used_b:
            used_a.add(i)
            used_b.add(j)
            pairs.append((champion[i], candidate[j]))
    only_a = [cue for i, cue in enumerate(champion) if i not in used_a]
    only_b = [cue for j, cue in enumerate(candidate) if j not in used_b]
    return pairs, only_a, only_b
