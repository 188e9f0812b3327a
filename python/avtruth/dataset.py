"""A map-style dataset over an avtruth ground-truth file: a per-log file or a stitched index
(FORMAT.md, docs/format-notes.md "Multi-log datasets"). Needs h5py and numpy only; hand it to
torch.utils.data.DataLoader as it is (with avtruth.collate for batches of more than one).

Items are dicts of numpy arrays whose dtypes torch accepts (torch has no uint16/uint32/uint64):
uint16 columns (ring, label, class ids) come as int32, uint32 and uint64 ones (box3d_index,
counts) as int64; float32, int32, int64 and uint8 columns keep their type. See docs/python.md.
"""
import json
import os

import h5py
import numpy as np

from ._chunks import CACHE_BYTES, Column

INT64_MIN = np.iinfo(np.int64).min

# torch-compatible dtype of each stored dtype (docs/python.md)
_TORCH_DTYPE = {np.dtype(np.uint16): np.int32, np.dtype(np.uint32): np.int64,
                np.dtype(np.uint64): np.int64}

# item key -> column under /lidar (per point)
POINT_COLUMNS = {"xyz": "xyz", "intensity": "intensity", "ring": "ring", "time_ns": "time_ns",
                 "return_type": "return_type", "label": "label", "instance": "instance"}
# item key -> column under /boxes3d (per 3D box of the frame)
BOX_COLUMNS = {"box_center": "center", "box_size": "size", "box_yaw": "yaw",
               "box_rotation": "rotation", "box_velocity": "velocity", "box_class": "class_id",
               "box_track": "track_id", "box_num_points": "num_lidar_points",
               "box_attributes": "attributes"}
# item key -> column under /cameras/<name>/boxes2d (per 2D box of the frame)
BOX2D_COLUMNS = {"box3d_index": "box3d_index", "xyxy": "xyxy", "truncation": "truncation",
                 "visibility": "visibility", "corners": "corners",
                 "box2d_num_points": "num_lidar_points"}
DEFAULT_POINTS = ("xyz", "intensity", "ring", "label", "instance")
DEFAULT_BOXES = ("box_center", "box_size", "box_yaw", "box_class", "box_track")
DEFAULT_BOXES2D = ("box3d_index", "xyxy", "visibility")


def torch_dtype(a):
    """a as an array of a dtype torch has (uint16 -> int32, uint32/uint64 -> int64)."""
    t = _TORCH_DTYPE.get(a.dtype)
    return a.astype(t) if t is not None else a


class SourceMissing(FileNotFoundError):
    """A stitched index names a per-log file that does not exist (a virtual dataset would read
    its rows as zeros without any error)."""


def _pick(names, table, what):
    bad = [n for n in names if n not in table]
    if bad:
        raise ValueError(f"unknown {what} {bad}; accepted: {sorted(table)}")
    return tuple(names)


class Dataset:
    """Frames (or (frame, camera) pairs) of an avtruth file.

    Dataset(path, cameras=None, pairs=False, paired_only=True, points=DEFAULT_POINTS,
            boxes=DEFAULT_BOXES, boxes2d=DEFAULT_BOXES2D, depth=True, images=False,
            log_root=None, transform=None)

    path        per-log file or stitched index (avtruth stitch); a stitched index is checked
                for every source file at once (SourceMissing names the first one missing)
    cameras     camera names (default: all of the file)
    pairs       False: one item per frame, cameras under item["cameras"][name];
                True: one item per (frame, camera), that camera under item["camera"]
                (only paired frames unless paired_only=False)
    points, boxes, boxes2d   which columns to read (keys of POINT_COLUMNS, BOX_COLUMNS,
                BOX2D_COLUMNS); each is read once per item, nothing else is
    depth       read the sparse depth (depth_uv, depth) of each camera
    images      decode each paired image (OpenCV's cv2; RGB uint8 HxWx3, or as stored for
                grey/16-bit): from the embedded PNG bytes if the file has them, else the file
    log_root    directory holding the drive logs: log k's directory is
                log_root/<basename of its recorded log_dir>; default the recorded log_dir
                (tried relative to the working directory, then to the .h5 file's directory)
    transform   a callable item -> item, or a list of them (avtruth.transforms)

    The file is opened lazily, once per process: a DataLoader forks its workers before the
    first item, so each worker opens its own handle (HDF5 handles must not cross a fork).
    """

    def __init__(self, path, cameras=None, pairs=False, paired_only=True, points=DEFAULT_POINTS,
                 boxes=DEFAULT_BOXES, boxes2d=DEFAULT_BOXES2D, depth=True, images=False,
                 log_root=None, transform=None):
        self.path = os.path.abspath(path)
        self.points = _pick(points, POINT_COLUMNS, "point column")
        self.boxes = _pick(boxes, BOX_COLUMNS, "box column")
        self.boxes2d = _pick(boxes2d, BOX2D_COLUMNS, "2D box column")
        self.depth = depth
        self.images = images
        self.log_root = log_root
        if transform is not None and not callable(transform):
            transform = _Compose(list(transform))
        self.transform = transform
        if images:
            try:
                import cv2  # noqa: F401
            except ImportError as e:
                raise ImportError("Dataset(images=True) decodes images with OpenCV's Python "
                                  f"module cv2, not importable here ({e}); Debian: "
                                  "apt-get install python3-opencv") from e
        self._r = None
        self._pid = None
        with h5py.File(self.path, "r") as f:  # closed again: nothing open before the fork
            if f.attrs.get("format") != "avtruth-gt":
                raise ValueError(f"{self.path}: not an avtruth ground-truth file "
                                 f"(root attribute format = {f.attrs.get('format')!r})")
            self.num_frames = int(f.attrs["num_frames"])
            have = sorted(f["cameras"].keys()) if "cameras" in f else []
            self.cameras = list(have if cameras is None else cameras)
            for c in self.cameras:
                if c not in have:
                    raise KeyError(f"{self.path}: no camera {c!r}; cameras: {have}")
            self.stitched = "logs" in f and "file" in f["logs"]
            if self.stitched:
                self.log_ids = list(f["logs/log_id"].asstr()[:])
                self.log_files = [os.path.join(os.path.dirname(self.path), p)
                                  for p in f["logs/file"].asstr()[:]]
                self.frame_offset = f["logs/frame_offset"][:].astype(np.int64)
                for k, p in enumerate(self.log_files):
                    self._check_source(k, p)
            else:
                self.log_ids = [f.attrs.get("log_id", "")]
                self.log_files = [self.path]
                self.frame_offset = np.array([0, self.num_frames], np.int64)
            if pairs:
                keep = []
                for c, name in enumerate(self.cameras):
                    ok = (np.ones(self.num_frames, bool) if not paired_only else
                          f[f"cameras/{name}/timestamp_ns"][:] != INT64_MIN)
                    keep.append(np.stack([np.flatnonzero(ok), np.full(int(ok.sum()), c)], 1))
                self._pairs = np.concatenate(keep) if keep else np.zeros((0, 2), np.int64)
                self._pairs = self._pairs[np.lexsort((self._pairs[:, 1], self._pairs[:, 0]))]
            else:
                self._pairs = None
        self._log_dirs = {}
        self._cwd = os.getcwd()  # a relative recorded log_dir is tried against this first

    def _check_source(self, k, p):
        """Source k of a stitched index exists and holds the frames the index gives it."""
        where = f"{self.path}: source file of log {k} ({self.log_ids[k]}), {p} (/logs/file[{k}])"
        if not os.path.isfile(p):
            raise SourceMissing(f"{where}, is missing; its frames would read as zeros")
        want = int(self.frame_offset[k + 1] - self.frame_offset[k])
        try:
            with h5py.File(p, "r") as s:
                have = int(s.attrs["num_frames"])
        except (OSError, KeyError) as e:
            raise ValueError(f"{where}: not an avtruth file: {e}") from e
        if have != want:
            raise ValueError(f"{where}: has {have} frames, the index expects {want} "
                             "(a different file; run avtruth stitch again)")

    def __len__(self):
        return self.num_frames if self._pairs is None else len(self._pairs)

    def __getstate__(self):  # picklable for spawn-based workers: never ship the handle
        s = dict(self.__dict__)
        s["_r"] = None
        return s

    # ---- per-process state --------------------------------------------------------------

    def _reader(self):
        if self._r is None or self._pid != os.getpid():
            self._r = _Reader(self)
            self._pid = os.getpid()
        return self._r

    def close(self):
        if self._r is not None and self._pid == os.getpid():
            for f in self._r.files.values():
                f.close()
            self._r.f.close()
        self._r = None

    def log_index(self, frame):
        """The log k that frame belongs to (0 for a per-log file)."""
        return int(np.searchsorted(self.frame_offset, frame, "right") - 1)

    def log_dir(self, k):
        """Directory of log k's drive log (where image_path is relative to)."""
        if k not in self._log_dirs:
            with h5py.File(self.log_files[k], "r") as f:
                prov = f.get("provenance")
                cfg = json.loads(prov.attrs.get("config", "{}") or "{}") if prov else {}
            rec = cfg.get("log_dir", "")
            if self.log_root is not None:
                name = os.path.basename(os.path.normpath(rec)) if rec else \
                    os.path.splitext(os.path.basename(self.log_files[k]))[0]
                d = os.path.join(self.log_root, name)
            elif os.path.isdir(os.path.join(self._cwd, rec)):
                d = os.path.join(self._cwd, rec)
            else:
                d = os.path.join(os.path.dirname(self.log_files[k]), rec)
            self._log_dirs[k] = d
        return self._log_dirs[k]

    # ---- items --------------------------------------------------------------------------

    def __getitem__(self, i):
        n = len(self)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(f"index {i} out of range for {n} items")
        if self._pairs is None:
            item = self._reader().frame(i, self.cameras)
        else:
            frame, c = (int(x) for x in self._pairs[i])
            item = self._reader().frame(frame, [self.cameras[c]])
            item["camera"] = item.pop("cameras")[self.cameras[c]]
        return self.transform(item) if self.transform is not None else item


class _Compose:
    def __init__(self, fns):
        self.fns = fns

    def __call__(self, item):
        for fn in self.fns:
            item = fn(item)
        return item


class _Reader:
    """One process's open file: dataset handles opened once, offsets and per-frame tables
    loaded once, per-log calibration cached."""

    def __init__(self, ds):
        self.ds = ds
        self.f = h5py.File(ds.path, "r", rdcc_nbytes=CACHE_BYTES, rdcc_nslots=4099)
        f = self.f
        self.files = {}  # source files of a stitched index's virtual columns, opened once

        def col(name):
            return Column(f[name], self.files)

        self.point_off = f["frames/point_offset"][:].astype(np.int64)
        self.box_off = f["frames/box_offset"][:].astype(np.int64)
        self.ts = f["frames/timestamp_ns"][:]
        self.pose = col("frames/ego_pose")
        self.pcols = [(k, col("lidar/" + POINT_COLUMNS[k])) for k in ds.points]
        self.bcols = [(k, col("boxes3d/" + BOX_COLUMNS[k])) for k in ds.boxes]
        self.cams = {}
        for name in ds.cameras:
            g = f["cameras/" + name]
            c = {"ts": g["timestamp_ns"][:],
                 "path": g["image_path"].asstr()[:],
                 "b2_off": g["boxes2d/offset"][:].astype(np.int64),
                 "b2": [(k, col(g.name + "/boxes2d/" + BOX2D_COLUMNS[k])) for k in ds.boxes2d]}
            if ds.depth:
                c["d_off"] = g["depth/offset"][:].astype(np.int64)
                c["uv"], c["depth"] = col(g.name + "/depth/uv"), col(g.name + "/depth/depth")
            if ds.images and "image_png" in g:
                c["png_off"] = g["image_offset"][:].astype(np.int64)
                c["png"] = col(g.name + "/image_png")
            self.cams[name] = c
        self.calib = {}

    def calibration(self, k):
        """Log k's calibration: lidar_T_ego and per camera K, distortion, lidar_T_cam, size."""
        if k not in self.calib:
            base = self.f[f"logs/{k}"] if self.ds.stitched else self.f
            cal = {"lidar_T_ego": base["calibration/lidar_T_ego"][()], "cameras": {}}
            for name in self.ds.cameras:
                g = base["cameras/" + name]
                cal["cameras"][name] = {
                    "K": g["K"][()], "distortion": g["distortion"][()],
                    "lidar_T_cam": g["lidar_T_cam"][()],
                    "width": int(g.attrs["width"]), "height": int(g.attrs["height"]),
                    "model": str(g.attrs["model"])}
            self.calib[k] = cal
        return self.calib[k]

    def frame(self, i, cameras):
        ds = self.ds
        k = ds.log_index(i)
        cal = self.calibration(k)
        p0, p1 = self.point_off[i], self.point_off[i + 1]
        b0, b1 = self.box_off[i], self.box_off[i + 1]
        item = {"index": np.int64(i), "log_index": np.int64(k), "log_id": ds.log_ids[k],
                "frame_in_log": np.int64(i - ds.frame_offset[k]),
                "timestamp_ns": self.ts[i], "ego_pose": self.pose.read(i, i + 1)[0],
                "lidar_T_ego": cal["lidar_T_ego"]}
        for key, d in self.pcols:
            a = d.read(p0, p1)
            if key == "instance":  # rows of /boxes3d made frame-local, -1 = none
                a = np.where(a >= 0, a - np.int32(b0), np.int32(-1))
            item[key] = torch_dtype(a)
        for key, d in self.bcols:
            item[key] = torch_dtype(d.read(b0, b1))
        item["cameras"] = {}
        for name in cameras:
            c = self.cams[name]
            k0, k1 = c["b2_off"][i], c["b2_off"][i + 1]
            rel = c["path"][i]
            cam = dict(cal["cameras"][name])
            cam.update({"name": name, "paired": np.bool_(c["ts"][i] != INT64_MIN),
                        "timestamp_ns": c["ts"][i], "image_file": rel,
                        "image_path": os.path.join(ds.log_dir(k), rel) if rel else ""})
            for key, d in c["b2"]:
                a = torch_dtype(d.read(k0, k1))
                cam[key] = a - b0 if key == "box3d_index" else a  # frame-local box rows
            if ds.depth:
                d0, d1 = c["d_off"][i], c["d_off"][i + 1]
                cam["depth_uv"] = c["uv"].read(d0, d1)
                cam["depth"] = c["depth"].read(d0, d1)
            if ds.images:
                cam["image"] = self.image(c, i, cam["image_path"]) if cam["paired"] else None
            item["cameras"][name] = cam
        return item

    def image(self, c, i, path):
        import cv2
        if "png" in c:
            buf = c["png"].read(c["png_off"][i], c["png_off"][i + 1])
            img = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
            where = f"{self.ds.path}: embedded image of frame {i}"
        else:
            img = cv2.imread(path, cv2.IMREAD_UNCHANGED)
            where = path
        if img is None:
            if "png" not in c and not os.path.exists(path):
                raise FileNotFoundError(f"{where}: image file missing (log_root= or the "
                                        "recorded log_dir should name the drive log)")
            raise ValueError(f"{where}: not an image OpenCV can decode")
        if img.ndim == 3 and img.shape[2] == 3:
            img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
        return img
