"""Bad camera timestamps (issue 4): an unparseable file name, a duplicate time, a time going
backwards (timestamps.csv) and a camera with no images each get a warning naming the file and
the value; nothing crashes, the rest of the log still builds, and the good images are paired
with the sweeps that triggered them."""
import csv
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(__file__))
from common import Checker, need, run, tmpdir  # noqa: E402

h5py = need('h5py')

c = Checker()
d = tmpdir()
log = os.path.join(d, "log")
run("synth", log, "--seed", 5, "--seconds", 1.2, "--cameras", 3, "--width", 320, "--height", 200)
cams = os.path.join(log, "cameras")
front = sorted(os.listdir(os.path.join(cams, "front")))
# 1. an unparseable name, 2. the same time written as seconds.fraction
shutil.copy(os.path.join(cams, "front", front[3]), os.path.join(cams, "front", "garbage_name.png"))
t = front[4][:-4]
shutil.copy(os.path.join(cams, "front", front[4]), os.path.join(cams, "front", f"{t[:10]}.{t[10:]}.png"))
# 3. times from a CSV where row 6 goes backwards
left = sorted(f for f in os.listdir(os.path.join(cams, "front_left")) if f.endswith(".png"))
back_file = left[5]
with open(os.path.join(cams, "front_left", "timestamps.csv"), "w") as f:
    f.write("file,t_ns\n")
    for i, name in enumerate(left):
        tt = int(name[:-4]) - (250_000_000 if i == 5 else 0)
        f.write(f"{name},{tt}\n")
# 4. a camera with no images
shutil.rmtree(os.path.join(cams, "front_right"))
os.mkdir(os.path.join(cams, "front_right"))

out = os.path.join(d, "out.h5")
p = run("build", log, "-o", out, check=False)
err = p.stderr
c.check(p.returncode == 0, f"build exits 0 despite bad timestamps (got {p.returncode}: {err})")
c.check("garbage_name.png" in err and "cannot read a time" in err, "unparseable name reported with the file")
c.check(f"{t[:10]}.{t[10:]}.png" in err and "duplicate image time" in err and t in err,
        "duplicate time reported with both files and the value")
c.check(back_file in err and "timestamps.csv line 7" in err and "backwards" in err,
        "backwards time reported with the file, the line and the value")
c.check("front_right" in err and "no .png/.jpg images" in err, "camera without images reported")

truth = {}
with open(os.path.join(log, "truth", "images.csv")) as f:
    for r in csv.DictReader(row for row in f if not row.startswith("#")):
        truth[(r["camera"], r["file"])] = int(r["sweep"])
with h5py.File(out, "r") as f:
    F = int(f.attrs["num_frames"])
    for cam in ("front", "front_left"):
        paths = [x.decode() if isinstance(x, bytes) else x for x in f["cameras"][cam]["image_path"][:]]
        used = [os.path.basename(x) for x in paths if x]
        c.check("garbage_name.png" not in used and back_file not in used, f"{cam}: bad images left out")
        ok = all(truth.get((cam, os.path.basename(x))) == i for i, x in enumerate(paths) if x and
                 (cam, os.path.basename(x)) in truth)
        c.check(ok and len(used) >= F - 3, f"{cam}: {len(used)} good images paired with their sweeps")
    fr = f["cameras"]["front_right"]["image_path"][:]
    c.check(all(not x for x in fr), "front_right stays unpaired")
c.finish()
