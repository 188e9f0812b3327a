#!/usr/bin/env python3
"""Minimal reader of an avtruth ground-truth file (format 1, see FORMAT.md) with h5py.

    python3 read_log.py LOG.h5 [FRAME]

Ragged data are flat columns plus (F+1,) offsets: frame i of a column is col[off[i]:off[i+1]].
Strings are variable-length UTF-8: attributes read as str, string datasets as bytes unless
read through .asstr() (h5py >= 3). In a multi-worker PyTorch loader open the file lazily in
each worker (see Log.__getitem__), never before the fork.
"""
import sys

import h5py
import numpy as np


class Log:
    """Frame-indexed access; the file is opened on first use, once per process."""

    def __init__(self, path):
        self.path = path
        self._f = None

    @property
    def f(self):
        if self._f is None:
            self._f = h5py.File(self.path, "r")
        return self._f

    def __len__(self):
        return int(self.f.attrs["num_frames"])

    def cameras(self):
        return list(self.f["cameras"].keys())

    def __getitem__(self, i):
        f = self.f
        p0, p1 = f["frames/point_offset"][i:i + 2]
        b0, b1 = f["frames/box_offset"][i:i + 2]
        out = {
            "timestamp_ns": int(f["frames/timestamp_ns"][i]),
            "ego_pose": f["frames/ego_pose"][i],            # world_T_ego, (4, 4)
            "xyz": f["lidar/xyz"][p0:p1],                     # (n, 3) float32, LiDAR frame
            "intensity": f["lidar/intensity"][p0:p1],
            "label": f["lidar/label"][p0:p1],                 # class id, 0 = none
            "instance": f["lidar/instance"][p0:p1],           # row in /boxes3d, -1 = none
            "box_rows": np.arange(b0, b1),
            "box_center": f["boxes3d/center"][b0:b1],
            "box_size": f["boxes3d/size"][b0:b1],             # length, width, height
            "box_yaw": f["boxes3d/yaw"][b0:b1],
            "box_class": f["boxes3d/class_id"][b0:b1],
            "box_track": f["boxes3d/track_id"][b0:b1],
            "cameras": {},
        }
        for name in self.cameras():
            g = f["cameras"][name]
            k0, k1 = g["boxes2d/offset"][i:i + 2]
            d0, d1 = g["depth/offset"][i:i + 2]
            t = int(g["timestamp_ns"][i])
            out["cameras"][name] = {
                "paired": t != np.iinfo(np.int64).min,
                "timestamp_ns": t,
                "image_path": g["image_path"].asstr()[i],
                "box3d_index": g["boxes2d/box3d_index"][k0:k1],  # rows in /boxes3d
                "xyxy": g["boxes2d/xyxy"][k0:k1],
                "depth_uv": g["depth/uv"][d0:d1],
                "depth": g["depth/depth"][d0:d1],
            }
        return out


def main():
    if len(sys.argv) not in (2, 3):
        print(__doc__)
        return 2
    log = Log(sys.argv[1])
    f = log.f
    a = f.attrs
    print(f"{a['format']} {a['format_version']}  log {a['log_id']}  frames {len(log)}  "
          f"points {f['lidar/xyz'].shape[0]}  boxes {f['boxes3d/class_id'].shape[0]}")
    classes = list(f["meta/class_names"].asstr()[:])
    frames = [int(sys.argv[2])] if len(sys.argv) == 3 else range(len(log))
    for i in frames:
        fr = log[i]
        names = [classes[c] for c in fr["box_class"]]
        print(f"frame {i}: t={fr['timestamp_ns']} {len(fr['xyz'])} points, "
              f"{len(names)} boxes {names}")
        for cam, c in fr["cameras"].items():
            state = c["image_path"] if c["paired"] else "(no image)"
            print(f"  {cam}: {state}, {len(c['xyxy'])} 2D boxes, {len(c['depth'])} depth samples")
    return 0


if __name__ == "__main__":
    sys.exit(main())
