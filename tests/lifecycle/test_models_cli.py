"""``coach models``: seeding the bundled models, registering, the knee network's gate."""

from __future__ import annotations

import pytest
import torch
from typer.testing import CliRunner

from coach_cli.main import app
from lifecycle import registry, store
from scoring.knee_net import KneeNet
from synthetic_data.clip import CLIP_SUFFIX, write_clip
from synthetic_data.errors import ErrorPlan
from synthetic_data.generator import ClipRequest, generate_clip


def _invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.mark.slow
def test_seed_makes_the_bundled_models_champions_of_an_empty_registry_only(mlflow_store, tmp_path):
    seeded = _invoke("models", "seed")
    assert seeded.exit_code == 0, seeded.output
    for kind in registry.KINDS:
        assert registry.alias_version(kind, "champion") == "1"
    again = _invoke("models", "seed")
    assert again.exit_code == 1 and "already holds versions" in again.stderr
    assert [v.version for v in registry.versions("detector")] == ["1"]
    listed = _invoke("models", "list").output
    assert "lifter-causal: 1 version(s)" in listed and "v1 [champion]" in listed
    (tmp_path / "empty").mkdir()
    missing = _invoke("models", "register", "--kind", "detector", "--folder", tmp_path / "empty")
    assert missing.exit_code != 0 and "population.json" in missing.output
    unknown = _invoke("models", "list", "--kind", "lifter")
    assert unknown.exit_code != 0 and "unknown model kind" in unknown.output
    bad = _invoke("models", "alias", "--kind", "detector", "--version", "x1")
    assert bad.exit_code != 0 and "--version" in bad.output


def _squats(folder, count: int):
    for seed in range(count):
        errors = [ErrorPlan("knees_caving_in", 1.0, "left", 0, 2)] if seed % 2 else []
        clip = generate_clip(
            ClipRequest(seed=300 + seed, movement="squat", num_reps=3, errors=errors)
        )
        write_clip(clip, folder / f"{clip.clip_id}{CLIP_SUFFIX}")
    return folder


@pytest.mark.slow
def test_train_knee_net_registers_and_a_blind_network_fails_the_gate(mlflow_store, tmp_path):
    clips = _squats(tmp_path / "clips", 6)
    assert _invoke("models", "seed").exit_code == 0
    out = tmp_path / "trained" / "knee_net.pt"
    trained = _invoke("train-knee-net", "--clips", clips, "--epochs", 1, "--out", out, "--register")
    assert trained.exit_code == 0, trained.output
    assert "registered knee-net version 2" in trained.output
    run_id = registry.fetch("knee-net", "2").card.run_id
    assert [m.step for m in store.client().get_metric_history(run_id, "loss")] == [1]
    assert registry.alias_version("knee-net", "champion") == "1"

    # A network that cannot see: every weight zero, one output for every frame.
    blind = KneeNet.load(registry.fetch("knee-net", "1").file("knee_net.pt"))
    with torch.no_grad():
        for parameter in blind.model.parameters():
            parameter.zero_()
    blind.save(tmp_path / "blind" / "knee_net.pt")
    _invoke("models", "register", "--kind", "knee-net", "--folder", tmp_path / "blind")
    gate = _invoke(
        "models", "gate", "--kind", "knee-net", "--version", 3, "--clips", clips,
        "--out", tmp_path / "gate",
    )  # fmt: skip
    assert gate.exit_code == 1, gate.output
    assert "FAILED" in gate.output and "synthetic.auc_left_caving" in gate.output
    refused = _invoke("models", "promote", "--kind", "knee-net", "--version", 3, "--clips", clips)
    assert refused.exit_code == 1 and "synthetic.auc_left_caving" in refused.stderr
    assert registry.alias_version("knee-net", "champion") == "1"
