"""The NVAN network: unit structure, shapes, non-local blocks, parameter count, weight loading."""

from dataclasses import replace
from pathlib import Path

import pytest
import torch
import torchvision
from torch import Tensor, nn
from torch.nn.attention import SDPBackend, sdpa_kernel

from training.losses import reid_loss
from training.model import (
    Head,
    ModelConfig,
    ModelError,
    NonLocalBlock,
    PretrainedWeightsError,
    VideoReIDNet,
    fused_attention,
    plain_attention,
)

SMALL = ModelConfig(num_classes=10, seq_len=4, preset="small", frame_size=(64, 32))
FULL = ModelConfig(num_classes=625, seq_len=8)


def count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def head_of(model: VideoReIDNet) -> Head:
    head = model.units["head"]
    assert isinstance(head, Head)
    return head


@pytest.fixture(scope="module")
def full_model() -> VideoReIDNet:
    return VideoReIDNet(FULL)


@pytest.fixture(scope="module")
def resnet50_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("weights") / "resnet50.pth"
    torch.manual_seed(1)
    torch.save(torchvision.models.resnet50(weights=None).state_dict(), path)
    return path


@pytest.mark.parametrize("seq_len", [4, 8])
def test_output_shapes(seq_len: int) -> None:
    model = VideoReIDNet(replace(SMALL, seq_len=seq_len))
    clips = model.example_clips(3).normal_()
    assert clips.shape == (3, seq_len, 3, 64, 32)
    features, logits = model(clips)
    assert features.shape == (3, model.feature_dim) == (3, 512)
    assert logits.shape == (3, 10)
    model.eval()
    bn_feature = model(clips)
    assert bn_feature.shape == (3, 512)
    pre_bn_model = VideoReIDNet(replace(model.config, neck_feature="pre_bn")).eval()
    pre_bn_model.load_state_dict(model.state_dict())
    pre_bn = pre_bn_model(clips)
    assert pre_bn.shape == (3, 512)
    torch.testing.assert_close(head_of(model).neck(pre_bn), bn_feature)


def test_full_model_units_and_shapes(full_model: VideoReIDNet) -> None:
    names = list(full_model.units)
    blocks = {1: 3, 2: 4, 3: 6, 4: 3}
    expected = [f"layer{layer}_{i}" for layer, n in blocks.items() for i in range(n)]
    assert names == ["stem", *expected, "head"]
    with_nonlocal = [n for n, u in full_model.units.items() if getattr(u, "non_local", None)]
    assert with_nonlocal == ["layer2_2", "layer2_3", "layer3_3", "layer3_4", "layer3_5"]
    shapes = full_model.unit_input_shapes(batch_size=2)
    assert shapes["stem"] == (2, 8, 3, 256, 128)
    assert shapes["layer2_2"] == (2, 8, 512, 32, 16)  # 4096 non-local positions per clip
    assert shapes["layer3_4"] == (2, 8, 1024, 16, 8)
    assert shapes["head"] == (2, 8, 2048, 16, 8)  # last stride 1 keeps layer4 at 16x8
    stride1 = VideoReIDNet(SMALL).unit_input_shapes(1)["head"]
    stride2 = VideoReIDNet(replace(SMALL, last_stride=2)).unit_input_shapes(1)["head"]
    assert (stride1[-2:], stride2[-2:]) == ((4, 2), (2, 1))


def test_unit_shapes_match_a_real_forward() -> None:
    model = VideoReIDNet(SMALL)
    shapes = model.unit_input_shapes(batch_size=2)
    x: Tensor = model.example_clips(2).normal_()
    for name, unit in model.units.items():
        assert x.shape == shapes[name], name
        if name != "head":
            x = unit(x)
            assert x.ndim == 5
            assert x.is_contiguous()


def test_nonlocal_blocks_are_identity_at_init() -> None:
    model = VideoReIDNet(SMALL)
    blocks = model.nonlocal_blocks
    assert len(blocks) == 5
    for block in blocks:
        channels = block.theta.in_channels
        x = torch.randn(2, channels, 4, 4, 2)
        for training in (True, False):
            block.train(training)
            assert torch.equal(block(x), x)


def test_full_parameter_count_is_resnet50_plus_blocks_and_head(full_model: VideoReIDNet) -> None:
    resnet = torchvision.models.resnet50(weights=None)

    def nonlocal_params(c: int) -> int:
        inner = c // 2
        # theta, phi, g: 1x1x1 conv C -> C/2 with bias; W_z: conv C/2 -> C with bias + BN(C)
        return 3 * (c * inner + inner) + (inner * c + c) + 2 * c

    expected = (
        count(resnet)
        - count(resnet.fc)
        + 2 * nonlocal_params(512)
        + 3 * nonlocal_params(1024)
        + 2 * 2048  # BN neck weight and (frozen) bias
        + 2048 * FULL.num_classes  # classifier without bias
    )
    assert [count(b) for b in full_model.nonlocal_blocks] == [
        nonlocal_params(c) for c in (512, 512, 1024, 1024, 1024)
    ]
    assert count(full_model) == expected


def test_pretrained_weights_load_by_name(resnet50_file: Path) -> None:
    model = VideoReIDNet(replace(FULL, pretrained=resnet50_file))
    reference = torch.load(resnet50_file, weights_only=True)
    ours = model.state_dict()
    assert torch.equal(ours["units.stem.conv1.weight"], reference["conv1.weight"])
    assert torch.equal(
        ours["units.layer4_0.bottleneck.downsample.0.weight"],
        reference["layer4.0.downsample.0.weight"],
    )
    copied = [k for k in reference if not k.startswith("fc.")]
    top, rest = (k.partition(".")[0] for k in copied), (k.partition(".")[2] for k in copied)
    for key, head, tail in zip(copied, top, rest, strict=True):
        if head.startswith("layer"):
            index, _, inner = tail.partition(".")
            name = f"units.{head}_{index}.bottleneck.{inner}"
        else:
            name = f"units.stem.{key}"
        assert torch.equal(ours[name], reference[key]), key


def test_pretrained_errors_name_the_file(tmp_path: Path, resnet50_file: Path) -> None:
    missing = tmp_path / "nope.pth"
    with pytest.raises(PretrainedWeightsError, match=r"nope\.pth does not exist"):
        VideoReIDNet(replace(SMALL, pretrained=missing))
    with pytest.raises(PretrainedWeightsError, match=r"resnet50\.pth.*shape mismatches"):
        VideoReIDNet(replace(SMALL, pretrained=resnet50_file))
    not_a_state_dict = tmp_path / "list.pth"
    torch.save([1, 2], not_a_state_dict)
    with pytest.raises(PretrainedWeightsError, match=r"list\.pth hold a list"):
        VideoReIDNet(replace(SMALL, pretrained=not_a_state_dict))
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"not a checkpoint")
    with pytest.raises(PretrainedWeightsError, match=r"cannot read .*garbage\.pth"):
        VideoReIDNet(replace(SMALL, pretrained=garbage))


def test_fused_attention_equals_plain_softmax() -> None:
    """Float64: equal to 1e-10. Float32 at NVAN-like logits (|q k| up to ~50): 1e-5 relative."""
    gen = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(2, 1, 300, 32, generator=gen, dtype=torch.float64) for _ in range(3))
    torch.testing.assert_close(
        fused_attention(q, k, v), plain_attention(q, k, v), rtol=1e-10, atol=1e-10
    )
    q, k, v = (3 * t.float() / 32**0.5 for t in (q, k, v))
    plain = plain_attention(q, k, v)
    torch.testing.assert_close(
        fused_attention(q, k, v), plain, rtol=1e-5, atol=1e-5 * plain.abs().max().item()
    )


def test_nonlocal_block_uses_a_fused_kernel_and_matches_plain_path() -> None:
    torch.manual_seed(0)
    block = NonLocalBlock(64)
    norm = block.w_z[1]
    assert isinstance(norm, nn.BatchNorm3d)
    nn.init.normal_(norm.weight)  # make the attention branch visible in the output
    x = torch.randn(2, 64, 4, 8, 4, requires_grad=True)
    # Raises if the block's tensors only qualify for the materialising math path.
    with sdpa_kernel([SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION]):
        fused = block(x)
        (fused_grad,) = torch.autograd.grad(fused.square().sum(), x)
    block.fused = False
    plain = block(x)
    (plain_grad,) = torch.autograd.grad(plain.square().sum(), x)
    torch.testing.assert_close(fused, plain, rtol=1e-5, atol=1e-5 * plain.abs().max().item())
    torch.testing.assert_close(
        fused_grad, plain_grad, rtol=1e-5, atol=1e-5 * plain_grad.abs().max().item()
    )


def test_stage_copies_chain_to_the_full_model_forward_and_gradients() -> None:
    """Cut after layer2_1: two stage copies, joined through a leaf tensor as a pipeline does."""
    torch.manual_seed(0)
    model = VideoReIDNet(SMALL)
    clips = model.example_clips(4).normal_()
    labels = torch.tensor([0, 0, 1, 1])
    cut = list(model.units).index("layer2_1")
    first, second = model.stage_copy(0, cut), model.stage_copy(cut, len(model.units))

    features, logits = model(clips)
    reid_loss(features, logits, labels).total.backward()

    boundary = first(clips)
    received = boundary.detach().requires_grad_(True)
    stage_features, stage_logits = second(received)
    reid_loss(stage_features, stage_logits, labels).total.backward()
    boundary.backward(received.grad)

    torch.testing.assert_close(stage_logits, logits)
    full_params = dict(model.named_parameters())
    stage_params = {**dict(first.named_parameters()), **dict(second.named_parameters())}
    assert stage_params.keys() == full_params.keys()
    assert not set(dict(first.named_parameters())) & set(dict(second.named_parameters()))
    for name, param in stage_params.items():
        if param.requires_grad:
            torch.testing.assert_close(param.grad, full_params[name].grad, rtol=1e-4, atol=1e-6)
    with pytest.raises(ModelError, match="non-empty range"):
        model.stage_copy(3, 3)


def test_small_model_overfits_a_tiny_batch() -> None:
    torch.manual_seed(0)
    model = VideoReIDNet(SMALL)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    clips = model.example_clips(8).normal_()
    labels = torch.arange(4).repeat_interleave(2)
    losses = []
    for _ in range(8):
        optimizer.zero_grad()
        features, logits = model(clips)
        loss = reid_loss(features, logits, labels).total
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0], losses


def count_trainable(model: nn.Module) -> int:
    return sum(1 for p in model.parameters() if p.requires_grad)


def test_bad_config_and_input_are_reported() -> None:
    with pytest.raises(ModelError, match=r"num_classes must be >= 1.*last_stride must be 1 or 2"):
        ModelConfig(num_classes=0, last_stride=3)
    with pytest.raises(ModelError, match=r"clips must be shaped .* got \(2, 3, 64, 32\)"):
        VideoReIDNet(SMALL)(torch.zeros(2, 3, 64, 32))
