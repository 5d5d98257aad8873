"""The promotion gates: direction-aware tolerances, and a worse model kept out."""

from __future__ import annotations

import json

import pytest
import torch
from typer.testing import CliRunner

from coach_cli.main import app
from lifecycle import registry, store
from lifecycle.gates import compare, tolerance_for
from pose3d.checkpoint import load_checkpoint, save_checkpoint


def test_tolerances_know_which_way_each_figure_is_better():
    champion = {"synthetic.mpjpe_mm": 100.0, "real.macro_f1": 0.8, "real.false_alarm_rate": 0.1}
    within = {"synthetic.mpjpe_mm": 101.9, "real.macro_f1": 0.795, "real.false_alarm_rate": 0.104}
    rows, _ = compare(champion, within)
    assert all(row.passed for row in rows)
    worse = {"synthetic.mpjpe_mm": 102.1, "real.macro_f1": 0.785, "real.false_alarm_rate": 0.106}
    rows, _ = compare(champion, worse)
    assert [row.passed for row in rows] == [False, False, False]
    # 2% of a large error is more than 2 mm: the tolerance is the larger of the two
    assert compare({"real.mpjpe_mm": 200.0}, {"real.mpjpe_mm": 203.9})[0][0].passed
    better = {"synthetic.mpjpe_mm": 50.0, "real.macro_f1": 0.95, "real.false_alarm_rate": 0.0}
    assert all(row.passed for row in compare(champion, better)[0])
    rows, _ = compare(None, worse)  # no champion: the candidate's figures alone
    assert all(row.passed and row.champion is None for row in rows)
    rows, notes = compare({"real.macro_f1": 0.8}, {"real.macro_f1": 0.8, "feedback.x": 0.1})
    assert [row.figure for row in rows] == ["real.macro_f1"] and "feedback.x" in notes[0]
    assert tolerance_for("feedback.agreement").direction == "higher"
    with pytest.raises(ValueError, match="no gate tolerance"):
        tolerance_for("synthetic.unknown")


def _invoke(*args: str):
    return CliRunner().invoke(app, [str(a) for a in args])


def _gate_options(shards, tmp_path):
    return ["--shards", shards, "--real-clips", tmp_path / "none", "--no-real", "--limit", 20]


@pytest.mark.slow
def test_train_registers_and_the_gate_keeps_a_worse_lifter_out(mlflow_store, tiny_shards, tmp_path):
    out = tmp_path / "run"
    trained = _invoke(
        "train", "--shards", tiny_shards, "--out", out, "--filter-widths", "3,3",
        "--channels", 16, "--epochs", 2, "--samples-per-epoch", 1024, "--batch-size", 128,
        "--threads", 1, "--lr", 3e-3, "--version", "tiny", "--register",
    )  # fmt: skip
    assert trained.exit_code == 0, trained.output
    assert "registered lifter-causal version 1" in trained.output
    [version] = registry.versions("lifter-causal")
    assert version.aliases == () and version.label == "tiny"
    run = store.client().get_run(version.run_id)
    assert run.info.status == "FINISHED" and run.data.params["epochs"] == "2"
    assert run.data.params["data.shards"] == run.data.tags["data.shards"]
    epochs = store.client().get_metric_history(version.run_id, "val_mpjpe_mm")
    assert [m.step for m in epochs] == [1, 2]
    artifacts = {a.path for a in store.client().list_artifacts(version.run_id)}
    assert {"loss.png", "best.pt", "metrics.jsonl", "model"} <= artifacts
    assert registry.fetch("lifter-causal", "1").card.run_id == version.run_id

    evaluated = _invoke("evaluate", "--checkpoint", out / "best.pt", "--shards", tiny_shards,
                        "--out", tmp_path / "eval")  # fmt: skip
    assert evaluated.exit_code == 0, evaluated.output
    [evaluation] = store.client().search_runs([store.experiment_id("coach-evaluate")])
    assert evaluation.data.metrics["tiny.mpjpe_mm"] > 0
    assert evaluation.data.params["data.shards"] == run.data.params["data.shards"]

    gate = _gate_options(tiny_shards, tmp_path)
    first = _invoke("models", "promote", "--kind", "lifter-causal", "--version", 1, *gate)
    assert first.exit_code == 0, first.output
    assert "no champion yet" in first.output
    assert registry.alias_version("lifter-causal", "champion") == "1"

    # A deliberately worse candidate: the champion's weights drowned in noise.
    loaded = load_checkpoint(out / "best.pt")
    torch.manual_seed(0)
    with torch.no_grad():
        for parameter in loaded.model.parameters():
            parameter.add_(torch.randn_like(parameter) * parameter.abs().mean() * 3)
    worse = tmp_path / "worse"
    save_checkpoint(worse / "lifter.pt", loaded.model, loaded.metadata)
    assert (
        "version 2"
        in _invoke("models", "register", "--kind", "lifter-causal", "--folder", worse).output
    )
    refused = _invoke(
        "models", "promote", "--kind", "lifter-causal", "--version", 2, *gate,
        "--out", tmp_path / "gate2",
    )  # fmt: skip
    assert refused.exit_code == 1
    assert "synthetic.mpjpe_mm" in refused.stderr and "fails the gate" in refused.stderr
    assert registry.alias_version("lifter-causal", "champion") == "1"
    report = json.loads((tmp_path / "gate2" / "report.json").read_text())
    assert report["passed"] is False and report["champion"] == "1"
    failing = {row["figure"] for row in report["rows"] if not row["passed"]}
    assert "synthetic.mpjpe_mm" in failing
    gate_runs = store.client().search_runs([store.experiment_id("coach-gates")])
    assert {r.data.metrics["passed"] for r in gate_runs} == {0.0, 1.0}

    # The same weights again are no worse: promoted, the old champion kept for rollback.
    same = tmp_path / "same"
    same.mkdir()
    (same / "lifter.pt").write_bytes((out / "best.pt").read_bytes())
    _invoke("models", "register", "--kind", "lifter-causal", "--folder", same)
    promoted = _invoke("models", "promote", "--kind", "lifter-causal", "--version", 3, *gate)
    assert promoted.exit_code == 0, promoted.output
    assert registry.alias_version("lifter-causal", "champion") == "3"
    assert registry.alias_version("lifter-causal", "previous-champion") == "1"

    # champion moves by hand only back to the previous champion (a rollback).
    sneaked = _invoke("models", "alias", "--kind", "lifter-causal", "--version", 2, "--alias",
                      "champion")  # fmt: skip
    assert sneaked.exit_code != 0 and registry.alias_version("lifter-causal", "champion") == "3"
    back = _invoke("models", "alias", "--kind", "lifter-causal", "--version", 1, "--alias",
                   "champion")  # fmt: skip
    assert back.exit_code == 0, back.output
    assert registry.alias_version("lifter-causal", "champion") == "1"
    assert registry.alias_version("lifter-causal", "previous-champion") == "3"
    listed = _invoke("models", "list", "--kind", "lifter-causal").output
    assert "v1 [champion]" in listed and "v3 [previous-champion]" in listed
