"""``python -m training.search``: find a person across cameras in an embedded gallery.

    python -m training.search --features hdfs://127.0.0.10:8020/reid/demo/features/<v>/test \\
        --query 0003C1T0001 --top-k 20 --exclude-same-camera --out reports/search
    python -m training.search --features ... --model models/demo.pt --query-dir crops/ ...

Why exact and chunked: the gallery (``training.embed``'s Parquet features in HDFS) is streamed
chunk by chunk and each chunk is scored against every query with the distance code evaluation
uses; a running top-k keeps the best entries as unique ranking keys (distance, then gallery
row), so memory stays one chunk plus k per query, and the result is exactly the first k of
evaluation's stable ranking, whatever the chunk size. ``--rerank`` re-ranks a pool of the best
exact matches with k-reciprocal encoding (``training.rerank``), which needs the pool's pairwise
distances and therefore cannot run on a whole large gallery.

The matches are printed and written to ``OUT/index.html`` (the query's frames and each match's
frames, read from the dataset's shards in HDFS) with ``OUT/search.json`` holding the same.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import torch
from PIL import Image, UnidentifiedImageError

from hadoop.cli import ArgumentParser, entry_point, positive_int
from ingest.dataset import open_dataset
from training.errors import TrainingError
from training.features import frames_feature
from training.gallery import FeatureGallery, GalleryChunk, GalleryMeta
from training.metrics import METRICS, Metric, distance_matrix, key_distances, ranking_keys
from training.model.exported import load_exported
from training.rerank import k_reciprocal_rerank
from training.search_page import Match, QueryView, write_search_page

FloatArray = npt.NDArray[np.float32]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]
CROP_SUFFIXES = (".jpg", ".jpeg", ".png")
# Which gallery entries a query must not be matched with: (first row, rows) -> (Q, rows) mask.
Exclusion = Callable[[int, int], BoolArray]

_NONE = np.uint64(0xFFFF_FFFF_FFFF_FFFF)  # the key of an excluded entry: ranks after all others
_LOW = np.uint64(0xFFFF_FFFF)
_QUERIES_PER_GROUP = 8  # queries scored exactly together (see _CosineFilter.exact)


class SearchError(TrainingError):
    """A query that cannot be answered (unknown tracklet, unreadable crops, mismatched model)."""


@dataclass(frozen=True)
class Ranking:
    """Per query, the best gallery rows (best first; -1 where fewer than k were eligible) and
    their distances (NaN there)."""

    rows: IntArray  # (Q, k)
    distances: FloatArray  # (Q, k)


class TopK:
    """The k best (distance, row) keys per query seen so far, over chunks of the gallery."""

    def __init__(self, queries: int, k: int) -> None:
        if k < 1:
            raise SearchError(f"top-k must be >= 1, got {k}")
        self.k = k
        self.keys = np.full((queries, 0), _NONE, dtype=np.uint64)

    def add(self, dist: FloatArray, rows: IntArray, excluded: BoolArray | None = None) -> None:
        """Offer ``dist`` (queries x len(rows)), the distances to gallery ``rows``."""
        keys = ranking_keys(dist.astype(np.float32, copy=False), rows)
        if excluded is not None:
            keys[excluded] = _NONE
        merged = np.concatenate([self.keys, keys], axis=1)
        if merged.shape[1] > self.k:
            merged = np.partition(merged, self.k - 1, axis=1)[:, : self.k]
        self.keys = merged

    def worst(self) -> FloatArray:
        """Per query, the k-th best distance so far (inf while fewer than k are known): a
        gallery entry farther than this can no longer enter the top k."""
        if self.keys.shape[1] < self.k:
            return np.full(len(self.keys), np.inf, dtype=np.float32)
        last = self.keys.max(axis=1)
        return np.where(last == _NONE, np.float32(np.inf), key_distances(last))

    def ranking(self) -> Ranking:
        keys = np.sort(self.keys, axis=1)
        eligible = keys != _NONE
        rows = np.where(eligible, (keys & _LOW).astype(np.int64), -1)
        distances = np.where(eligible, key_distances(keys), np.float32(np.nan))
        return Ranking(rows, distances.astype(np.float32))


def rank_gallery(queries: FloatArray, chunks: Iterable[GalleryChunk], k: int, metric: Metric,
                 exclude: Exclusion | None = None) -> Ranking:
    """Exact top-k of every query over a gallery given in chunks (in gallery order).

    Cosine: each chunk is first scored in float32, and only the (query, entry) pairs that could
    still enter that query's top k (float32 distance within the float32 error bound of the k-th
    best) are scored again exactly, as ``distance_matrix`` does; all others are farther than
    the k-th best for certain. Euclidean scores every entry exactly.
    """
    top = TopK(len(queries), k)
    cosine = _CosineFilter(queries) if metric == "cosine" else None
    for chunk in chunks:
        mask = None if exclude is None else exclude(chunk.start, len(chunk.features))
        if cosine is None:
            top.add(distance_matrix(queries, chunk.features, metric),
                    chunk.start + np.arange(len(chunk.features)), mask)
            continue
        candidate = cosine.within(chunk.features, top.worst(), k, mask)
        columns = np.flatnonzero(candidate.any(axis=0))
        if len(columns):
            candidate = candidate[:, columns]
            top.add(cosine.exact(chunk.features[columns], candidate), chunk.start + columns,
                    ~candidate)
    return top.ranking()


class _CosineFilter:
    """float32 cosine distances with a bound on their error against the exact ones.

    Unit vectors q, g: the float32 dot product of D terms is within D * u * sum|q_i g_i| <=
    D * u of the true one (u = 2**-24, the unit roundoff; Higham, Accuracy and Stability of
    Numerical Algorithms, 3.1), the float32 normalisations (of the query, and the division by
    the gallery vector's norm) add a few u, and the exact distance is rounded to float32 (u
    more); ``margin`` covers all of it with room.
    """

    def __init__(self, queries: FloatArray) -> None:
        self.queries = torch.nn.functional.normalize(torch.as_tensor(queries).float(), dim=1)
        self.margin = np.float32(1.25 * (queries.shape[1] + 16) * 2.0**-24)
        self.exact_queries = queries

    def within(self, gallery: FloatArray, worst: FloatArray, k: int,
               excluded: BoolArray | None = None) -> BoolArray:
        """Per query, the gallery rows that may still enter its top k, given its k-th best
        exact distance so far (``worst``). After this chunk the k-th best is at most
        ``bound``: ``worst``, or the k-th best float32 distance among the chunk's eligible
        (not ``excluded``) entries plus the margin; an entry whose float32 distance exceeds
        ``bound`` by more than the margin is farther than that for certain. Excluded entries
        never bound anything: the nearest rows of a query's own camera must not push its
        eligible matches out."""
        g = torch.as_tensor(gallery).float()
        norms = torch.linalg.vector_norm(g, dim=1).clamp_(min=1e-12)  # as normalize() does
        approx = (1.0 - (self.queries @ g.T) / norms).numpy()
        if excluded is not None:
            approx[excluded] = np.inf
        bound = worst
        if approx.shape[1] >= k:
            kth = np.partition(approx, k - 1, axis=1)[:, k - 1]
            bound = np.minimum(worst, kth + self.margin)
        candidate = approx <= (bound + self.margin)[:, None]
        return candidate if excluded is None else candidate & ~excluded

    def exact(self, gallery: FloatArray, candidate: BoolArray) -> FloatArray:
        """``distance_matrix``'s distances for the ``candidate`` (query, row) pairs. Queries
        are scored in small groups, each against the rows any of them needs (the union over
        all queries would be most of the chunk); a row no query of a group needs stays inf,
        and a non-candidate pair inside a group's rows gets its distance too, so the caller
        masks every non-candidate."""
        out = np.full(candidate.shape, np.inf, dtype=np.float32)
        for start in range(0, len(candidate), _QUERIES_PER_GROUP):
            group = slice(start, start + _QUERIES_PER_GROUP)
            columns = np.flatnonzero(candidate[group].any(axis=0))
            if len(columns):
                out[group, columns] = distance_matrix(self.exact_queries[group],
                                                      gallery[columns], "cosine")
        return out


def rerank(queries: FloatArray, exact: Ranking, gallery: FeatureGallery, k: int,
           metric: Metric) -> Ranking:
    """k-reciprocal re-ranking of each query's exact pool (the rows of ``exact``)."""
    pool_rows = np.unique(exact.rows[exact.rows >= 0])
    pool_features = gallery.features_of(pool_rows)
    where = {int(row): i for i, row in enumerate(pool_rows)}
    rows = np.full((len(queries), k), -1, dtype=np.int64)
    distances = np.full((len(queries), k), np.nan, dtype=np.float32)
    for q in range(len(queries)):
        candidates = exact.rows[q][exact.rows[q] >= 0]
        if not len(candidates):
            continue
        features = pool_features[[where[int(r)] for r in candidates]]
        query = queries[q : q + 1]
        final = k_reciprocal_rerank(distance_matrix(query, features, metric),
                                    distance_matrix(query, query, metric),
                                    distance_matrix(features, features, metric))[0]
        order = np.argsort(final, kind="stable")[:k]
        rows[q, : len(order)] = candidates[order]
        distances[q, : len(order)] = final[order]
    return Ranking(rows, distances)


def exclusion(meta: GalleryMeta, query_rows: npt.ArrayLike, query_camids: npt.ArrayLike | None
              ) -> Exclusion:
    """Leave out each query's own gallery row (-1: none) and, given the query cameras, every
    gallery tracklet seen by the query's camera (``--exclude-same-camera``)."""
    own = np.asarray(query_rows, dtype=np.int64)[:, None]
    cams = None if query_camids is None else np.asarray(query_camids, dtype=np.int64)[:, None]

    def mask(start: int, rows: int) -> BoolArray:
        excluded = np.arange(start, start + rows)[None, :] == own
        if cams is not None:
            excluded |= meta.camids[start : start + rows][None, :] == cams
        return excluded

    return mask


def read_crops(folder: Path) -> tuple[list[Path], list[np.ndarray]]:
    """The person crops (JPEG/PNG) of a folder, in name order, as RGB arrays."""
    if not folder.is_dir():
        raise SearchError(f"--query-dir {folder} is not a directory")
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in CROP_SUFFIXES)
    if not paths:
        raise SearchError(f"--query-dir {folder} holds no .jpg/.jpeg/.png crops")
    frames = []
    for path in paths:
        try:
            with Image.open(path) as image:
                frames.append(np.asarray(image.convert("RGB")))
        except (OSError, UnidentifiedImageError) as exc:
            raise SearchError(f"{path} is not a readable image: {exc}") from exc
    return paths, frames


def _evenly(count: int, most: int) -> list[int]:
    return sorted({int(i) for i in np.linspace(0, count - 1, num=min(most, count))})


def main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(
        prog="python -m training.search",
        description="Exact top-k search of an embedded gallery (python -m training.embed) for "
                    "a tracklet of the dataset or a folder of person crops; prints the matches "
                    "and writes OUT/index.html and OUT/search.json.")
    parser.add_argument("--features", required=True,
                        help="hdfs://.../reid/<name>/features/<model version>/<split>")
    query = parser.add_mutually_exclusive_group(required=True)
    query.add_argument("--query", metavar="TRACKLET_ID", help="a tracklet of the gallery")
    query.add_argument("--query-dir", type=Path, metavar="DIR",
                       help="a folder of person crops (JPEG/PNG), e.g. from new footage")
    parser.add_argument("--model", type=Path,
                        help="the exported model the gallery was embedded with (--query-dir)")
    parser.add_argument("--query-camera", type=positive_int, default=None,
                        help="camera of the --query-dir crops (for --exclude-same-camera)")
    parser.add_argument("--top-k", type=positive_int, default=20)
    parser.add_argument("--metric", choices=METRICS, default="cosine")
    parser.add_argument("--exclude-same-camera", action="store_true",
                        help="only matches seen by other cameras than the query's")
    parser.add_argument("--rerank", action="store_true",
                        help="k-reciprocal re-ranking of the best --rerank-pool exact matches")
    parser.add_argument("--rerank-pool", type=positive_int, default=100)
    parser.add_argument("--chunk-rows", type=positive_int, default=4096,
                        help="gallery rows scored at a time (bounds memory)")
    parser.add_argument("--frames", type=positive_int, default=4,
                        help="frames shown per tracklet")
    parser.add_argument("--out", type=Path, default=Path("reports/search"))
    parser.add_argument("--device", default="cpu", help="device for --query-dir features")
    args = parser.parse_args(argv)
    if args.query_dir is not None and args.model is None:
        parser.error("--query-dir needs --model (the exported model the gallery was embedded "
                     "with) to compute the crops' feature")
    if args.query_dir is not None and args.exclude_same_camera and args.query_camera is None:
        parser.error("--exclude-same-camera with --query-dir needs --query-camera")

    gallery = FeatureGallery(args.features)
    meta = gallery.meta()
    data = open_dataset(gallery.commit.dataset)
    records = {r.tracklet_id: r for r in data.records}
    if args.query is not None:
        row = meta.row_of(args.query)
        if row is None:
            raise SearchError(f"--query {args.query} is not in the gallery {args.features} "
                              f"({len(meta.tracklet_ids)} tracklets)")
        features = gallery.features_of([row])
        camera: int | None = int(meta.camids[row])
        record = records[args.query]
        query_view = QueryView(
            title=f"tracklet {args.query}", pid=int(meta.pids[row]), camid=camera,
            frames=data.read_frames(record, _evenly(record.num_frames, args.frames)))
        own = row
    else:
        exported = load_exported(args.model)
        if exported.fingerprint != gallery.commit.fingerprint:
            raise SearchError(f"--model {args.model} is model {exported.version}, but "
                              f"{args.features} was embedded with model {gallery.commit.model}")
        paths, crops = read_crops(args.query_dir)
        features = frames_feature(exported.model, crops, device=torch.device(args.device))[None]
        camera = args.query_camera
        query_view = QueryView(title=f"{len(paths)} crops from {args.query_dir}", pid=None,
                               camid=camera,
                               frames=[paths[i].read_bytes() for i in _evenly(len(paths),
                                                                                args.frames)],
                               names=[paths[i].name for i in _evenly(len(paths), args.frames)])
        own = -1
    same_camera = [camera] if args.exclude_same_camera and camera is not None else None
    exclude = exclusion(meta, [own], same_camera)
    pool = max(args.top_k, args.rerank_pool) if args.rerank else args.top_k
    ranking = rank_gallery(features, gallery.chunks(args.chunk_rows), pool, args.metric,
                           exclude)
    if args.rerank:
        ranking = rerank(features, ranking, gallery, args.top_k, args.metric)
    matches = []
    for rank, (row, distance) in enumerate(zip(ranking.rows[0], ranking.distances[0],
                                               strict=True), start=1):
        if row < 0 or rank > args.top_k:
            break
        record = records[meta.tracklet_ids[row]]
        matches.append(Match(
            rank=rank, tracklet_id=record.tracklet_id, pid=int(meta.pids[row]),
            camid=int(meta.camids[row]), distance=float(distance),
            num_frames=int(meta.num_frames[row]),
            frames=data.read_frames(record, _evenly(record.num_frames, args.frames))))
    settings = {"features": args.features, "model": gallery.commit.model,
                "dataset": gallery.commit.dataset, "gallery tracklets": len(meta.tracklet_ids),
                "metric": args.metric, "top-k": args.top_k,
                "exclude same camera": args.exclude_same_camera, "re-ranking": args.rerank}
    index = write_search_page(args.out, query_view, matches, settings)
    print(f"query: {query_view.title}" + (f" (pid {query_view.pid}, camera {camera})"
                                           if query_view.pid is not None else ""))
    print(f"{'rank':>4}  {'tracklet':<16} {'pid':>5} {'camera':>6}  distance")
    for match in matches:
        print(f"{match.rank:>4}  {match.tracklet_id:<16} {match.pid:>5} {match.camid:>6}  "
              f"{match.distance:.4f}")
    print(f"page: {index}")
    return 0


cli = entry_point(main)

if __name__ == "__main__":
    cli()
