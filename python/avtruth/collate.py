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


def _cat(key, arrays, out, index_key, seen):
    """arrays concatenated; out[index_key] names each row's item (built once per group: every
    key of a group has the same rows per item, checked)."""
    counts = [len(a) for a in arrays]
    if index_key in seen:
        if counts != seen[index_key][1]:
            raise ValueError(f"collate: {key} has {counts} rows per item, "
                             f"{seen[index_key][0]} has {seen[index_key][1]}")
        return np.concatenate(arrays)
    seen[index_key] = (key, counts)
    index = np.empty(sum(counts), np.int64)
    at = 0
    for b, n in enumerate(counts):  # slice fills: np.repeat took 5x as long
        index[at:at + n] = b
        at += n
    out[index_key] = index
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
    out, seen = {}, {}
    keys = items[0].keys()
    for key in keys:
        values = [it[key] for it in items]
        group = next((g for g in _GROUPS if key in g[1]), None)
        if group is None:
            out[key] = _stack(values)
        elif group[3] == "cat":
            out[key] = _cat(key, values, out, group[2], seen)
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


class _Slot(int):
    """Where a tensor was in a shipped batch: its index in the layout."""


def _rebuild(tree, buf, layout):
    if isinstance(tree, dict):
        return {k: _rebuild(v, buf, layout) for k, v in tree.items()}
    if isinstance(tree, list):
        return [_rebuild(v, buf, layout) for v in tree]
    if isinstance(tree, _Slot):
        off, nbytes, dtype, shape = layout[tree]
        return buf[off:off + nbytes].view(dtype).reshape(shape)
    return tree


def _batch_from_shared(tree, buf, layout):
    return Batch(_rebuild(tree, buf, layout))


def _ship_shared(batch, torch):
    """batch's tensors copied into one shared-memory byte tensor (one segment per batch),
    the rest of the tree kept with _Slot placeholders."""
    tensors = []

    def strip(x):
        if isinstance(x, dict):
            return {k: strip(v) for k, v in x.items()}
        if isinstance(x, list):
            return [strip(v) for v in x]
        if isinstance(x, torch.Tensor):
            tensors.append(x)
            return _Slot(len(tensors) - 1)
        return x

    tree = strip(dict(batch))
    layout, off = [], 0
    for t in tensors:
        off = (off + 63) // 64 * 64  # every view aligned for its dtype
        layout.append((off, t.numel() * t.element_size(), t.dtype, tuple(t.shape)))
        off += layout[-1][1]
    buf = torch.empty(off, dtype=torch.uint8).share_memory_()
    for t, (o, n, dtype, shape) in zip(tensors, layout):
        buf[o:o + n].view(dtype).reshape(shape).copy_(t)
    return _batch_from_shared, (tree, buf, layout)


class Batch(dict):
    """A collated batch: a dict of tensors (and lists, dicts).

    From a DataLoader worker to the main process its tensors travel as one shared-memory
    segment per batch (copied into it once; the main process gets views of it, no copy;
    torch passes the segment's file descriptor). A tensor kept from the batch keeps the
    whole segment. Torch's own way, one segment per tensor (some 60 a batch here), cost 1.5x
    the CPU per frame, and the batch pickled through the workers' pipe 1.2x
    (docs/benchmarks.md). Pickled anywhere else (no worker), the tensors go as numpy arrays."""

    def __reduce__(self):
        try:
            import torch
            from torch.utils.data import get_worker_info
        except ImportError:
            torch = None
        if torch is not None and get_worker_info() is not None:
            return _ship_shared(self, torch)
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
