#!/usr/bin/python3
"""h5_identical.py: are two avtruth output files identical, dataset by dataset?

usage: bench/h5_identical.py A.h5 B.h5

Walks both files with h5py and compares every group, dataset (dtype, shape, values bit for
bit; NaN equals NaN) and attribute. What legitimately differs between two runs of the same
build is ignored: /provenance's times (started/finished/created) and the tool's git revision
and command line. Prints each difference and exits 1 if there is one, 0 otherwise.
"""
import sys

import h5py
import numpy as np

# attributes (object, name) that record when and by which binary a file was made
IGNORED = {("/", "created_utc"), ("provenance", "started_utc"), ("provenance", "finished_utc"),
           ("provenance", "git_sha"), ("provenance", "command_line")}


def same_value(a, b):
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    if a.dtype.kind == "f":
        # bitwise: distinguishes -0.0 from 0.0 and compares NaN payloads
        return a.tobytes() == b.tobytes()
    if a.dtype.kind == "O":
        return all(x == y for x, y in zip(a.ravel(), b.ravel()))
    return np.array_equal(a, b)


def card_normalised(path, a, b, fa, fb):
    """The dataset card names the git revision: compare it with A's revision read as B's."""
    if path != "dataset_card":
        return a, b
    sha_a, sha_b = (f["provenance"].attrs.get("git_sha", b"") for f in (fa, fb))
    sha_a, sha_b = (s.decode() if isinstance(s, bytes) else str(s) for s in (sha_a, sha_b))
    a = a.decode() if isinstance(a, bytes) else str(a)
    b = b.decode() if isinstance(b, bytes) else str(b)
    return np.asarray(a.replace(f"(git {sha_a})", f"(git {sha_b})")), np.asarray(b)


def walk(f):
    out = {}

    def visit(name, obj):
        out[name] = obj
    f.visititems(visit)
    out["/"] = f
    return out


def main():
    if len(sys.argv) != 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    diffs = []
    with h5py.File(sys.argv[1], "r") as fa, h5py.File(sys.argv[2], "r") as fb:
        wa, wb = walk(fa), walk(fb)
        for k in sorted(set(wa) ^ set(wb)):
            diffs.append(f"{k}: only in {'A' if k in wa else 'B'}")
        n = 0
        for k in sorted(set(wa) & set(wb)):
            a, b = wa[k], wb[k]
            if isinstance(a, h5py.Dataset) != isinstance(b, h5py.Dataset):
                diffs.append(f"{k}: dataset in one file, group in the other")
                continue
            if isinstance(a, h5py.Dataset):
                n += 1
                if a.dtype != b.dtype or a.shape != b.shape:
                    diffs.append(f"{k}: {a.dtype}{a.shape} vs {b.dtype}{b.shape}")
                elif not same_value(*card_normalised(k, a[()], b[()], fa, fb)):
                    diffs.append(f"{k}: values differ")
            for name in sorted(set(a.attrs) | set(b.attrs)):
                if (k, name) in IGNORED:
                    continue
                if name not in a.attrs or name not in b.attrs:
                    diffs.append(f"{k}@{name}: only in {'A' if name in a.attrs else 'B'}")
                elif not same_value(a.attrs[name], b.attrs[name]):
                    diffs.append(f"{k}@{name}: {a.attrs[name]!r} vs {b.attrs[name]!r}")
    for d in diffs:
        print(f"DIFF {d}")
    print(f"{'identical' if not diffs else 'DIFFERENT'}: {n} datasets compared, {len(diffs)} differences")
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
