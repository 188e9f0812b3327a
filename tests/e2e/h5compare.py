"""Compares two avtruth HDF5 files dataset by dataset with h5py (the scale-out tests: MPI and
Slurm datasets against the serial batch's)."""
import h5py
import numpy as np


def datasets(f):
    out = []
    f.visititems(lambda n, o: out.append(n) if isinstance(o, h5py.Dataset) else None)
    return sorted(out)


def differences(a, b, skip=("provenance/", "logs/sha256")):
    """Names of the datasets (and root attributes num_frames, split_ratios, format_version)
    that differ between files a and b in values, dtype or shape; [] when equal. skip:
    prefixes left out (provenance holds times, a source's SHA-256 covers them)."""
    with h5py.File(a) as fa, h5py.File(b) as fb:
        na, nb = datasets(fa), datasets(fb)
        if na != nb:
            return [f"dataset lists: {sorted(set(na) ^ set(nb))}"]
        bad = []
        for n in na:
            if n.startswith(skip):
                continue
            x, y = fa[n][()], fb[n][()]
            if isinstance(x, np.ndarray):
                same = x.dtype == y.dtype and x.shape == y.shape and (
                    list(x.ravel()) == list(y.ravel()) if x.dtype.kind == "O" else x.tobytes() == y.tobytes())
            else:
                same = x == y
            if not same:
                bad.append(n)
        for k in ("num_frames", "split_ratios", "format_version"):
            if fa.attrs.get(k) != fb.attrs.get(k):
                bad.append("@" + k)
        return bad
