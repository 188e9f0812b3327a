"""Readers of an output (verify, export kitti, inspect, stitch, eval) on copies of a valid file
where one dataset has the wrong shape (FORMAT.md's rank and dimensions, made with h5py): each
exits 1 with one message naming the file, the dataset, the shape found and the shape expected,
and never reads past the end of a buffer (run under AddressSanitizer by the sanitizer build).
Also attributes read into one variable that hold several values."""
import os
import re
import shutil
import sys

sys.path.insert(0, os.path.dirname(__file__))
from common import Checker, need, run, tmpdir  # noqa: E402

h5py, np = need("h5py", "numpy")
c = Checker()
base = tmpdir()
log, good = os.path.join(base, "log"), os.path.join(base, "good.h5")
run("synth", log, "--seed", 5, "--seconds", 0.5, "--cameras", 1)
run("build", log, "-o", good)
with h5py.File(good) as f:
    F = int(f.attrs["num_frames"])
    M = f["boxes3d/center"].shape[0]
    K = f["cameras/front/boxes2d/xyxy"].shape[0]
c.check(M > 1 and K > 1, f"the log has 3D and 2D boxes ({M}, {K})")

# the valid file passes every reader
for args in (("verify", good), ("export", "kitti", good, os.path.join(base, "kitti_good")), ("inspect", good),
             ("eval", "--gt", good, "--pred", good, "--json", os.path.join(base, "e.json"))):
    p = run(*args, check=False)
    c.check(p.returncode == 0, f"valid file: {args[0]}: exit {p.returncode}: {p.stderr.strip()}")


def replace(f, name, shape):
    """Dataset name replaced by one of the given shape and the same type, holding the old
    values as far as they go (cut or repeated)."""
    old = f[name][()]
    new = np.resize(old, shape).astype(old.dtype)
    del f[name]
    f.create_dataset(name, data=new)


def sanitizer_clean(p):
    return "AddressSanitizer" not in p.stderr and "runtime error" not in p.stderr


# dataset, the shape written, the expected shape as the message prints it (a pattern: rows
# are N where any count is accepted, or the count of the table's other columns), and the
# commands that read the dataset
ROWS = r"(N|\d+)"
CASES = [
    ("cameras/front/K", (3, 1), r"\(3, 3\)", ("verify", "kitti")),
    ("cameras/front/lidar_T_cam", (4, 1), r"\(4, 4\)", ("verify", "kitti")),
    ("boxes3d/center", (M, 1), rf"\({ROWS}, 3\)", ("verify", "kitti", "stitch", "eval")),
    ("cameras/front/boxes2d/xyxy", (K, 1), rf"\({ROWS}, 4\)", ("verify", "kitti", "stitch", "eval")),
    ("boxes3d/class_id", (M, 2), rf"\({ROWS},\)", ("verify", "kitti", "stitch", "eval")),
    ("boxes3d/yaw", (M - 1,), rf"\({M},\)", ("verify", "kitti", "stitch")),
    ("cameras/front/boxes2d/visibility", (K - 1,), rf"\({K},\)", ("verify", "kitti", "stitch")),
    ("frames/timestamp_ns", (F, 2), rf"\({ROWS},\)", ("verify", "inspect", "stitch")),
    ("frames/packets", (F, 1, 1, 1, 1), rf"\({F},\)", ("verify", "stitch")),
]
# verify (and stitch, which verifies its sources) names a column one row short through the
# offset array that indexes it
SHORT = {"boxes3d/yaw": ("frames/box_offset", M),
         "cameras/front/boxes2d/visibility": ("cameras/front/boxes2d/offset", K)}

for name, shape, expected, commands in CASES:
    tag = name.replace("/", "_")
    bad = os.path.join(base, tag, "bad.h5")
    os.makedirs(os.path.dirname(bad))
    shutil.copy(good, bad)
    with h5py.File(bad, "r+") as f:
        replace(f, name, shape)
    shape_msg = re.escape(f"{bad}: /{name}: shape {shape}, expected ") + expected
    for cmd in commands:
        args = {"verify": ("verify", bad),
                "kitti": ("export", "kitti", bad, os.path.join(base, tag, "kitti")),
                "inspect": ("inspect", bad),
                "stitch": ("stitch", os.path.dirname(bad), "-o", os.path.join(base, tag + "_index.h5")),
                "eval": ("eval", "--gt", bad, "--pred", good)}[cmd]
        p = run(*args, check=False)
        what = f"{name} {shape}: {cmd}"
        c.check(sanitizer_clean(p), f"{what}: sanitizer report:\n{p.stderr[-3000:]}")
        c.check(p.returncode == 1, f"{what}: exit {p.returncode}, expected 1: {p.stderr.strip()[-600:]}")
        msg = p.stderr.strip()
        want = shape_msg
        if name in SHORT and cmd in ("verify", "stitch"):
            off, rows = SHORT[name]
            want = re.escape(f"{bad}: /{off}: row {F}: value {rows}, but /{name} has {rows - 1} rows")
        c.check(re.search(want, msg) and msg.count("\n") == 0, f"{what}: one line matching {want!r}: {msg!r}")

# a column whose declared extent is far beyond what is stored (2^61 rows, no chunk written):
# eval refuses it (it allocated rows * 8 bytes, which wrapped to 0, and HDF5 wrote the rows
# past the end: a segmentation fault)
HUGE = 2**61
bad = os.path.join(base, "huge", "bad.h5")
os.makedirs(os.path.dirname(bad))
shutil.copy(good, bad)
with h5py.File(bad, "r+") as f:
    dtype = f["boxes3d/yaw"].dtype
    del f["boxes3d/yaw"]
    f.create_dataset("boxes3d/yaw", shape=(HUGE,), chunks=(1024,), dtype=dtype)
p = run("eval", "--gt", bad, "--pred", good, check=False, timeout=60)
want = f"{bad}: /boxes3d/yaw: out of memory for {HUGE} rows"
c.check(sanitizer_clean(p) and p.returncode == 1 and want in p.stderr,
        f"huge extent: eval: exit {p.returncode}, want {want!r}: {p.stderr.strip()[-600:]}")
# verify, which reads every chunk, would have read 2^51 chunks of fill values (it did not end)
p = run("verify", bad, check=False, timeout=60)
want = f"{bad}: /boxes3d/yaw: {HUGE} elements of 4 bytes declared, more than a file of"
c.check(sanitizer_clean(p) and p.returncode == 1 and want in p.stderr,
        f"huge extent: verify: exit {p.returncode}, want {want!r}: {p.stderr.strip()[-600:]}")

# a stitched index keeps each log's calibration under /logs/<k>/: export kitti reads it there
src = os.path.join(base, "one")
os.makedirs(src)
shutil.copy(good, os.path.join(src, "a.h5"))
index = os.path.join(base, "index.h5")
run("stitch", src, "-o", index)
run("export", "kitti", index, os.path.join(base, "kitti_index"))
for name, shape, expected in (("logs/0/cameras/front/K", (3, 1), "(3, 3)"),
                              ("logs/0/cameras/front/lidar_T_cam", (1, 4), "(4, 4)")):
    bad = os.path.join(base, "bad_index.h5")
    shutil.copy(index, bad)
    with h5py.File(bad, "r+") as f:
        replace(f, name, shape)
    for args in (("export", "kitti", bad, os.path.join(base, "kitti_bad_index")), ("verify", bad)):
        p = run(*args, check=False)
        want = f"{bad}: /{name}: shape {shape}, expected {expected}"
        c.check(sanitizer_clean(p) and p.returncode == 1 and want in p.stderr,
                f"index {name}: {args[0]}: exit {p.returncode}, want {want!r}: {p.stderr.strip()[-600:]}")

# the calibration FORMAT.md requires, deleted: verify names it (a per-log file keeps it under
# /cameras and /calibration, an index under each /logs/<k>/; the index's own root has none)
for name, src_file in (("cameras/front/K", good), ("cameras/front/distortion", good),
                       ("calibration/lidar_T_ego", good), ("logs/0/cameras/front/lidar_T_cam", index)):
    bad = os.path.join(base, "missing_" + name.replace("/", "_") + ".h5")
    shutil.copy(src_file, bad)
    with h5py.File(bad, "r+") as f:
        del f[name]
    p = run("verify", bad, check=False)
    want = f"{bad}: /{name}: missing dataset"
    c.check(p.returncode == 1 and want in p.stderr,
            f"missing {name}: verify: exit {p.returncode}, want {want!r}: {p.stderr.strip()[-600:]}")

# attributes read into one variable, and /meta/schema read into one string, holding several
# values: HDF5 would write them all (a stack overflow before); refused or ignored, never a crash
def num_frames(f):
    f.attrs["num_frames"] = np.array([F] * 4, dtype="u8")


def format_attr(f):
    f.attrs["format"] = np.array(["avtruth-gt"] * 4, dtype=h5py.string_dtype())


def width(f):
    f["cameras/front"].attrs["width"] = np.array([640] * 4, dtype="u4")


def schema(f):
    text = f["meta/schema"][()]
    del f["meta/schema"]
    f.create_dataset("meta/schema", data=[text, text], dtype=h5py.string_dtype())


ATTRS = [  # mutation, command, expected exit status, text the message names
    (num_frames, "verify", 1, "num_frames attribute"),
    (num_frames, "stitch", 1, "num_frames attribute"),
    (num_frames, "inspect", 0, ""),  # a summary: reads it as absent (frames: 0)
    (format_attr, "inspect", 1, "root attribute format"),
    (width, "stitch", 0, ""),  # a camera attribute it cannot read is not copied
    (schema, "eval", 1, "/meta/schema: 2 strings, expected one"),
]
for i, (mutate, cmd, status, text) in enumerate(ATTRS):
    d = os.path.join(base, f"attr{i}")
    os.makedirs(d)
    bad = os.path.join(d, "bad.h5")
    shutil.copy(good, bad)
    with h5py.File(bad, "r+") as f:
        mutate(f)
    args = {"verify": ("verify", bad), "inspect": ("inspect", bad),
            "stitch": ("stitch", d, "-o", os.path.join(base, f"attr{i}_index.h5")),
            "eval": ("eval", "--gt", bad, "--pred", good)}[cmd]
    p = run(*args, check=False)
    what = f"{mutate.__name__}: {cmd}"
    c.check(sanitizer_clean(p), f"{what}: sanitizer report:\n{p.stderr[-3000:]}")
    c.check(p.returncode == status and (not text or (bad in p.stderr and text in p.stderr)),
            f"{what}: exit {p.returncode} (want {status}), want {text!r}: {p.stderr.strip()[-600:]}")

c.finish()
