"""Item transforms for avtruth.Dataset(transform=...): plain callables item -> item.

CropRange(max_m, min_m=0)  keeps points whose range (distance from the LiDAR origin) lies in
    [min_m, max_m], and the 3D boxes that keep a point or whose centre lies in that range;
    instance and every camera's box3d_index are renumbered (a 2D box whose 3D box is dropped
    is dropped too).
PointsInCamera(names=None)  adds "xyz_cam" (N,3) float32 to each camera dict (or to the
    pair's camera): the points in that camera's frame, cam_T_lidar · p with cam_T_lidar the
    inverse of the frame's log's lidar_T_cam. The LiDAR-frame xyz stays as it is.
"""
import numpy as np

from .collate import BOX2D_KEYS, BOX_KEYS, POINT_KEYS


def _camera_dicts(item):
    if "camera" in item:
        return [item["camera"]]
    return list(item.get("cameras", {}).values())


class CropRange:
    def __init__(self, max_m, min_m=0.0):
        if not 0 <= min_m < max_m:
            raise ValueError(f"CropRange: need 0 <= min_m < max_m, got {min_m}, {max_m}")
        self.min_m, self.max_m = float(min_m), float(max_m)

    def _inside(self, xyz):
        r = np.linalg.norm(xyz.astype(np.float64), axis=1)
        return (r >= self.min_m) & (r <= self.max_m)

    def __call__(self, item):
        keep_p = self._inside(item["xyz"])
        m = len(next((item[k] for k in BOX_KEYS if k in item), []))
        inst = item.get("instance")
        keep_b = np.zeros(m, bool)
        if "box_center" in item:
            keep_b |= self._inside(item["box_center"])
        if inst is not None:
            kept = inst[keep_p]
            keep_b[kept[kept >= 0]] = True
        new_row = np.full(m + 1, -1, np.int64)  # old row -> new row; index m is "none" (-1)
        new_row[np.flatnonzero(keep_b)] = np.arange(int(keep_b.sum()))
        for k in POINT_KEYS & item.keys():
            item[k] = item[k][keep_p]
        if inst is not None:
            item["instance"] = new_row[item["instance"]].astype(np.int32)
        for k in BOX_KEYS & item.keys():
            item[k] = item[k][keep_b]
        for cam in _camera_dicts(item):
            if "xyz_cam" in cam:
                cam["xyz_cam"] = cam["xyz_cam"][keep_p]
            if "box3d_index" in cam:
                idx = new_row[cam["box3d_index"]]
                keep2 = idx >= 0
                for k in BOX2D_KEYS & cam.keys():
                    cam[k] = cam[k][keep2]
                cam["box3d_index"] = idx[keep2]
        return item


class PointsInCamera:
    def __init__(self, names=None):
        self.names = None if names is None else set(names)

    def __call__(self, item):
        p = np.c_[item["xyz"].astype(np.float64), np.ones(len(item["xyz"]))]
        for cam in _camera_dicts(item):
            if self.names is None or cam["name"] in self.names:
                cam_T_lidar = np.linalg.inv(cam["lidar_T_cam"])
                cam["xyz_cam"] = (p @ cam_T_lidar.T)[:, :3].astype(np.float32)
        return item
