"""avtruth: Python readers of avtruth ground-truth HDF5 files (FORMAT.md).

    from avtruth import Dataset, collate
    ds = Dataset("dataset.h5")                       # per-log file or stitched index
    loader = torch.utils.data.DataLoader(ds, batch_size=8, shuffle=True, num_workers=2,
                                         collate_fn=collate)
See docs/python.md.
"""
from .collate import Batch, collate, collate_numpy
from .dataset import (BOX2D_COLUMNS, BOX_COLUMNS, DEFAULT_BOXES, DEFAULT_BOXES2D, DEFAULT_POINTS,
                      POINT_COLUMNS, Dataset, SourceMissing, torch_dtype)
from .transforms import CropRange, PointsInCamera

__all__ = ["Dataset", "SourceMissing", "Batch", "collate", "collate_numpy", "CropRange", "PointsInCamera",
           "torch_dtype", "POINT_COLUMNS", "BOX_COLUMNS", "BOX2D_COLUMNS", "DEFAULT_POINTS",
           "DEFAULT_BOXES", "DEFAULT_BOXES2D"]
