#!/usr/bin/python3
"""avtruth bench: random-frame read rate from h5py for each file bench_export left in DIR.

    bench_read.py DIR [--frames N]
A "frame" read is what a training loader does: the offsets, then xyz, label and instance of
one sweep, its boxes and one camera's 2D boxes and depth.
"""
import glob
import os
import random
import sys
import time

import h5py


def read_frame(f, i):
    p0, p1 = f["frames/point_offset"][i:i + 2]
    b0, b1 = f["frames/box_offset"][i:i + 2]
    f["lidar/xyz"][p0:p1]
    f["lidar/label"][p0:p1]
    f["lidar/instance"][p0:p1]
    f["boxes3d/center"][b0:b1]
    g = f["cameras/front"]
    k0, k1 = g["boxes2d/offset"][i:i + 2]
    g["boxes2d/xyxy"][k0:k1]
    d0, d1 = g["depth/offset"][i:i + 2]
    g["depth/uv"][d0:d1]


def main():
    d = sys.argv[1]
    n = int(sys.argv[3]) if len(sys.argv) > 3 and sys.argv[2] == "--frames" else 200
    print(f"\nrandom-frame reads with h5py {h5py.version.version} (HDF5 {h5py.version.hdf5_version}), {n} frames each:")
    for path in sorted(glob.glob(os.path.join(d, "*.h5"))):
        try:
            with h5py.File(path, "r") as f:
                F = int(f.attrs["num_frames"])
                rng = random.Random(1)
                idx = [rng.randrange(F) for _ in range(n)]
                t0 = time.perf_counter()
                for i in idx:
                    read_frame(f, i)
                dt = time.perf_counter() - t0
                print(f"  {os.path.basename(path):16s} {f.attrs['compression']:11s} {n / dt:8.1f} frames/s")
        except OSError as e:  # e.g. a blosc file without the plugin
            print(f"  {os.path.basename(path):16s} unreadable here: {e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
