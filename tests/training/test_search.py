"""Search: the chunked exact top-k against a full stable sort, and on the real cluster the tie
to evaluation (for every query, search's top-k is the ranking evaluation scores), the command
line's page and JSON, and a query given as a folder of crops."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from ingest.dataset import open_dataset
from training.agreement import compare_with_evaluation
from training.embed import embed_dataset
from training.gallery import GalleryChunk
from training.metrics import Metric, distance_matrix
from training.model import load_exported
from training.pipeline import PipelineEngine
from training.search import SearchError, main, rank_gallery, read_crops

pytestmark = pytest.mark.usefixtures("one_thread")


def chunked(features: np.ndarray, rows: int) -> Iterator[GalleryChunk]:
    for start in range(0, len(features), rows):
        yield GalleryChunk(start, features[start:start + rows])


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
@pytest.mark.parametrize("rows", [1, 7, 64, 1000])
def test_chunked_top_k_is_the_first_k_of_a_stable_sort(metric: Metric, rows: int) -> None:
    """Coarse features make many exact distance ties: they must break by gallery row, as
    evaluation breaks them, whatever the chunk size."""
    rng = np.random.default_rng(rows)
    gallery = rng.integers(0, 3, size=(300, 6)).astype(np.float32)
    queries = rng.integers(0, 3, size=(9, 6)).astype(np.float32)
    full = distance_matrix(queries, gallery, metric)
    ranking = rank_gallery(queries, chunked(gallery, rows), 25, metric)
    want = np.argsort(full, axis=1, kind="stable")[:, :25]
    np.testing.assert_array_equal(ranking.rows, want)
    np.testing.assert_array_equal(ranking.distances, np.take_along_axis(full, want, axis=1))
    for q in range(len(queries)):  # one query at a time, as the command line asks
        alone = rank_gallery(queries[q:q + 1], chunked(gallery, rows), 25, metric)
        np.testing.assert_array_equal(alone.rows[0], want[q])


@pytest.mark.parametrize("rows", [3, 50, 400])
def test_near_ties_beyond_float32_resolution_rank_as_evaluation_ranks(rows: int) -> None:
    """Gallery vectors a hair apart (their float32 distances differ by less than float32
    rounding): the float32 pre-filter must hand every contender to the exact scoring."""
    rng = np.random.default_rng(rows)
    base = rng.normal(size=(8, 256)).astype(np.float32)
    gallery = (base[rng.integers(0, 8, 400)]
               + rng.normal(scale=1e-6, size=(400, 256))).astype(np.float32)
    queries = (base[:5] + rng.normal(scale=1e-3, size=(5, 256))).astype(np.float32)
    full = distance_matrix(queries, gallery, "cosine")
    want = np.argsort(full, axis=1, kind="stable")[:, :30]
    ranking = rank_gallery(queries, chunked(gallery, rows), 30, "cosine")
    np.testing.assert_array_equal(ranking.rows, want)


def test_excluded_entries_never_rank_and_missing_ranks_are_marked() -> None:
    rng = np.random.default_rng(0)
    gallery = rng.normal(size=(50, 4)).astype(np.float32)
    camids = np.arange(50) % 5
    queries = gallery[:2]

    def other_cameras_only(start: int, count: int) -> np.ndarray:
        cams = camids[start:start + count][None, :]
        return cams == np.array([[0], [1]])

    ranking = rank_gallery(queries, chunked(gallery, 8), 45, "cosine", other_cameras_only)
    for q in range(2):
        full = distance_matrix(queries[q:q + 1], gallery, "cosine")[0]
        kept = np.flatnonzero(camids != q)
        want = kept[np.argsort(full[kept], kind="stable")]
        np.testing.assert_array_equal(ranking.rows[q, :40], want)
        assert (ranking.rows[q, 40:] == -1).all()
        assert np.isnan(ranking.distances[q, 40:]).all()


@pytest.mark.parametrize("rows", [16, 64, 1000])
def test_excluded_nearest_entries_do_not_hide_eligible_ones(rows: int) -> None:
    """The query's own camera holds its nearest entries (as a crop folder's camera does):
    excluding them must still give k eligible matches, the first k of the others' ranking."""
    rng = np.random.default_rng(rows)
    query = rng.normal(size=(1, 32)).astype(np.float32)
    near = (query + rng.normal(scale=0.05, size=(40, 32))).astype(np.float32)
    far = rng.normal(size=(160, 32)).astype(np.float32)
    gallery = np.concatenate([near, far])
    same_camera = np.arange(len(gallery)) < 40

    def own_camera(start: int, count: int) -> np.ndarray:
        return same_camera[start:start + count][None, :]

    ranking = rank_gallery(query, chunked(gallery, rows), 10, "cosine", own_camera)
    full = distance_matrix(query, gallery, "cosine")[0]
    others = np.flatnonzero(~same_camera)
    np.testing.assert_array_equal(ranking.rows[0],
                                  others[np.argsort(full[others], kind="stable")[:10]])


def test_crop_folders_are_checked(tmp_path: Path) -> None:
    with pytest.raises(SearchError, match=r"no \.jpg"):
        read_crops(tmp_path)
    (tmp_path / "a.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(SearchError, match=str(tmp_path / "a.jpg")):
        read_crops(tmp_path)
    with pytest.raises(SearchError, match="not a directory"):
        read_crops(tmp_path / "a.jpg")


# --- on the real cluster ------------------------------------------------------------------


@pytest.fixture(scope="module")
def embedded(small_dataset: str, tiny_export: Path) -> str:
    return embed_dataset(small_dataset, load_exported(tiny_export), workers=0,
                         progress=False).url


@pytest.mark.cluster
def test_search_top_k_equals_evaluations_ranking_for_every_query(
        small_dataset: str, tiny_checkpoint: tuple[str, PipelineEngine], embedded: str) -> None:
    """Evaluation's side as ``training.evaluate`` computes it (the checkpoint's model straight
    from HDFS, features of every test tracklet, query x all distances); search's side from the
    exported model's features read back from Parquet in HDFS, scored in chunks of 5 rows, so
    most rankings cross chunk boundaries."""
    agreement = compare_with_evaluation(small_dataset, tiny_checkpoint[0], embedded, k=20,
                                        chunk_rows=5, workers=0)
    assert agreement.queries >= 4
    assert agreement.feature_max_abs_diff <= 1e-6
    assert agreement.official_equal == agreement.queries
    assert agreement.standard_equal == agreement.queries
    assert agreement.complete


@pytest.mark.cluster
def test_query_by_tracklet_prints_and_writes_page_and_json(
        small_dataset: str, embedded: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    data = open_dataset(small_dataset)
    query = data.select(split="test", roles=["query"])[0]
    out = tmp_path / "page"
    assert main(["--features", embedded, "--query", query.tracklet_id, "--top-k", "5",
                 "--exclude-same-camera", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    document = json.loads((out / "search.json").read_text())
    matches = document["matches"]
    assert 1 <= len(matches) <= 5
    assert all(m["camid"] != query.camid for m in matches)
    assert [m["rank"] for m in matches] == list(range(1, len(matches) + 1))
    distances = [m["distance"] for m in matches]
    assert distances == sorted(distances)
    assert document["query"]["pid"] == query.pid
    page = (out / "index.html").read_text()
    for match in matches:
        assert match["tracklet_id"] in printed
        assert match["tracklet_id"] in page
        for frame in match["frames"]:
            assert (out / frame).read_bytes()[:2] == b"\xff\xd8"  # the shard's JPEG bytes
            assert f'src="{frame}"' in page
    for frame in document["query"]["frames"]:
        assert f'src="{frame}"' in page


@pytest.mark.cluster
def test_crops_of_a_tracklet_find_that_tracklet_first(
        small_dataset: str, embedded: str, tiny_export: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """A folder holding a test tracklet's frames (as a camera export would: one file per frame)
    is a new query whose feature is that tracklet's: it ranks first at distance ~0."""
    data = open_dataset(small_dataset)
    target = data.select(split="test")[3]
    crops = tmp_path / "crops"
    crops.mkdir()
    for i, blob in enumerate(data.read_frames(target)):
        (crops / f"frame-{i:04d}.jpg").write_bytes(blob)
    out = tmp_path / "page"
    assert main(["--features", embedded, "--query-dir", str(crops), "--model", str(tiny_export),
                 "--top-k", "3", "--rerank", "--out", str(out)]) == 0
    capsys.readouterr()
    exact = tmp_path / "exact"
    assert main(["--features", embedded, "--query-dir", str(crops), "--model", str(tiny_export),
                 "--top-k", "3", "--out", str(exact)]) == 0
    matches = json.loads((exact / "search.json").read_text())["matches"]
    assert matches[0]["tracklet_id"] == target.tracklet_id
    assert matches[0]["distance"] < 1e-5
    reranked = json.loads((out / "search.json").read_text())
    assert reranked["settings"]["re-ranking"] is True
    assert len(reranked["matches"]) == 3
