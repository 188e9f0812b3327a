#!/usr/bin/python3
"""python_stack.py: the stack a team writes instead of avtruth, for bench_build.sh.

usage: bench/python_stack.py CAPTURE.pcap OUT.h5

velodyne_decoder's Python API decodes the capture sweep by sweep (read_pcap, as in its
README), numpy concatenates the points and h5py writes them with gzip level 1: LiDAR columns
only, no deskew, no labels, no cameras. bench_build.sh only calls it when `import
velodyne_decoder` works (a PyPI package; docs/benchmarks.md says how it was run here). Its
read_pcap yields (stamp, points); from version 3.0 the stamp is a TimePair (host, device) and
the sweep's host (capture) time is the one kept, as before 3.0.
"""
import sys

import h5py
import numpy as np
import velodyne_decoder as vd


def main():
    cap, out = sys.argv[1], sys.argv[2]
    config = vd.Config()
    clouds, stamps = [], []
    for item in vd.read_pcap(cap, config):
        stamp, points = item[0], item[1]
        stamps.append(float(getattr(stamp, "host", stamp)))
        clouds.append(np.asarray(points, dtype=np.float32))
    pts = np.concatenate(clouds) if clouds else np.zeros((0, 8), np.float32)
    offsets = np.cumsum([0] + [len(c) for c in clouds]).astype(np.uint64)
    with h5py.File(out, "w") as f:
        for name, col in (("x", 0), ("y", 1), ("z", 2), ("intensity", 3), ("time", 4)):
            f.create_dataset(f"lidar/{name}", data=pts[:, col], compression="gzip", compression_opts=1,
                             chunks=True)
        f.create_dataset("frames/point_offset", data=offsets)
        f.create_dataset("frames/timestamp", data=np.asarray(stamps))
    print(f"{len(clouds)} sweeps, {len(pts)} points")


if __name__ == "__main__":
    main()
