"""PNG fixtures of every colour type and bit depth, and the pixels Pillow decodes from them.

    /tmp/torchref/bin/pip install pillow
    /tmp/torchref/bin/python Tests/EngineSupportTests/Golden/make_png_fixtures.py

The files are written by a small PNG encoder here (zlib, filter 0, Adam7 when interlaced), not by
libpng, so the test reads files the engine did not make. Each fixture NAME.png gets NAME.rgba:
Pillow's decoding as 8-bit RGBA, row by row. Pillow keeps 16-bit grey as 16-bit values; those
are cut to their high byte here, which is what Pillow does itself for every other 16-bit type.
"""
import os
import struct
import zlib

import numpy as np
from PIL import Image

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "png")
os.makedirs(here, exist_ok=True)
W, H = 13, 7          # odd sizes: partial bytes at 1-4 bits, every Adam7 pass non-trivial
ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def pack_row(samples, depth):
    if depth == 16:
        return b"".join(struct.pack(">H", int(v)) for v in samples)
    if depth == 8:
        return bytes(int(v) for v in samples)
    out, bits, acc = bytearray(), 0, 0
    for v in samples:
        acc = (acc << depth) | int(v)
        bits += depth
        if bits == 8:
            out.append(acc)
            bits, acc = 0, 0
    if bits:
        out.append(acc << (8 - bits))
    return bytes(out)


def encode(samples, color, depth, interlaced, palette=None, trns=None):
    """samples: (H, W, channels) integers."""
    h, w, _ = samples.shape
    raw = bytearray()
    passes = ADAM7 if interlaced else [(0, 0, 1, 1)]
    for x0, y0, dx, dy in passes:
        sub = samples[y0::dy, x0::dx]
        if sub.shape[0] == 0 or sub.shape[1] == 0:
            continue
        for row in sub:
            raw += b"\x00" + pack_row(row.reshape(-1), depth)
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, color, 0, 0, 1 if interlaced else 0))
    if palette is not None:
        data += chunk(b"PLTE", bytes(np.asarray(palette, np.uint8).reshape(-1)))
    if trns is not None:
        data += chunk(b"tRNS", trns)
    return data + chunk(b"IDAT", zlib.compress(bytes(raw), 9)) + chunk(b"IEND", b"")


def pillow_rgba(path, color, depth):
    image = Image.open(path)
    image.load()
    if image.mode in ("I;16", "I;16B", "I"):   # 16-bit grey: high byte, as for the other 16-bit types
        grey = (np.asarray(image, dtype=np.uint32) >> 8).astype(np.uint8)
        alpha = np.full_like(grey, 255)
        if "transparency" in image.info:
            alpha[np.asarray(image, dtype=np.uint32) == image.info["transparency"]] = 0
        return np.dstack([grey, grey, grey, alpha])
    return np.asarray(image.convert("RGBA"))


rng = np.random.default_rng(11)
fixtures = []
for color, depths in ((0, (1, 2, 4, 8, 16)), (2, (8, 16)), (3, (1, 2, 4, 8)), (4, (8, 16)), (6, (8, 16))):
    for depth in depths:
        for interlaced in (False, True):
            top = (1 << depth) - 1
            samples = rng.integers(0, top + 1, size=(H, W, CHANNELS[color]))
            palette = trns = None
            if color == 3:
                entries = 1 << depth
                palette = rng.integers(0, 256, size=(entries, 3))
            fixtures.append((f"c{color}-b{depth}{'-i' if interlaced else ''}", samples, color, depth, interlaced, palette, trns))
            if color == 3:   # the same with per-entry transparency (a tRNS shorter than the palette)
                trns = bytes(rng.integers(0, 256, size=max(1, (1 << depth) - 1)).astype(np.uint8))
                fixtures.append((f"c{color}-b{depth}-trns{'-i' if interlaced else ''}", samples, color, depth, interlaced, palette, trns))
# Colour-key transparency for 8-bit grey and RGB (Pillow's reading of a 16-bit key differs from
# the specification, so only 8-bit keys are compared).
grey = rng.integers(0, 256, size=(H, W, 1))
fixtures.append(("c0-b8-trns", grey, 0, 8, False, None, struct.pack(">H", int(grey[0, 0, 0]))))
rgb = rng.integers(0, 256, size=(H, W, 3))
rgb[3, 4] = rgb[0, 0]
fixtures.append(("c2-b8-trns", rgb, 2, 8, False, None, struct.pack(">HHH", *map(int, rgb[0, 0]))))

for name, samples, color, depth, interlaced, palette, trns in fixtures:
    path = os.path.join(here, name + ".png")
    with open(path, "wb") as f:
        f.write(encode(samples, color, depth, interlaced, palette, trns))
    expected = pillow_rgba(path, color, depth)
    assert expected.shape == (H, W, 4), (name, expected.shape)
    with open(os.path.join(here, name + ".rgba"), "wb") as f:
        f.write(expected.astype(np.uint8).tobytes())
print(f"{len(fixtures)} fixtures in {here}")
