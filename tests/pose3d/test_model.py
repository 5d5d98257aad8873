import numpy as np
import pytest
import torch

from pose3d.model import TemporalModel, TemporalModelStrided

CONFIGS = [([3, 3, 3], 27), ([3, 3, 3, 3], 81), ([3, 3, 3, 3, 3], 243)]


@pytest.mark.parametrize(("widths", "receptive_field"), CONFIGS)
@pytest.mark.parametrize("causal", [False, True])
def test_output_shapes(widths, receptive_field, causal):
    model = TemporalModel(17, 2, 17, widths, causal=causal, channels=8).eval()
    assert model.receptive_field() == receptive_field
    out = model(torch.zeros(2, receptive_field + 9, 17, 2))
    assert out.shape == (2, 10, 17, 3)
    strided = TemporalModelStrided(17, 2, 17, widths, causal=causal, channels=8).eval()
    assert strided(torch.zeros(4, receptive_field, 17, 2)).shape == (4, 1, 17, 3)


def test_parameter_names_match_the_checkpoint_contract():
    names = set(TemporalModel(17, 2, 17, [3, 3, 3], channels=8).state_dict())
    assert {"expand_conv.weight", "expand_bn.running_mean", "shrink.weight", "shrink.bias"} <= names
    assert {f"layers_conv.{i}.weight" for i in range(4)} <= names
    assert {f"layers_bn.{i}.running_var" for i in range(4)} <= names
    assert "layers_conv.4.weight" not in names


def _twins(widths, causal):
    torch.manual_seed(0)
    dilated = TemporalModel(17, 2, 17, widths, causal=causal, channels=16, dropout=0)
    strided = TemporalModelStrided(17, 2, 17, widths, causal=causal, channels=16, dropout=0)
    strided.load_state_dict(dilated.state_dict())
    return dilated, strided


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("widths", [[3, 3, 3], [5, 3], [3, 3, 3, 3]])
def test_dilated_and_strided_twins_agree_in_outputs_and_gradients(widths, causal):
    dilated, strided = _twins(widths, causal)
    dilated.eval(), strided.eval()
    rf = dilated.receptive_field()
    x = torch.randn(1, rf + 6, 17, 2)
    windows = x.unfold(1, rf, 1).permute(0, 1, 4, 2, 3).reshape(-1, rf, 17, 2)
    out_dilated = dilated(x)[0]
    out_strided = strided(windows)[:, 0]
    torch.testing.assert_close(out_dilated, out_strided, atol=1e-5, rtol=1e-5)

    target = torch.randn_like(out_dilated)
    ((out_dilated - target) ** 2).sum().backward()
    ((strided(windows)[:, 0] - target) ** 2).sum().backward()
    for (name, p_d), (_, p_s) in zip(
        dilated.named_parameters(), strided.named_parameters(), strict=True
    ):
        torch.testing.assert_close(p_d.grad, p_s.grad, atol=1e-4, rtol=1e-4, msg=name)


@pytest.mark.parametrize("widths", [[3, 3, 3], [3, 3, 3, 3]])
def test_causal_output_ignores_the_future(widths):
    torch.manual_seed(1)
    model = TemporalModel(17, 2, 17, widths, causal=True, channels=16).eval()
    rf = model.receptive_field()
    x = torch.randn(1, rf + 20, 17, 2)
    changed = x.clone()
    changed[:, rf + 10 :] += 1.0  # change inputs after output frame 10's window
    with torch.no_grad():
        a, b = model(x)[0], model(changed)[0]
    torch.testing.assert_close(a[:11], b[:11])
    assert not torch.allclose(a[11:], b[11:])


def test_non_causal_output_depends_on_the_future():
    torch.manual_seed(1)
    model = TemporalModel(17, 2, 17, [3, 3, 3], causal=False, channels=16).eval()
    x = torch.randn(1, 40, 17, 2)
    changed = x.clone()
    changed[:, 27:] += 1.0
    with torch.no_grad():
        # Output 0 covers inputs 0..26 and is unaffected; output 1 sees input 27.
        assert torch.allclose(model(x)[0, 0], model(changed)[0, 0])
        assert not torch.allclose(model(x)[0, 1], model(changed)[0, 1])


def test_bad_input_shapes_are_named():
    model = TemporalModel(17, 2, 17, [3, 3, 3], channels=8).eval()
    with pytest.raises(ValueError, match="expected input"):
        model(torch.zeros(27, 17, 2))
    with pytest.raises(ValueError, match="expected 17 joints x 2 features, got 33 x 2"):
        model(torch.zeros(1, 27, 33, 2))
    with pytest.raises(ValueError, match="need at least 27 frames"):
        model(torch.zeros(1, 26, 17, 2))
    with pytest.raises(ValueError, match="odd"):
        TemporalModel(17, 2, 17, [2, 3])


def test_bn_momentum_is_set_everywhere():
    model = TemporalModel(17, 2, 17, [3, 3], channels=8)
    model.set_bn_momentum(0.01)
    norms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm1d)]
    assert len(norms) == 3 and all(m.momentum == 0.01 for m in norms)


@pytest.mark.parametrize("causal", [False, True])
def test_a_grown_receptive_field_lifts_as_its_source_until_trained(causal):
    """An 81-frame model grown into a 243-frame one (one more block, dilation 81) gives
    the same poses from the same frames (to a thousandth), in its dilated and strided
    forms; the new block then learns (its output scale has a gradient)."""
    from pose3d.model import grow_receptive_field
    from tests.conftest import make_model

    source = make_model((3, 3, 3, 3), causal=causal).eval()
    wide = TemporalModel(17, 2, 17, [3, 3, 3, 3, 3], causal=causal, channels=16).eval()
    grow_receptive_field(source, wide)
    assert wide.receptive_field() == 243
    frames = torch.randn(1, 300, 17, 2)
    with torch.no_grad():
        narrow_out, wide_out = source(frames), wide(frames)
    # the wide model's outputs are the narrow one's, less the frames its context needs
    skip = 243 - 81 if causal else (243 - 81) // 2  # output i sits on the same frame
    np.testing.assert_allclose(
        wide_out[0].numpy(), narrow_out[0, skip : skip + wide_out.shape[1]].numpy(), atol=2e-3
    )
    strided = TemporalModelStrided(17, 2, 17, [3, 3, 3, 3, 3], causal=causal, channels=16)
    strided.load_state_dict(wide.state_dict())
    with torch.no_grad():
        window = strided.eval()(frames[:, :243])
    np.testing.assert_allclose(window[0, 0].numpy(), wide_out[0, 0].numpy(), atol=1e-5)
    wide.train()
    wide(frames).square().mean().backward()
    assert wide.layers_bn[7].weight.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="same blocks"):
        grow_receptive_field(source, TemporalModel(17, 2, 17, [3, 3, 3, 3, 3], channels=32))


@pytest.mark.parametrize("causal", [False, True])
def test_a_widened_model_lifts_as_its_source_until_trained(causal):
    """A model widened from 16 to 24 channels gives the same poses; in training its new
    channels get a say (shrink's weights on them have a gradient)."""
    from pose3d.model import widen_channels
    from tests.conftest import make_model

    source = make_model((3, 3, 3), causal=causal).eval()
    wide = TemporalModel(17, 2, 17, [3, 3, 3], causal=causal, channels=24)
    widen_channels(source, wide)
    frames = torch.randn(2, 60, 17, 2)
    with torch.no_grad():
        np.testing.assert_allclose(wide.eval()(frames), source(frames), atol=1e-5)
    wide.train()
    wide(frames).square().mean().backward()
    assert wide.shrink.weight.grad[:, 16:].abs().sum() > 0
    with pytest.raises(ValueError, match="more channels and the same blocks"):
        widen_channels(source, TemporalModel(17, 2, 17, [3, 3, 3, 3], channels=24))
