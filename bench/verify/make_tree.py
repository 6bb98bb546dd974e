#!/usr/bin/env python3
"""Builds a benchmark tree: COUNT files totalling TOTAL bytes, sizes drawn
from a log-normal distribution (many small files, a few large ones), spread
over nested directories. Deterministic (fixed seed); content is pseudo-random
so nothing compresses or deduplicates."""
import os
import random
import sys

root, count, total = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(20260101)
weights = [rng.lognormvariate(0.0, 1.6) for _ in range(count)]
scale = total / sum(weights)
sizes = [int(w * scale) for w in weights]
sizes[0] += total - sum(sizes)  # exact total

block = rng.randbytes(8 * 1024 * 1024)
offset = 0
for i, size in enumerate(sizes):
    directory = os.path.join(root, f"d{i % 37:02d}", f"e{i % 11:02d}")
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, f"f{i:06d}.bin"), "wb") as out:
        left = size
        while left > 0:
            start = offset % (len(block) - 1)
            chunk = block[start : start + min(left, len(block) - start)]
            out.write(chunk)
            left -= len(chunk)
            offset += len(chunk) + 4099
print(f"{count} files, {sum(sizes)} bytes, largest {max(sizes)} bytes, median {sorted(sizes)[count // 2]} bytes")
