"""Row ranges of avtruth's chunked columns, inflated with Debian's libdeflate.

A random frame of an avtruth file costs its reader mostly inflate: each column's frame rows
lie in one or two chunks (shuffle + deflate, FORMAT.md), and h5py inflates them with zlib.
Column reads the chunks a row range touches as stored (h5py's read_direct_chunk), inflates
them with libdeflate (libdeflate0, which avtruth's writer already uses; about 1.7x zlib's
inflate here) through ctypes, and unshuffles only the rows asked for, straight into the
result. The same bytes as h5py's d[lo:hi] (tests/python/test_chunks.py checks every path);
anything else (another filter, a compact or contiguous layout, no libdeflate) is read by
h5py as before.

Virtual datasets (a stitched index, `avtruth stitch`) are followed to their source files'
datasets, which are read the same way.

A few inflated chunks are kept per column (about 1 MiB, least recently used first out), so
sequential reads and the small per-box tables inflate each chunk once.
"""
import ctypes
import ctypes.util
import os
import threading
from collections import OrderedDict

import h5py
import numpy as np

CACHE_BYTES = 1 << 20  # inflated chunks kept per column (at least one); h5py's cache for the rest
_SHUFFLE, _DEFLATE = h5py.h5z.FILTER_SHUFFLE, h5py.h5z.FILTER_DEFLATE
# libdeflate_result (libdeflate.h)
_RESULTS = {1: "bad data", 2: "short output", 3: "insufficient space"}


class _Inflater:
    """libdeflate's zlib decompressor through ctypes, one per thread (a decompressor must not be
    used by two threads at once, and ctypes lets go of the GIL during the call); allocated
    again in a forked child."""

    def __init__(self):
        self.lib = None
        name = ctypes.util.find_library("deflate") or "libdeflate.so.0"
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            return
        lib.libdeflate_alloc_decompressor.restype = ctypes.c_void_p
        lib.libdeflate_alloc_decompressor.argtypes = []
        lib.libdeflate_zlib_decompress.restype = ctypes.c_int
        lib.libdeflate_zlib_decompress.argtypes = [
            ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_void_p,
            ctypes.c_size_t, ctypes.c_void_p]
        self.lib, self.local = lib, threading.local()

    def inflate(self, raw, nbytes, where):
        """raw (a zlib stream) inflated to exactly nbytes, as a uint8 array."""
        t = self.local
        if getattr(t, "pid", None) != os.getpid():
            t.d, t.pid = self.lib.libdeflate_alloc_decompressor(), os.getpid()
            if not t.d:
                raise MemoryError("libdeflate_alloc_decompressor failed")
        out = np.empty(nbytes, np.uint8)
        r = self.lib.libdeflate_zlib_decompress(t.d, raw, len(raw), out.ctypes.data, nbytes, None)
        if r != 0:
            raise OSError(f"{where}: deflate stream does not inflate to the chunk's {nbytes} "
                          f"bytes ({_RESULTS.get(r, r)})")
        return out


_INFLATER = _Inflater()


def available():
    """True when chunks are inflated by libdeflate (else every read goes through h5py)."""
    return _INFLATER.lib is not None


def _pipeline(d):
    """The chunk filters of d if Column can read its chunks itself, else None."""
    if not available() or d.chunks is None or d.dtype.kind not in "biuf":
        return None
    if tuple(d.chunks[1:]) != tuple(d.shape[1:]):
        return None  # chunked across the inner dimensions: not a row range per chunk
    if d.id.get_type() != h5py.h5t.py_create(d.dtype):
        return None  # a file type h5py converts (e.g. 12-bit integers): h5py reads it
    dcpl = d.id.get_create_plist()
    filters = tuple(dcpl.get_filter(i)[0] for i in range(dcpl.get_nfilters()))
    return filters if filters in ((_SHUFFLE, _DEFLATE), (_DEFLATE,), ()) else None


def _rows(space, shape):
    """The block of whole rows [lo, hi) a selection of a dataset of this shape is, or None."""
    kind = space.get_select_type()
    if kind == h5py.h5s.SEL_ALL:
        return 0, shape[0]
    if kind != h5py.h5s.SEL_HYPERSLABS or space.get_select_npoints() == 0:
        return None
    (lo, *inner0), (hi, *inner1) = space.get_select_bounds()
    whole = all(a == 0 and b == n - 1 for a, b, n in zip(inner0, inner1, shape[1:]))
    if not whole or space.get_select_npoints() != (hi - lo + 1) * int(np.prod(shape[1:])):
        return None
    return lo, hi + 1


class Column:
    """Rows of one dataset (1-D or rows of fixed inner shape): read(lo, hi) == d[lo:hi]."""

    def __init__(self, d, files=None):
        self.d = d
        self.where = f"{d.file.filename}: {d.name}"
        self.shape, self.dtype = d.shape, d.dtype
        self.parts = None  # virtual: [(lo, hi, Column of the source, its first row)]
        self.filters = None
        self.by_h5py = 0  # reads left to h5py
        if d.is_virtual:
            self.parts = self._sources(d, files if files is not None else {})
        else:
            self.filters = _pipeline(d)
        if self.filters is not None:
            self.rows = d.chunks[0]
            self.per = int(np.prod(d.shape[1:], dtype=np.int64))  # elements per row
            self.nbytes = self.rows * self.per * d.dtype.itemsize
            self.cache = OrderedDict()
            self.lock = threading.Lock()  # the cache, for threads sharing a Column
            self.inflated = 0  # chunks read from the file (the cache missed)
            self.keep = max(1, CACHE_BYTES // self.nbytes)

    def _sources(self, d, files):
        """The virtual dataset's row blocks and their source datasets, or None (h5py reads
        it) when a mapping is not a plain block of rows, blocks overlap, a source cannot be
        opened or HDF5_VDS_PREFIX changes where sources are looked for."""
        if os.environ.get("HDF5_VDS_PREFIX"):
            return None
        base = os.path.dirname(os.path.abspath(d.file.filename))
        parts = []
        for m in d.virtual_sources():
            name = m.file_name
            path = d.file.filename if name == "." else \
                name if os.path.isabs(name) else os.path.join(base, name)
            if path not in files:
                try:
                    files[path] = h5py.File(path, "r")
                except OSError:
                    return None
            src = Column(files[path][m.dset_name], files)
            if src.dtype != d.dtype or src.shape[1:] != d.shape[1:]:
                return None  # h5py would convert the values
            rows = [_rows(sp, shape) for sp, shape in ((m.vspace, d.shape),
                                                       (m.src_space, src.shape))]
            if None in rows or rows[0][1] - rows[0][0] != rows[1][1] - rows[1][0]:
                return None
            parts.append((rows[0][0], rows[0][1], src, rows[1][0]))
        parts.sort(key=lambda p: p[0])
        if any(a[1] > b[0] for a, b in zip(parts, parts[1:])):
            return None  # overlapping mappings: HDF5's precedence rules, h5py reads it
        return parts

    def read(self, lo, hi):
        lo, hi = int(lo), int(hi)
        if self.parts is not None:
            return self._read_virtual(lo, hi)
        if self.filters is None or not 0 <= lo <= hi <= self.shape[0]:
            self.by_h5py += 1
            return self.d[lo:hi]
        out = np.empty((hi - lo,) + self.shape[1:], self.dtype)
        if hi == lo:
            return out
        it = self.dtype.itemsize
        dst = out.reshape(-1).view(np.uint8).reshape(-1, it)  # (elements, bytes of each)
        for c in range(lo // self.rows, (hi - 1) // self.rows + 1):
            r0 = max(lo, c * self.rows)
            r1 = min(hi, (c + 1) * self.rows)
            e0, e1 = (r0 - c * self.rows) * self.per, (r1 - c * self.rows) * self.per
            hit = self._chunk(c)
            if hit is None:  # a chunk never written: h5py gives its fill value
                self.by_h5py += 1
                return self.d[lo:hi]
            raw, shuffled = hit
            at = (r0 - lo) * self.per
            if shuffled and it > 1:  # byte plane k holds byte k of every element
                planes = raw.reshape(it, -1)
                for k in range(it):
                    dst[at:at + e1 - e0, k] = planes[k, e0:e1]
            else:
                dst[at:at + e1 - e0] = raw.reshape(-1, it)[e0:e1]
        return out

    def _chunk(self, c):
        """Chunk c inflated (still shuffled) and whether it is shuffled, or None if the file
        holds no such chunk."""
        with self.lock:
            hit = self.cache.get(c)
            if hit is not None:
                self.cache.move_to_end(c)
                return hit
        off = (c * self.rows,) + (0,) * (len(self.shape) - 1)
        try:
            mask, raw = self.d.id.read_direct_chunk(off)
        except RuntimeError:  # "chunk storage is not allocated"
            return None
        where = f"{self.where} chunk {c} (rows {off[0]}..)"
        shuffled = _SHUFFLE in self.filters and not mask & (1 << self.filters.index(_SHUFFLE))
        if _DEFLATE in self.filters and not mask & (1 << self.filters.index(_DEFLATE)):
            buf = _INFLATER.inflate(raw, self.nbytes, where)
        else:
            if len(raw) != self.nbytes:
                raise OSError(f"{where}: {len(raw)} bytes stored unfiltered, the chunk holds "
                              f"{self.nbytes}")
            buf = np.frombuffer(raw, np.uint8)
        hit = (buf, shuffled)
        with self.lock:
            self.inflated += 1
            self.cache[c] = hit
            if len(self.cache) > self.keep:
                self.cache.popitem(last=False)
        return hit

    def _read_virtual(self, lo, hi):
        if not 0 <= lo <= hi <= self.shape[0]:
            self.by_h5py += 1
            return self.d[lo:hi]
        pieces = [col.read(s0 + max(lo, v0) - v0, s0 + min(hi, v1) - v0)
                  for v0, v1, col, s0 in self.parts if max(lo, v0) < min(hi, v1)]
        if sum(len(p) for p in pieces) != hi - lo:  # rows no mapping names: fill values
            self.by_h5py += 1
            return self.d[lo:hi]
        if len(pieces) == 1:
            return pieces[0]
        return np.concatenate(pieces) if pieces else np.empty((0,) + self.shape[1:], self.dtype)
