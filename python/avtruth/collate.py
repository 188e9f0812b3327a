"""Batching items of avtruth.Dataset: ragged points concatenated with a batch index, boxes
padded with their counts, everything else stacked (or kept as a list when it cannot be).

    loader = DataLoader(ds, batch_size=8, shuffle=True, num_workers=2, collate_fn=collate)

Per item level (the item, and each camera dict):
- per point (xyz, intensity, ..., and a camera's xyz_cam): concatenated, (sum N, ...);
  "points_batch" int64 (sum N,) names each row's item;
- per sparse depth sample (depth_uv, depth): concatenated, "depth_batch" int64;
- per 3D box (box_*): padded to (B, max M, ...), "box_count" int64 (B,); per 2D box (xyxy,
  box3d_index, ...): padded to (B, max K, ...), "box2d_count"; padding is 0, or -1 for
  box3d_index and box_track (indices): use the counts (or "box_mask"/"box2d_mask") to ignore it;
- numbers and equal-shaped arrays: stacked; strings, None and unequal shapes (images of
  different sizes): a list; dicts: the same rules per key.
Arrays become torch tensors when torch is importable (collate_numpy keeps numpy).
"""
import numpy as np

from .dataset import BOX2D_COLUMNS, BOX_COLUMNS, POINT_COLUMNS

POINT_KEYS = set(POINT_COLUMNS) | {"xyz_cam"}
DEPTH_KEYS = {"depth_uv", "depth"}
BOX_KEYS = set(BOX_COLUMNS)
BOX2D_KEYS = set(BOX2D_COLUMNS)
PAD = {"box3d_index": -1, "box_track": -1}
# ragged group -> (keys, what is added, how)
_GROUPS = (("points", POINT_KEYS, "points_batch", "cat"),
           ("depth", DEPTH_KEYS, "depth_batch", "cat"),
           ("boxes", BOX_KEYS, "box", "pad"),
           ("boxes2d", BOX2D_KEYS, "box2d", "pad"))


def _cat(arrays, out, index_key):
    counts = [len(a) for a in arrays]
    out[index_key] = np.repeat(np.arange(len(arrays), dtype=np.int64), counts)
    return np.concatenate(arrays)


def _pad(key, arrays):
    m = max((len(a) for a in arrays), default=0)
    a0 = arrays[0]
    out = np.full((len(arrays), m) + a0.shape[1:], PAD.get(key, 0), a0.dtype)
    for b, a in enumerate(arrays):
        out[b, :len(a)] = a
    return out


def _stack(values):
    v0 = values[0]
    if isinstance(v0, dict):
        return _level(values)
    if isinstance(v0, (str, bytes)) or v0 is None:
        return list(values)
    arrays = [np.asarray(v) for v in values]
    if all(a.shape == arrays[0].shape and a.dtype == arrays[0].dtype for a in arrays) \
            and arrays[0].dtype.kind != "O":
        return np.stack(arrays)
    return list(values)


def _level(items):
    out = {}
    keys = items[0].keys()
    for key in keys:
        values = [it[key] for it in items]
        group = next((g for g in _GROUPS if key in g[1]), None)
        if group is None:
            out[key] = _stack(values)
        elif group[3] == "cat":
            out[key] = _cat(values, out, group[2])
        else:
            out[key] = _pad(key, values)
            counts = np.array([len(v) for v in values], np.int64)
            out[group[2] + "_count"] = counts
            out[group[2] + "_mask"] = np.arange(out[key].shape[1])[None, :] < counts[:, None]
    return out


def collate_numpy(items):
    """The batch of a list of Dataset items, as numpy arrays."""
    if not items:
        raise ValueError("collate of an empty batch")
    return _level(items)


def _to_torch(x, torch):
    if isinstance(x, dict):
        return {k: _to_torch(v, torch) for k, v in x.items()}
    if isinstance(x, list):
        return [_to_torch(v, torch) for v in x]
    if isinstance(x, np.ndarray) and x.dtype.kind in "biuf":
        return torch.from_numpy(np.ascontiguousarray(x))
    return x


def _to_numpy(x):
    if isinstance(x, dict):
        return {k: _to_numpy(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_to_numpy(v) for v in x]
    return x.numpy() if hasattr(x, "numpy") and not isinstance(x, np.generic) else x


def _batch_from_numpy(tree):
    import torch
    return Batch(_to_torch(tree, torch))


class Batch(dict):
    """A collated batch: a dict of tensors (and lists, dicts). It crosses from a DataLoader
    worker to the main process pickled as numpy arrays, copied once through the worker's pipe,
    and is rebuilt there as tensors (torch.from_numpy, no copy): torch's own way, one
    shared-memory segment passed per tensor (some 60 per batch here), cost 1.5x the CPU per
    frame (docs/benchmarks.md)."""

    def __reduce__(self):
        return _batch_from_numpy, (_to_numpy(dict(self)),)


def collate(items):
    """The batch of a list of Dataset items: a Batch of torch tensors when torch is
    importable, else numpy arrays."""
    batch = collate_numpy(items)
    try:
        import torch
    except ImportError:
        return batch
    return Batch(_to_torch(batch, torch))
