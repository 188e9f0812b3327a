#!/usr/bin/env python3
"""A PyTorch-style map dataset over an avtruth ground-truth file (or a stitched index),
needing only h5py and numpy: hand it to torch.utils.data.DataLoader as it is.

    from dataset import AvtruthDataset
    ds = AvtruthDataset("log.h5", cameras=["front"])
    frame = ds[0]          # dict of numpy arrays

The file is opened lazily, once per process: a DataLoader forks its workers before the first
__getitem__, so each worker opens its own handle (HDF5 handles must not cross a fork).
"""
import os

import h5py
import numpy as np

INT64_MIN = np.iinfo(np.int64).min


class AvtruthDataset:
    def __init__(self, path, cameras=None, with_depth=True):
        self.path = path
        self.cameras = cameras
        self.with_depth = with_depth
        self._f = None
        self._pid = None
        with h5py.File(path, "r") as f:   # closed again: nothing open before the fork
            self._len = int(f.attrs["num_frames"])
            if self.cameras is None:
                self.cameras = sorted(f["cameras"].keys()) if "cameras" in f else []

    def _file(self):
        if self._f is None or self._pid != os.getpid():
            self._f = h5py.File(self.path, "r")
            self._pid = os.getpid()
        return self._f

    def __len__(self):
        return self._len

    def __getitem__(self, i):
        if i < 0:
            i += self._len
        if not 0 <= i < self._len:
            raise IndexError(i)
        f = self._file()
        p0, p1 = f["frames/point_offset"][i:i + 2]
        b0, b1 = f["frames/box_offset"][i:i + 2]
        item = {
            "index": np.int64(i),
            "timestamp_ns": np.int64(f["frames/timestamp_ns"][i]),
            "ego_pose": f["frames/ego_pose"][i],
            "xyz": f["lidar/xyz"][p0:p1],
            "intensity": f["lidar/intensity"][p0:p1],
            "ring": f["lidar/ring"][p0:p1],
            "label": f["lidar/label"][p0:p1],
            # rows of /boxes3d made frame-local: index into box_* below, -1 = none
            "instance": np.where(f["lidar/instance"][p0:p1] >= 0,
                                 f["lidar/instance"][p0:p1] - b0, -1).astype(np.int32),
            "box_center": f["boxes3d/center"][b0:b1],
            "box_size": f["boxes3d/size"][b0:b1],
            "box_yaw": f["boxes3d/yaw"][b0:b1],
            "box_class": f["boxes3d/class_id"][b0:b1],
            "box_track": f["boxes3d/track_id"][b0:b1],
            "cameras": {},
        }
        for name in self.cameras:
            g = f["cameras"][name]
            k0, k1 = g["boxes2d/offset"][i:i + 2]
            cam = {
                "paired": bool(g["timestamp_ns"][i] != INT64_MIN),
                "image_path": g["image_path"].asstr()[i],
                "box3d_index": (g["boxes2d/box3d_index"][k0:k1].astype(np.int64) - b0),
                "xyxy": g["boxes2d/xyxy"][k0:k1],
                "visibility": g["boxes2d/visibility"][k0:k1],
            }
            if self.with_depth:
                d0, d1 = g["depth/offset"][i:i + 2]
                cam["depth_uv"] = g["depth/uv"][d0:d1]
                cam["depth"] = g["depth/depth"][d0:d1]
            item["cameras"][name] = cam
        return item

    def __getstate__(self):   # picklable for spawn-based workers: never ship the handle
        s = dict(self.__dict__)
        s["_f"] = None
        return s
