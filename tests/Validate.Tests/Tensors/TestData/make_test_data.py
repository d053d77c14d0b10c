#!/usr/bin/python3
"""Writes the small .npy/.npz files NpyTests and NpzTests read, with real NumPy.

Run from anywhere with Debian's numpy:  /usr/bin/python3 make_test_data.py
Values are simple formulas (see the tests) so the files are reproducible.
"""
import os

import numpy as np

here = os.path.dirname(os.path.abspath(__file__))


def path(name):
    return os.path.join(here, name)


# one C-order little-endian file per dtype, shape (2, 3), values arange(6) (bool: i % 2 == 1)
for dtype in ["float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8"]:
    np.save(path(f"{dtype}.npy"), np.arange(6, dtype=dtype).reshape(2, 3))
np.save(path("bool.npy"), (np.arange(6) % 2 == 1).reshape(2, 3))

# negative and fractional values survive
np.save(path("float32_mixed.npy"), np.array([-1.5, 0.0, 2.25, 1e-8, -3e10], dtype=np.float32))
np.save(path("int64_negative.npy"), np.array([-(2**62), -1, 0, 2**62], dtype=np.int64))

# 0-d array and an empty array
np.save(path("scalar_float64.npy"), np.array(3.5))
np.save(path("empty_float32_0x3.npy"), np.zeros((0, 3), dtype=np.float32))

# big-endian data: arange(6) as (2, 3)
np.save(path("bigendian_float32.npy"), np.arange(6, dtype=">f4").reshape(2, 3))
np.save(path("bigendian_int64.npy"), np.arange(6, dtype=">i8").reshape(2, 3))

# Fortran order: logical value at [i, j, k] is 100*i + 10*j + k, shape (2, 3, 4)
i, j, k = np.indices((2, 3, 4))
np.save(path("fortran_int32_2x3x4.npy"), np.asfortranarray((100 * i + 10 * j + k).astype(np.int32)))

# header format versions 2.0 and 3.0 (arange(6) float32 as (2, 3))
for version in [(2, 0), (3, 0)]:
    with open(path(f"version{version[0]}_float32.npy"), "wb") as f:
        np.lib.format.write_array(f, np.arange(6, dtype=np.float32).reshape(2, 3), version=version)

# archives: x = arange(12) float32 (3, 4); ids = arange(5) int64; mask = [True, False]
arrays = dict(
    x=np.arange(12, dtype=np.float32).reshape(3, 4),
    ids=np.arange(5, dtype=np.int64),
    mask=np.array([True, False]),
)
np.savez(path("savez.npz"), **arrays)
np.savez_compressed(path("savez_compressed.npz"), **arrays)
