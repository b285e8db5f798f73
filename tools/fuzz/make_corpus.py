"""Writes the small seed files of fuzz/corpus/ (committed; rerun only to change them).

Each libFuzzer target starts from these valid inputs and mutates them, which reaches deep into
the decoders far sooner than random bytes. Needs numpy and Pillow.
    python3 tools/fuzz/make_corpus.py
"""
import gzip
import io
import os
import struct

import numpy as np
from PIL import Image

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "fuzz", "corpus")
rng = np.random.default_rng(0)


def write(target, name, data):
    os.makedirs(os.path.join(ROOT, target), exist_ok=True)
    with open(os.path.join(ROOT, target, name), "wb") as f:
        f.write(data)


def idx(values, type_code=0x08):
    header = bytes([0, 0, type_code, values.ndim]) + b"".join(
        struct.pack(">I", d) for d in values.shape)
    return header + values.astype(np.uint8).tobytes()


images = rng.integers(0, 256, size=(3, 4, 5), dtype=np.uint8)
labels = np.array([1, 0, 9], dtype=np.uint8)
write("idx", "images.idx3", idx(images))
write("idx", "labels.idx1", idx(labels))
write("idx", "images.idx3.gz", gzip.compress(idx(images), mtime=0))
write("gzip", "text.gz", gzip.compress(b"qbheat " * 40, mtime=0))
write("gzip", "labels.gz", gzip.compress(idx(labels), mtime=0))

c10 = b"".join(bytes([k]) + rng.integers(0, 256, 3072, dtype=np.uint8).tobytes() for k in (3, 7))
c100 = bytes([4, 42]) + rng.integers(0, 256, 3072, dtype=np.uint8).tobytes()
write("cifar", "cifar10.bin", c10)
write("cifar", "cifar100.bin", c100)


def image_bytes(img, fmt, **kw):
    out = io.BytesIO()
    img.save(out, format=fmt, **kw)
    return out.getvalue()


rgb = Image.fromarray(rng.integers(0, 256, (6, 5, 3), dtype=np.uint8), "RGB")
seeds = {
    "grey.png": (1, image_bytes(rgb.convert("L"), "PNG")),
    "grey_alpha.png": (2, image_bytes(rgb.convert("LA"), "PNG")),
    "rgb.png": (3, image_bytes(rgb, "PNG")),
    "rgba.png": (4, image_bytes(rgb.convert("RGBA"), "PNG")),
    "grey16.png": (0, image_bytes(Image.fromarray(
        rng.integers(0, 65536, (4, 3), dtype=np.uint16).astype(np.int32), "I").convert("I;16"),
        "PNG")),
    "palette.png": (3, image_bytes(rgb.convert("P"), "PNG")),
    "baseline.jpg": (3, image_bytes(rgb, "JPEG", quality=90)),
    "progressive.jpg": (1, image_bytes(rgb, "JPEG", quality=90, progressive=True)),
    "rgb.bmp": (3, image_bytes(rgb, "BMP")),
    "two_frames.gif": (3, image_bytes(rgb.convert("P"), "GIF", save_all=True,
                                      append_images=[rgb.rotate(90).convert("P")])),
}
for name, (channels, data) in seeds.items():
    write("image", name, bytes([channels]) + data)
print("wrote", ROOT)
