"""Sampling and augmentation of the training data path (no cluster needed)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import torch

from ingest.dataset import TrackletRecord
from training.data.rrs import all_frame_chunks, rrs_indices
from training.data.sampler import PKSampler
from training.data.transforms import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    AugmentConfig,
    eval_clip,
    train_clip,
)


@pytest.mark.parametrize(("frames", "expected_test"), [
    (3, [0, 1, 2, 2, 2, 2, 2, 2]),          # shorter than T: the last frame repeats
    (8, [0, 1, 2, 3, 4, 5, 6, 7]),          # exactly T
    (20, [0, 3, 6, 9, 12, 15, 18, 19]),     # longer: interval ceil(20/8) = 3, padded to 24
])
def test_rrs_test_mode_takes_first_frame_of_each_chunk(frames: int,
                                                       expected_test: list[int]) -> None:
    assert rrs_indices(frames, 8, None) == expected_test


@pytest.mark.parametrize("frames", [1, 3, 8, 20, 901])
def test_rrs_training_picks_one_frame_per_chunk(frames: int) -> None:
    interval = -(-frames // 8)
    rng = np.random.default_rng(0)
    seen: set[tuple[int, ...]] = set()
    for _ in range(50):
        picks = rrs_indices(frames, 8, rng)
        assert len(picks) == 8
        for chunk, frame in enumerate(picks):
            first = chunk * interval
            assert min(first, frames - 1) <= frame <= min(first + interval - 1, frames - 1)
        seen.add(tuple(picks))
    assert (len(seen) > 1) == (interval > 1)


def test_all_frame_chunks_cover_every_frame_in_order() -> None:
    chunks = all_frame_chunks(10, 4)
    assert chunks == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 9, 9]]
    assert all_frame_chunks(4, 4) == [[0, 1, 2, 3]]


def test_augmentation_is_shared_by_all_frames_of_a_clip() -> None:
    frame = torch.randint(0, 256, (1, 3, 256, 128), dtype=torch.uint8)
    clip = frame.repeat(8, 1, 1, 1)
    config = AugmentConfig(erase_p=1.0, flip_p=0.5)
    outputs = [train_clip(clip, config, np.random.default_rng(seed)) for seed in range(6)]
    for out in outputs:
        assert out.shape == (8, 3, 256, 128)
        assert torch.equal(out, out[:1].expand_as(out))  # same flip, crop, erasing everywhere
        assert (out == 0).all(dim=1).any()  # the erased rectangle is there
    assert len({o.sum().item() for o in outputs}) > 1  # and it varies between clips
    assert torch.allclose(eval_clip(clip, config), eval_clip(clip, config))


def test_light_jitter_lights_the_whole_clip_within_its_range() -> None:
    grey = torch.full((4, 3, 64, 32), 128, dtype=torch.uint8)
    plain = AugmentConfig(height=64, width=32, pad=0, flip_p=0, erase_p=0)
    lit = AugmentConfig(height=64, width=32, pad=0, flip_p=0, erase_p=0, light=0.2)
    base = train_clip(grey, plain, np.random.default_rng(0))
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    gains = []
    for seed in range(20):
        out = train_clip(grey, lit, np.random.default_rng(seed))
        assert torch.equal(out, out[:1, :, :1, :1].expand_as(out))  # one draw for the clip
        gains.append((out * std + mean) / (base * std + mean))
    per_channel = torch.stack([g[0, :, 0, 0] for g in gains])
    assert per_channel.min() >= 0.8 * 0.9 - 1e-5
    assert per_channel.max() <= 1.2 * 1.1 + 1e-5
    assert (per_channel[:, 0] != per_channel[:, 1]).any()  # a colour cast, not only brightness
    # off (the default) draws nothing: clips are those of earlier versions for the same seed
    assert torch.equal(train_clip(grey, plain, np.random.default_rng(3)),
                       train_clip(grey, AugmentConfig(height=64, width=32, pad=0, flip_p=0,
                                                      erase_p=0, light=0.0),
                                  np.random.default_rng(3)))
    with pytest.raises(ValueError, match="light jitter"):
        AugmentConfig(light=1.5)


def records(counts: dict[int, int]) -> list[TrackletRecord]:
    out = []
    for pid, n in counts.items():
        for i in range(n):
            out.append(TrackletRecord(
                row=len(out), tracklet_id=f"train/{pid:04d}T{i}", pid=pid, camid=1 + i % 6,
                split="train", role="train", group=f"g{pid // 4}", shard="s", offset=0, length=1,
                frame_offsets=np.zeros(1, np.int64), frame_lengths=np.ones(1, np.int64), crc32=0))
    return out


RECORDS = records({pid: 1 + pid % 5 for pid in range(1, 24)})  # 23 identities, 1..5 tracklets


def test_sampler_covers_every_identity_once_with_k_tracklets() -> None:
    sampler = PKSampler(RECORDS, 4, 3, seed=1)
    batches = list(sampler)
    assert len(batches) == len(sampler) == 6
    seen: Counter[int] = Counter()
    for batch in batches:
        pids = [RECORDS[i].pid for i in batch]
        per_pid = Counter(pids)
        assert len(per_pid) == 4
        assert set(per_pid.values()) == {3}
        seen.update(per_pid.keys())
    assert set(seen) == {r.pid for r in RECORDS}
    assert sum(n - 1 for n in seen.values()) == 6 * 4 - 23  # only the filler repeats


def test_sampler_interleaves_identities_so_micro_batches_mix_them() -> None:
    """A pipeline's micro-batches are contiguous slices and the BN neck normalises each alone:
    every P-long slice must hold P distinct identities, in the same order each round."""
    for batch in PKSampler(RECORDS, 4, 3, seed=1):
        pids = [RECORDS[i].pid for i in batch]
        rounds = [pids[j * 4:(j + 1) * 4] for j in range(3)]
        assert all(len(set(r)) == 4 for r in rounds)
        assert rounds[0] == rounds[1] == rounds[2]


def test_sampler_is_deterministic_per_seed_and_epoch() -> None:
    a, b = PKSampler(RECORDS, 4, 3, seed=1), PKSampler(RECORDS, 4, 3, seed=1)
    assert list(a) == list(b)
    first = list(a)
    a.set_epoch(1)
    assert list(a) != first
    assert list(PKSampler(RECORDS, 4, 3, seed=2)) != first


def test_ranks_share_no_identity_and_take_equal_steps() -> None:
    shards = [list(PKSampler(RECORDS, 3, 2, seed=4, rank=r, world=3)) for r in range(3)]
    assert len({len(s) for s in shards}) == 1
    identities = [{RECORDS[i].pid for batch in s for i in batch} for s in shards]
    for r in range(3):
        for q in range(r + 1, 3):
            assert not identities[r] & identities[q]
    assert set().union(*identities) == {r.pid for r in RECORDS}


def test_rack_aware_dealing_keeps_identities_on_their_racks() -> None:
    racks = [f"/rack{i}" for i in (1, 2, 3)]
    homes = {r.pid: frozenset({racks[r.pid % 3], racks[(r.pid + 1) % 3]}) for r in RECORDS}
    for rank in range(3):
        sampler = PKSampler(RECORDS, 3, 2, seed=4, rank=rank, world=3, identity_racks=homes,
                            rank_racks=racks)
        pids = {RECORDS[i].pid for batch in sampler for i in batch}
        assert all(racks[rank] in homes[pid] for pid in pids)


def test_sampler_rejects_impossible_batches() -> None:
    with pytest.raises(ValueError, match="cannot fill batches"):
        PKSampler(records({1: 2, 2: 2}), 4, 2)
    with pytest.raises(ValueError, match="tracklets_per_id >= 2"):
        PKSampler(RECORDS, 4, 1)


def test_a_run_resumed_mid_epoch_sees_the_same_batches() -> None:
    whole = list(PKSampler(RECORDS, 4, 3, seed=1).run(0, 15))
    assert len(whole) == 15
    first_epoch = list(PKSampler(RECORDS, 4, 3, seed=1))
    assert whole[:6] == [[(0, i) for i in batch] for batch in first_epoch]
    assert {epoch for batch in whole for epoch, _ in batch} == {0, 1, 2}
    assert list(PKSampler(RECORDS, 4, 3, seed=1).run(8, 15)) == whole[8:]
