"""The one definition of a usable frame, shared by validation, ingest and reading.

A frame is usable when its bytes are one whole JPEG (start-of-image marker first, end-of-image
marker last, nothing after it) that decodes, at a plausible size. ``ingest.mars validate --files
read`` and the ingest (``ingest.shards.pack_group``) apply :func:`frame_problem` to every frame
and quarantine what fails, so whatever reaches a shard passes the same rule the reader applies:
``ingest.dataset`` checks :func:`marker_problem` on every frame it cuts from a shard (cheap; it
catches an index that points at the wrong bytes), and the training loader decodes the frame.

Trailing bytes after the end marker (e.g. NUL padding from a copy tool) are refused rather than
trimmed: the shard then holds the source's exact bytes, so its CRCs and any comparison with the
source stay true, and the frame is kept aside in the dataset's quarantine with the reason.

The decode at ingest runs libjpeg-turbo (simplejpeg, the loader's decoder) at its smallest DCT
scale: corrupt or missing entropy-coded data is found while decoding the Huffman stream, which
every scale reads in full, and the reduced inverse DCT makes the check about twice as fast as a
full-size decode (``python -m benchmarks.frame_check`` measures both).
"""

from __future__ import annotations

import simplejpeg

JPEG_START = b"\xff\xd8\xff"  # SOI marker and the first byte of the next marker
JPEG_END = b"\xff\xd9"  # EOI marker
MIN_FRAME_SIDE = 8
MAX_FRAME_SIDE = 4096


def marker_problem(data: bytes) -> str | None:
    """Why ``data`` is not one whole JPEG by its markers (None if it is): the structural part of
    :func:`frame_problem`, cheap enough for every frame the reader cuts from a shard."""
    if len(data) < len(JPEG_START) + len(JPEG_END) or not data.startswith(JPEG_START):
        return "not a JPEG (no SOI marker)"
    if not data.endswith(JPEG_END):
        unpadded = data.rstrip(b"\0")
        if unpadded.endswith(JPEG_END):
            return f"{len(data) - len(unpadded)} NUL bytes after the JPEG end marker"
        return "truncated JPEG (no EOI end marker)"
    return None


def frame_problem(data: bytes | None) -> str | None:
    """Why ``data`` cannot be stored as a frame (None if it can): missing, not one whole JPEG,
    an implausible size, or it does not decode."""
    if data is None:
        return "missing: listed in the info files but no such file"
    problem = marker_problem(data)
    if problem is not None:
        return problem
    try:
        height, width, _, _ = simplejpeg.decode_jpeg_header(data)
    except ValueError as exc:
        return f"unreadable JPEG header: {exc}"
    if not all(MIN_FRAME_SIDE <= side <= MAX_FRAME_SIDE for side in (height, width)):
        return f"implausible frame size {width}x{height}"
    try:
        simplejpeg.decode_jpeg(data, colorspace="RGB", min_height=1, min_width=1, min_factor=8)
    except ValueError as exc:
        return f"does not decode: {exc}"
    return None
