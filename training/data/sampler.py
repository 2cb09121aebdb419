"""P x K identity batches for the batch-hard triplet loss, deterministic and shardable.

Each epoch shuffles the identities (seeded by (seed, epoch)) and cuts them into batches of P;
each identity contributes K of its tracklets (drawn with replacement when it has fewer, as
NVAN's sampler does), listed identity-interleaved so that any contiguous micro-batch spans as
many identities as it can. Every identity appears once per epoch; the last batch is filled with
identities from the start of the epoch's order, so a few appear twice. Batches are dealt to
data-parallel ranks so that no two ranks share an identity in an epoch and every rank gets the
same number of batches (pipeline stages need identical step counts).

Locality (optional): given the racks holding each identity's data and each rank's rack,
identities are dealt to ranks whose rack holds a replica (balanced), so each rank's HDFS reads
stay in its rack; the NameNode then serves every read from a rack-local DataNode.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from itertools import cycle, islice

import numpy as np
from torch.utils.data import Sampler

from ingest.dataset import TrackletRecord


class PKSampler(Sampler[list[int]]):
    def __init__(self, records: Sequence[TrackletRecord], ids_per_batch: int,
                 tracklets_per_id: int, *, seed: int = 0, rank: int = 0, world: int = 1,
                 identity_racks: Mapping[int, frozenset[str]] | None = None,
                 rank_racks: Sequence[str] | None = None) -> None:
        if ids_per_batch < 2 or tracklets_per_id < 2:
            raise ValueError("batch-hard triplets need ids_per_batch >= 2 and "
                             f"tracklets_per_id >= 2, got {ids_per_batch}, {tracklets_per_id}")
        if not 0 <= rank < world:
            raise ValueError(f"rank {rank} is outside 0..{world - 1}")
        if (identity_racks is None) != (rank_racks is None):
            raise ValueError("locality needs both identity_racks and rank_racks")
        if rank_racks is not None and len(rank_racks) != world:
            raise ValueError(f"rank_racks has {len(rank_racks)} entries for {world} ranks")
        self.tracklets: dict[int, list[int]] = {}
        for index, record in enumerate(records):
            self.tracklets.setdefault(record.pid, []).append(index)
        if len(self.tracklets) < ids_per_batch * world:
            raise ValueError(f"{len(self.tracklets)} identities cannot fill batches of "
                             f"{ids_per_batch} identities on {world} ranks")
        self.p, self.k = ids_per_batch, tracklets_per_id
        self.seed, self.rank, self.world = seed, rank, world
        self.identity_racks = identity_racks
        self.rank_racks = rank_racks
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        per_rank = math.ceil(len(self.tracklets) / self.world)
        return math.ceil(per_rank / self.p)

    def __iter__(self) -> Iterator[list[int]]:
        rng = np.random.default_rng((self.seed, self.epoch))
        pids = sorted(self.tracklets)
        order = [pids[i] for i in rng.permutation(len(pids))]
        dealt = self._deal(order)[self.rank]
        batches = len(self)
        mine = list(islice(cycle(dealt), batches * self.p))  # the last batch filled from the start
        member_rng = np.random.default_rng((self.seed, self.epoch, self.rank, 1))
        for b in range(batches):
            picks = []
            for pid in mine[b * self.p:(b + 1) * self.p]:
                pool = self.tracklets[pid]
                chosen = member_rng.choice(len(pool), size=self.k, replace=len(pool) < self.k)
                picks.append([pool[i] for i in chosen])
            # Identity-interleaved (a1 b1 c1 a2 b2 c2 ...): a pipeline cuts the batch into
            # contiguous micro-batches, and the BN neck normalises each one on its own; with
            # identity-major order a micro-batch could hold one identity only, and BN would
            # push its clips apart (two clips become +x and -x), which the classifier can't fit.
            yield [member[j] for j in range(self.k) for member in picks]

    def run(self, start_step: int, stop_step: int) -> Iterator[list[tuple[int, int]]]:
        """Batches of (epoch, tracklet index) keys for global steps [start, stop) of a run
        that takes ``len(self)`` steps per epoch: one stream over epochs, so one DataLoader
        (and its workers) serves a whole run, resumed mid-epoch if need be."""
        step = start_step
        while step < stop_step:
            epoch, skip = divmod(step, len(self))
            self.set_epoch(epoch)
            for batch in islice(iter(self), skip, skip + stop_step - step):
                yield [(epoch, index) for index in batch]
                step += 1

    def _deal(self, order: list[int]) -> list[list[int]]:
        """Identities per rank: round-robin, or by rack locality when configured."""
        if self.identity_racks is None or self.rank_racks is None:
            return [order[r::self.world] for r in range(self.world)]
        quota = math.ceil(len(order) / self.world)
        dealt: list[list[int]] = [[] for _ in range(self.world)]
        homeless = []
        # identities with fewer eligible ranks first, so they get one
        eligible = {pid: [r for r, rack in enumerate(self.rank_racks)
                          if rack in self.identity_racks.get(pid, frozenset())]
                    for pid in order}
        for pid in sorted(order, key=lambda p: len(eligible[p])):
            open_ranks = [r for r in eligible[pid] if len(dealt[r]) < quota]
            if open_ranks:
                dealt[min(open_ranks, key=lambda r: len(dealt[r]))].append(pid)
            else:
                homeless.append(pid)
        for pid in homeless:
            dealt[min(range(self.world), key=lambda r: len(dealt[r]))].append(pid)
        position = {pid: i for i, pid in enumerate(order)}
        return [sorted(ranks, key=position.__getitem__) for ranks in dealt]
