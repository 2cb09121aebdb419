"""Drawing synthetic pedestrians as MARS-like 256x128 crops, with vectorised numpy.

What makes the data learnable, and what makes it hard. They are calibrated so that on the
default set (80 identities) a small CNN trained from scratch for a few CPU minutes tells the
unseen test identities apart, while random-init networks and raw pixels do not (the cameras
dominate them):

- An identity (:class:`Person`) is a stable outfit and build: top and bottom colours, a top
  pattern (plain, horizontal or vertical stripes, checks, colour block, sash, chest emblem) in a
  second colour, trousers/shorts/skirt, sleeves, hair, skin, shoes, a bag, height and widths.
  Identities come in *families* (:class:`Family`) that share the top and bottom colours and
  wear different patterns, so colour alone does not tell family members apart.
- A camera (:class:`Camera`) has its own background scene (one of :data:`SCENE_STYLES`, muted
  to :data:`SCENE_SATURATION` so that people carry the strong colours), a brightness (0.8-1.15)
  and colour cast (per channel x exp(N(0, 0.05))) that light the person too, a person scale
  (0.88-0.97 of the frame height), a view (front: face and the straps of a backpack; back:
  hair and the whole backpack), lens blur (0-1 px), sensor noise (1-3 grey levels) and JPEG
  quality (75-92). A random network's features mostly encode the camera.
- A tracklet walks through the camera's scene: the crop pans over the background, the gait
  cycles through :data:`POSES` poses, the box jitters, the walking direction mirrors the person,
  one tracklet in ten is partly occluded (a pole, or something low in front), the light
  flickers by 5%, and every frame gets fresh noise.

Rendering cost is paid per (identity, camera) for the poses and per camera for the scene; a
frame is then a slice of the scene, one alpha blend, noise, and JPEG encoding.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import numpy as np
import scipy.ndimage

FRAME_H, FRAME_W = 256, 128
SCENE_H, SCENE_W = FRAME_H + 32, 5 * FRAME_W
POSES = 4  # gait phases: feet together, apart, together, apart the other way
# MARS crops are detection boxes resized to 256x128, which widens people: draw them wider.
STRETCH = 1.5
SCENE_SATURATION = 0.25
View = Literal["front", "back"]
RGB = tuple[float, float, float]

TOP_PATTERNS = ("solid", "hstripes", "vstripes", "checks", "block", "sash", "emblem")
BOTTOM_KINDS = ("trousers", "shorts", "skirt")
BAGS = ("none", "backpack", "shoulder")
SCENE_STYLES = ("bricks", "panels", "windows", "foliage", "tiles", "gradient")
# Typical trouser colours (jeans, black, grey, khaki, navy, brown) mixed with random ones.
_BOTTOM_PALETTE = np.array(
    [[40, 60, 110], [25, 25, 30], [110, 110, 115], [170, 150, 110], [30, 35, 70], [90, 60, 40]],
    dtype=np.float32,
)
_SKIN = np.array([[235, 200, 170], [200, 150, 110], [140, 95, 65], [90, 60, 40]], np.float32)
_HAIR = np.array([[20, 15, 10], [70, 45, 25], [150, 110, 60], [200, 190, 170]], np.float32)


@dataclass(frozen=True)
class Person:
    """One identity's stable appearance; lengths are in units of the person's height."""

    height: float
    shoulder: float
    hip: float
    torso: float
    head: float
    skin: RGB
    hair: RGB
    long_hair: bool
    top: RGB
    top_second: RGB
    top_pattern: str
    pattern_cycles: int
    long_sleeves: bool
    bottom: RGB
    bottom_kind: str
    bottom_stripe: bool
    shoes: RGB
    bag: str
    bag_colour: RGB


@dataclass(frozen=True)
class Camera:
    """A camera's look; ``scene`` is already lit by ``gain`` and blurred."""

    camid: int
    scene: np.ndarray
    gain: np.ndarray
    person_height: float
    foot_margin: int
    view: View
    blur: float
    noise: float
    quality: int


def _rgb(values: np.ndarray) -> RGB:
    r, g, b = (float(v) for v in np.clip(values, 0, 255))
    return (r, g, b)


def _random_colour(rng: np.random.Generator) -> np.ndarray:
    """A clothing colour: random hue, mid to high saturation, not too dark to show patterns."""
    hue = rng.random()
    saturation = rng.uniform(0.25, 0.9)
    value = rng.uniform(0.3, 0.95)
    phase = (hue * 6 + np.array([0.0, 4.0, 2.0])) % 6
    channel = np.clip(np.abs(phase - 3) - 1, 0, 1)  # HSV -> RGB for the hue
    return np.asarray(255 * value * (1 - saturation + saturation * channel), dtype=np.float32)


@dataclass(frozen=True)
class Family:
    """What look-alike identities share: top and bottom colours. Members take the patterns in
    ``patterns`` order, so that no two members of a family (up to 7) wear the same pattern."""

    top: RGB
    bottom: RGB
    patterns: tuple[str, ...]


def random_family(rng: np.random.Generator) -> Family:
    top = _random_colour(rng)
    if rng.random() < 0.6:
        bottom = _BOTTOM_PALETTE[rng.integers(len(_BOTTOM_PALETTE))]
    else:
        bottom = _random_colour(rng)
    patterns = tuple(TOP_PATTERNS[i] for i in rng.permutation(len(TOP_PATTERNS)))
    return Family(_rgb(top), _rgb(bottom), patterns)


def random_person(rng: np.random.Generator, family: Family, member: int) -> Person:
    """Member ``member`` of ``family``: (slightly varied) family colours, the member's pattern,
    and a build, hair, shoes and bag of their own."""
    top, bottom = family.top, family.bottom
    jitter = rng.normal(0, 6, size=(2, 3))
    return Person(
        height=float(rng.uniform(0.86, 1.0)),
        shoulder=float(rng.uniform(0.085, 0.13)),
        hip=float(rng.uniform(0.07, 0.105)),
        torso=float(rng.uniform(0.29, 0.36)),
        head=float(rng.uniform(0.85, 1.15)),
        skin=_rgb(_SKIN[rng.integers(len(_SKIN))] + rng.normal(0, 8, 3)),
        hair=_rgb(_HAIR[rng.integers(len(_HAIR))] + rng.normal(0, 8, 3)),
        long_hair=bool(rng.random() < 0.35),
        top=_rgb(np.asarray(top) + jitter[0]),
        top_second=_rgb(_random_colour(rng) if rng.random() < 0.7 else 255 - np.asarray(top)),
        top_pattern=family.patterns[member % len(family.patterns)],
        pattern_cycles=int(rng.integers(2, 6)),
        long_sleeves=bool(rng.random() < 0.5),
        bottom=_rgb(np.asarray(bottom) + jitter[1]),
        bottom_kind=BOTTOM_KINDS[rng.choice(3, p=[0.6, 0.25, 0.15])],
        bottom_stripe=bool(rng.random() < 0.25),
        shoes=_rgb(_random_colour(rng) * rng.uniform(0.3, 1.0)),
        bag=BAGS[rng.choice(3, p=[0.5, 0.2, 0.3])],
        bag_colour=_rgb(_random_colour(rng)),
    )


# --- cameras -------------------------------------------------------------------------------


def make_camera(seed: int, camid: int) -> Camera:
    """Camera ``camid`` of the world drawn from ``seed``: every camera differs strongly."""
    world = np.random.default_rng([seed, 7])
    styles = world.permutation(len(SCENE_STYLES))
    views: list[View] = ["front", "back"] * 3
    view = views[int(world.permutation(6)[(camid - 1) % 6])]
    rng = np.random.default_rng([seed, 8, camid])
    brightness = rng.uniform(0.8, 1.15)
    gain = np.clip(brightness * np.exp(rng.normal(0, 0.05, 3)), 0.7, 1.3).astype(np.float32)
    blur = float(rng.choice([0.0, 0.6, 1.0]))
    scene = _scene(rng, SCENE_STYLES[int(styles[(camid - 1) % len(styles)])]) * gain
    if blur:
        scene = scipy.ndimage.gaussian_filter(scene, sigma=(blur, blur, 0))
    return Camera(
        camid=camid,
        scene=np.ascontiguousarray(scene, dtype=np.float32),
        gain=gain,
        person_height=float(rng.uniform(0.88, 0.97)),
        foot_margin=int(rng.integers(2, 16)),
        view=view,
        blur=blur,
        noise=float(rng.uniform(1.0, 3.0)),
        quality=int(rng.integers(75, 93)),
    )


def _smooth_noise(rng: np.random.Generator, cell: int) -> np.ndarray:
    """Low-frequency noise in [0, 1] over the scene, for foliage and uneven lighting."""
    coarse = rng.random((SCENE_H // cell + 2, SCENE_W // cell + 2)).astype(np.float32)
    fine = scipy.ndimage.zoom(coarse, cell, order=1)
    return fine[:SCENE_H, :SCENE_W]


def _scene(rng: np.random.Generator, style: str) -> np.ndarray:
    """A background panorama: a wall of ``style`` above a floor, signs, uneven light."""
    y = np.arange(SCENE_H, dtype=np.float32)[:, None]
    x = np.arange(SCENE_W, dtype=np.float32)[None, :]
    wall, second = _random_colour(rng), _random_colour(rng)
    scene = np.broadcast_to(wall, (SCENE_H, SCENE_W, 3)).copy()
    if style == "bricks":
        rows = (y // 14) % 2
        mortar = ((y % 14) < 2) | (((x + 16 * rows) % 32) < 2)
        scene[mortar] = 0.5 * wall + 0.5 * 220
    elif style == "panels":
        width = int(rng.integers(30, 80))
        scene[np.broadcast_to((x // width) % 2 == 1, (SCENE_H, SCENE_W))] = second
    elif style == "windows":
        for _ in range(int(rng.integers(6, 12))):
            top, left = int(rng.integers(0, SCENE_H // 2)), int(rng.integers(0, SCENE_W - 40))
            h, w = int(rng.integers(30, 110)), int(rng.integers(30, 120))
            scene[top : top + h, left : left + w] = rng.uniform(10, 90, 3)
            scene[top : top + h, left : left + 4] = second
    elif style == "foliage":
        leaves = _smooth_noise(rng, 12)[..., None]
        scene = wall * 0.4 + leaves * np.array([40, 150, 50], np.float32) * rng.uniform(0.5, 1.0)
    elif style == "tiles":
        size = int(rng.integers(10, 24))
        scene[((y % size) < 2) | ((x % size) < 2)] = second
    else:  # gradient: sky above building blocks
        sky = np.array([150, 190, 235], np.float32) * rng.uniform(0.6, 1.0)
        scene = (sky * (0.7 + 0.3 * (1 - y / SCENE_H))[..., None]).repeat(SCENE_W, axis=1)
        edges = np.sort(rng.integers(0, SCENE_W, 8))
        for left, right in itertools.pairwise(edges.tolist()):
            scene[int(rng.integers(20, SCENE_H // 2)) :, left:right] = _random_colour(rng)
    horizon = int(rng.uniform(0.5, 0.8) * SCENE_H)
    floor = _random_colour(rng) * 0.7
    scene[horizon:] = floor
    if rng.random() < 0.5:  # paving or road markings
        period = int(rng.integers(16, 48))
        scene[horizon:][(x[0] + 2 * y[horizon:]) % period < 4] = floor * 1.4
    for _ in range(int(rng.integers(2, 6))):  # signs, parked things: colours clothes also have
        top, left = int(rng.integers(0, SCENE_H - 40)), int(rng.integers(0, SCENE_W - 20))
        scene[top : top + int(rng.integers(10, 40)), left : left + int(rng.integers(10, 50))] = (
            _random_colour(rng))
    light = 0.75 + 0.5 * _smooth_noise(rng, 96)[..., None]
    # Muted colours: backgrounds are mostly grey-ish, people carry the saturated colours.
    grey = scene.mean(axis=2, keepdims=True)
    scene = grey + SCENE_SATURATION * (scene - grey)
    return np.clip(scene * light, 0, 255).astype(np.float32)


# --- people --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sprite:
    """One pose as (rows, columns * 3) arrays, premultiplied by alpha, so that blending is
    ``frame = frame * inverse + colour`` on whole rows."""

    colour: np.ndarray
    inverse: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        """Height and width in pixels."""
        return self.colour.shape[0], self.colour.shape[1] // 3

    def lit(self, gain: np.ndarray) -> Sprite:
        """The sprite under light ``gain`` (3,)."""
        return Sprite(self.colour * np.tile(gain, self.shape[1]), self.inverse)

    def mirrored(self) -> Sprite:
        h, w = self.shape
        return Sprite(self.colour.reshape(h, w, 3)[:, ::-1].reshape(h, 3 * w),
                      self.inverse.reshape(h, w, 3)[:, ::-1].reshape(h, 3 * w))


class Poses:
    """A gait cycle, facing either way (the mirror image is made on first use)."""

    def __init__(self, sprites: list[Sprite]) -> None:
        self._facing = {False: sprites}

    def facing(self, mirror: bool) -> list[Sprite]:
        if mirror not in self._facing:
            self._facing[mirror] = [sprite.mirrored() for sprite in self._facing[False]]
        return self._facing[mirror]


def render_poses(person: Person, view: View, height_px: int, blur: float) -> Poses:
    """The gait cycle of ``person`` seen from ``view``, ``height_px`` tall, lens-blurred."""
    return Poses([_render(person, view, height_px, blur, 2 * np.pi * k / POSES)
                  for k in range(POSES)])


class _Canvas:
    """A label image: each painted region gets a palette entry, so painting is one boolean
    assignment of small integers."""

    def __init__(self, h: int, w: int) -> None:
        self.labels = np.zeros((h, w), np.uint8)
        self.palette: list[RGB] = [(0.0, 0.0, 0.0)]

    def paint(self, mask: np.ndarray, rgb: RGB) -> None:
        self.palette.append(rgb)
        self.labels[mask] = len(self.palette) - 1


def _render(person: Person, view: View, height_px: int, blur: float, phase: float) -> Sprite:
    """Draw one pose at half resolution (shapes are coarse; blur and JPEG hide the steps)."""
    full_h = max(height_px, 16)
    full_w = int(0.6 * STRETCH * full_h) // 2 * 2
    h, w = (full_h + 1) // 2, full_w // 2
    v = ((np.arange(h, dtype=np.float32) + 0.5) / h)[:, None]  # 0 at the head, 1 at the feet
    u = ((np.arange(w, dtype=np.float32) + 0.5 - w / 2) / (h * STRETCH))[None, :]  # 0: axis
    canvas = _Canvas(h, w)
    paint = canvas.paint

    swing = float(np.sin(phase))
    neck, waist = 0.14, 0.14 + person.torso
    shoulder, hip = person.shoulder, person.hip
    sole = 0.965

    def limb(top: float, bottom: float, start: float, end: float, half: float) -> np.ndarray:
        """A straight limb from (start, top) to (end, bottom), ``half`` wide each side."""
        t = np.clip((v - top) / (bottom - top), 0, 1)
        return (v >= top) & (v <= bottom) & (np.abs(u - (start + (end - start) * t)) <= half)

    # Legs and shoes; seen from the front or back, walking legs barely move sideways.
    covered = {"trousers": 1.0, "shorts": 0.4, "skirt": -1.0}[person.bottom_kind]
    for leg in (-1, 1):
        hip_x = leg * 0.035
        foot_x = hip_x + leg * 0.015 * swing
        mask = limb(waist - 0.02, sole, hip_x, foot_x, 0.03)
        paint(mask, person.skin)
        paint(mask & ((v - waist) <= covered * (sole - waist)), person.bottom)
        if person.bottom_stripe and person.bottom_kind == "trousers":
            outer = limb(waist, sole, hip_x + leg * 0.022, foot_x + leg * 0.022, 0.007)
            paint(outer & mask, person.top_second)
        paint((v > sole - 0.025) & (v <= 0.995) & (np.abs(u - foot_x) <= 0.034), person.shoes)
    if person.bottom_kind == "skirt":
        t = (v - waist) / 0.28
        paint((t >= 0) & (t <= 1) & (np.abs(u) <= hip * (1 + 0.5 * t)), person.bottom)

    # Torso with its pattern, in torso coordinates (tv down, tu across, both in [0, 1]).
    tv = (v - neck) / (waist - neck)
    half = shoulder + (hip - shoulder) * np.clip(tv, 0, 1)
    torso = (tv >= 0) & (tv <= 1.02) & (np.abs(u) <= half)
    paint(torso, person.top)
    pattern = _top_pattern(person, tv, np.clip(u / (2 * half) + 0.5, 0, 1))
    if pattern is not None:
        paint(torso & pattern, person.top_second)

    # Arms swing against the legs; sleeves cover the upper arm or all of it.
    arm_length = person.torso + 0.04
    for arm in (-1, 1):
        start = arm * (shoulder + 0.012)
        end = start + arm * 0.01 - 0.012 * arm * swing
        mask = limb(neck + 0.01, neck + arm_length, start, end, 0.021)
        paint(mask, person.skin)
        sleeve = 0.85 if person.long_sleeves else 0.35
        paint(mask & ((v - neck) <= sleeve * arm_length), person.top)

    # Head and hair; from the back the hair covers the head.
    head_v, radius = 0.072, 0.048 * person.head
    head = ((u / radius) ** 2 + ((v - head_v) / (radius * 1.3)) ** 2) <= 1
    if person.long_hair:
        paint((np.abs(u) <= radius * 1.15) & (v >= head_v - radius) & (v <= neck + 0.06),
              person.hair)
    paint(head, person.skin)
    paint(head if view == "back" else head & (v < head_v - 0.3 * radius), person.hair)

    # Bag: a backpack shows whole from behind and as two straps from the front.
    if person.bag == "backpack":
        if view == "back":
            rows = (v >= neck + 0.03) & (v <= neck + 0.65 * person.torso)
            paint(rows & (np.abs(u) <= 0.75 * shoulder), person.bag_colour)
        else:
            paint(torso & (np.abs(np.abs(u) - 0.55 * shoulder) <= 0.011), person.bag_colour)
    elif person.bag == "shoulder":
        paint(torso & (np.abs(u - shoulder * (1 - 2 * tv)) <= 0.01), person.bag_colour)
        bag_x = shoulder + 0.01
        paint((v >= waist - 0.06) & (v <= waist + 0.07) & (u >= bag_x - 0.01)
              & (u <= bag_x + 0.075), person.bag_colour)

    labels = canvas.labels.repeat(2, axis=0).repeat(2, axis=1)[:full_h, :full_w]
    palette = np.asarray(canvas.palette, dtype=np.float32)
    alpha = (labels > 0).astype(np.float32)
    # Round shading across the body and light from above, on the premultiplied colour.
    fv = ((np.arange(full_h, dtype=np.float32) + 0.5) / full_h)[:, None]
    fu = ((np.arange(full_w, dtype=np.float32) + 0.5 - full_w / 2) / (full_h * STRETCH))[None, :]
    shade = alpha * (1.08 - 0.18 * fv) * (1 - 1.6 * np.minimum(fu * fu / 0.04, 0.25))
    colour = palette[labels] * shade[..., None]
    inverse = 1 - alpha
    if blur:
        colour, inverse = _blur(colour, blur), _blur(inverse, blur)
    inverse = np.repeat(inverse[..., None], 3, axis=2)
    return Sprite(colour.reshape(full_h, 3 * full_w), inverse.reshape(full_h, 3 * full_w))


def _top_pattern(person: Person, tv: np.ndarray, tu: np.ndarray) -> np.ndarray | None:
    """Where the top shows its second colour (None: plain)."""
    cycles = person.pattern_cycles
    kind = person.top_pattern
    if kind == "hstripes":
        return np.floor(tv * cycles * 2) % 2 == 1
    if kind == "vstripes":
        return np.floor(tu * (cycles + 1) * 2) % 2 == 1
    if kind == "checks":
        return (np.floor(tv * cycles * 2) + np.floor(tu * (cycles + 1) * 2)) % 2 == 1
    if kind == "block":
        return np.broadcast_to(tv < 0.3 + 0.08 * cycles, tu.shape)
    if kind == "sash":
        return np.abs(tu - tv) < 0.18
    if kind == "emblem":  # a print, front and back
        return (np.abs(tu - 0.5) < 0.2) & (np.abs(tv - 0.35) < 0.15)
    return None


def _blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """Separable Gaussian blur over the first two axes, edges repeated. Sums of shifted slices
    are several times faster than scipy.ndimage for these few-pixel kernels."""
    radius = max(1, int(np.ceil(2 * sigma)))
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    taps = (taps / taps.sum()).astype(np.float32)
    for axis in (0, 1):
        lines = np.moveaxis(image, axis, 0)
        size = lines.shape[0]
        padded = np.concatenate([lines[:1].repeat(radius, axis=0), lines,
                                 lines[-1:].repeat(radius, axis=0)])
        out = taps[0] * padded[:size]
        for offset in range(1, 2 * radius + 1):
            out += taps[offset] * padded[offset : offset + size]
        image = np.moveaxis(out, 0, axis)
    return image


# --- frames --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Walk:
    """How one tracklet moves through its camera's scene."""

    mirror: bool
    gain: np.ndarray
    scene_x: float
    scene_y: int
    pan: float
    phase: float
    cadence: float
    centre: int
    occluder: tuple[int, int, int, int, int, int] | None  # first, last frame, rows, cols
    occluder_colour: np.ndarray


def random_walk(rng: np.random.Generator, camera: Camera, length: int) -> Walk:
    """Per-tracklet variation: direction, light, where in the scene, gait speed, occlusion."""
    pan = float(rng.uniform(-6, 6))
    travel = abs(pan) * (length - 1)
    room = SCENE_W - FRAME_W
    if travel > room:
        pan *= room / travel
        travel = room
    start = rng.uniform(0, room - travel)
    occluder = None
    if rng.random() < 0.1:
        first = int(rng.integers(0, length))
        last = int(rng.integers(first, length)) + 1
        if rng.random() < 0.5:  # a pole
            left = int(rng.integers(0, FRAME_W - 12))
            rows, cols = (0, FRAME_H), (left, min(left + int(rng.integers(8, 24)), FRAME_W))
        else:  # something low in front: a car, a bench
            rows, cols = (int(FRAME_H * rng.uniform(0.62, 0.82)), FRAME_H), (0, FRAME_W)
        occluder = (first, last, *rows, *cols)
    return Walk(
        mirror=bool(rng.random() < 0.5),
        gain=(camera.gain * np.exp(rng.normal(0, 0.05, 3))).astype(np.float32),
        scene_x=start + (travel if pan < 0 else 0.0),
        scene_y=int(rng.integers(0, SCENE_H - FRAME_H + 1)),
        pan=pan,
        phase=float(rng.uniform(0, POSES)),
        cadence=float(rng.uniform(0.5, 1.5)),
        centre=FRAME_W // 2 + int(rng.integers(-4, 5)),
        occluder=occluder,
        occluder_colour=(_random_colour(rng) * 0.6 * camera.gain).astype(np.float32),
    )


def walk_frames(
    camera: Camera,
    poses: Poses | None,
    walk: Walk,
    length: int,
    rng: np.random.Generator,
    noise: np.ndarray,
    lift: int = 0,
) -> Iterator[np.ndarray]:
    """``length`` uint8 RGB frames of a person (or, with no poses, the empty scene) walking;
    ``noise`` is a (rows, columns * 3) bank of sensor noise to cut from. ``lift`` raises the
    feet above the frame's bottom edge (negative: the legs are cut off)."""
    lit = None if poses is None else [s.lit(walk.gain) for s in poses.facing(walk.mirror)]
    # The part of the scene this tracklet pans over, under the tracklet's light.
    first = round(min(walk.scene_x, walk.scene_x + walk.pan * (length - 1)))
    last = round(max(walk.scene_x, walk.scene_x + walk.pan * (length - 1))) + FRAME_W
    flicker = np.tile(walk.gain / camera.gain, last - first)  # scene is lit by camera.gain
    scene = camera.scene[walk.scene_y : walk.scene_y + FRAME_H, first:last].reshape(FRAME_H, -1)
    backdrop = scene * flicker
    occluder = np.tile(walk.occluder_colour, FRAME_W)
    dx, dy = 0, 0
    for k in range(length):
        x = round(walk.scene_x + walk.pan * k) - first
        frame = backdrop[:, 3 * x : 3 * (x + FRAME_W)].copy()
        if lit is not None:
            pose = int(walk.phase + walk.cadence * k) % POSES
            bob = round(1.5 * abs(float(np.sin(2 * np.pi * pose / POSES))))
            dx = min(max(dx + int(rng.integers(-1, 2)), -3), 3)
            dy = min(max(dy + int(rng.integers(-1, 2)), -2), 2)
            sprite = lit[pose]
            bottom = FRAME_H - camera.foot_margin - lift + dy + bob
            _blend(frame, sprite, bottom - sprite.shape[0], walk.centre + dx)
        if walk.occluder is not None and walk.occluder[0] <= k < walk.occluder[1]:
            _, _, top, end, left, right = walk.occluder
            frame[top:end, 3 * left : 3 * right] = occluder[: 3 * (right - left)]
        oy = int(rng.integers(0, noise.shape[0] - FRAME_H))
        ox = 3 * int(rng.integers(0, noise.shape[1] // 3 - FRAME_W))
        frame += noise[oy : oy + FRAME_H, ox : ox + 3 * FRAME_W]
        np.clip(frame, 0, 255, out=frame)
        yield frame.astype(np.uint8).reshape(FRAME_H, FRAME_W, 3)


def _blend(frame: np.ndarray, sprite: Sprite, top: int, centre: int) -> None:
    """Alpha-blend ``sprite`` into the (rows, columns * 3) ``frame`` with its top row at ``top``
    and its axis at column ``centre``, cutting off whatever falls outside the frame."""
    h, w = sprite.shape
    left = centre - w // 2
    y0, y1 = max(top, 0), min(top + h, FRAME_H)
    x0, x1 = max(left, 0), min(left + w, FRAME_W)
    if y0 >= y1 or x0 >= x1:
        return
    rows, cols = slice(y0 - top, y1 - top), slice(3 * (x0 - left), 3 * (x1 - left))
    region = frame[y0:y1, 3 * x0 : 3 * x1]
    region *= sprite.inverse[rows, cols]
    region += sprite.colour[rows, cols]
