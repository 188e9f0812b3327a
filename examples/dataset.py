#!/usr/bin/env python3
"""A PyTorch Dataset over an avtruth ground-truth file (or a stitched index): a thin wrapper
over the package in python/avtruth (docs/python.md), kept for scripts that import it from here.

    from dataset import AvtruthDataset, collate
    ds = AvtruthDataset("log.h5", cameras=["front"])
    frame = ds[0]          # dict of numpy arrays with torch-compatible dtypes
    loader = torch.utils.data.DataLoader(ds, batch_size=4, num_workers=2, collate_fn=collate)

Run from anywhere: the package is found next to this file (../python) unless installed
(`pip install ./python`).
"""
import os
import sys

try:
    import avtruth
except ImportError:
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
    import avtruth

collate = avtruth.collate


class AvtruthDataset(avtruth.Dataset):
    """avtruth.Dataset with this example's historical arguments (with_depth = depth)."""

    def __init__(self, path, cameras=None, with_depth=True, **kw):
        super().__init__(path, cameras=cameras, depth=with_depth, **kw)


if __name__ == "__main__":
    ds = AvtruthDataset(sys.argv[1])
    item = ds[int(sys.argv[2]) if len(sys.argv) > 2 else 0]
    for k, v in item.items():
        if k != "cameras":
            print(f"{k:14s} {getattr(v, 'dtype', type(v).__name__)} {getattr(v, 'shape', v)}")
    for name, cam in item["cameras"].items():
        print(f"{name}: {cam['image_path'] or '(no image)'}, {len(cam['xyxy'])} 2D boxes")
