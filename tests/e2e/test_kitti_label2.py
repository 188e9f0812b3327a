"""End-to-end on the KITTI object frames in ../shared/data/kitti/object: `avtruth import kitti`
keeps every object (boxes = non-DontCare lines, DontCare lines = ignore regions of image_2),
`avtruth validate` finds nothing, `avtruth build` keeps every box with its KITTI class, and
`avtruth export kitti` round-trips label_2 against KITTI's own file: class, dimensions and
location to 1 cm (our locations are in camera 2's frame: KITTI's plus P2's offset K^-1 p4, from
KITTI's calib with numpy), rotation_y to 0.01 rad, and the 2D box of unoccluded, untruncated
objects within 1 px (vehicles: every side; pedestrians and cyclists, whose sides KITTI drew
around the body by hand: top and bottom, and KITTI's box inside ours). The exported calib/ is
checked as KITTI tooling uses it: the devkit's box corners projected with the exported P2
span the exported 2D box."""
import glob
import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from common import Checker, need, run, skip, tmpdir  # noqa: E402

h5py, np = need("h5py", "numpy")
SHARED = os.environ.get("AVT_SHARED_DATA", "")
src = os.path.join(SHARED, "kitti", "object")
if not os.path.isdir(src):
    skip(f"{src} is absent (../shared/data not beside the project)")


def read_calib(path):
    out = {}
    for line in open(path):
        if ":" in line:
            k, v = line.split(":", 1)
            try:
                out[k.strip()] = np.array([float(x) for x in v.split()])
            except ValueError:
                pass
    return out


def corners_devkit(h, w, l, loc, ry):
    """KITTI devkit compute_box_3d: the 8 corners in camera coordinates."""
    x = [l / 2, l / 2, -l / 2, -l / 2, l / 2, l / 2, -l / 2, -l / 2]
    y = [0, 0, 0, 0, -h, -h, -h, -h]
    z = [w / 2, -w / 2, -w / 2, w / 2, w / 2, -w / 2, -w / 2, w / 2]
    R = np.array([[np.cos(ry), 0, np.sin(ry)], [0, 1, 0], [-np.sin(ry), 0, np.cos(ry)]])
    return R @ np.array([x, y, z]) + np.array(loc).reshape(3, 1)


def wrap(a):
    return (a + np.pi) % (2 * np.pi) - np.pi


c = Checker()
d = tmpdir()
run("import", "kitti", src, os.path.join(d, "logs"))
compared = 0
for label_file in sorted(glob.glob(os.path.join(src, "label_2", "*.txt"))):
    fid = os.path.basename(label_file)[:-4]
    log = os.path.join(d, "logs", fid)
    kitti = [l.split() for l in open(label_file) if l.strip()]
    objs = [k for k in kitti if k[0] != "DontCare"]
    dc = [k for k in kitti if k[0] == "DontCare"]
    lj = json.load(open(glob.glob(os.path.join(log, "labels", "*.json"))[0]))
    c.check(len(lj["boxes"]) == len(objs), f"{fid}: {len(lj['boxes'])} boxes for {len(objs)} non-DontCare lines")
    c.check([b["class"] for b in lj["boxes"]] == [k[0] for k in objs], f"{fid}: every KITTI type kept")
    regions = lj.get("ignore_regions", [])
    c.check(len(regions) == len(dc) and all(r["camera"] == "image_2" for r in regions),
            f"{fid}: {len(regions)} ignore regions of image_2 for {len(dc)} DontCare lines")
    for r, k in zip(regions, dc):
        c.check(np.allclose(r["xyxy"], [float(v) for v in k[4:8]]), f"{fid}: DontCare box {k[4:8]}")
    p = run("validate", log, check=False)
    c.check(p.returncode == 0 and "0 errors, 0 warnings" in p.stdout, f"{fid}: validate clean: {p.stdout.strip()}")
    out = os.path.join(d, fid + ".h5")
    run("build", log, "-o", out)
    with h5py.File(out, "r") as f:
        names = list(f["meta/class_names"].asstr()[:])
        cls = [names[i] for i in f["boxes3d/class_id"][:]]
        c.check(cls == [k[0] for k in objs], f"{fid}: /boxes3d classes {cls}")
        c.check(f["meta/schema"].asstr()[()].startswith("# KITTI object"), f"{fid}: built with the KITTI schema")
    ex = os.path.join(d, "export_" + fid)
    run("export", "kitti", out, ex)
    ours = [l.split() for l in open(os.path.join(ex, "label_2", "000000.txt"))]
    c.check(len(ours) == len(objs), f"{fid}: {len(ours)} exported lines for {len(objs)} objects")
    cal = read_calib(os.path.join(src, "calib", fid + ".txt"))
    P2 = cal["P2"].reshape(3, 4)
    t2 = np.linalg.solve(P2[:, :3], P2[:, 3])  # camera 2's offset from rectified camera 0
    ecal = read_calib(os.path.join(ex, "calib", "000000.txt"))
    EP2 = ecal["P2"].reshape(3, 4)
    for o, k in zip(ours, objs):
        c.check(o[0] == k[0], f"{fid}: class {o[0]} vs {k[0]}")
        f_o, f_k = np.array(o[1:], float), np.array(k[1:], float)
        c.check(np.all(np.abs(f_o[7:10] - f_k[7:10]) <= 0.01), f"{fid} {k[0]}: h w l {f_o[7:10]} vs {f_k[7:10]}")
        c.check(np.all(np.abs(f_o[10:13] - (f_k[10:13] + t2)) <= 0.01),
                f"{fid} {k[0]}: location {f_o[10:13]} vs KITTI + P2 offset {f_k[10:13] + t2}")
        c.check(abs(wrap(f_o[13] - f_k[13])) <= 0.01, f"{fid} {k[0]}: rotation_y {f_o[13]} vs {f_k[13]}")
        c.check(abs(wrap(f_o[2] - (f_o[13] - np.arctan2(f_o[10], f_o[12])))) < 1e-3, f"{fid} {k[0]}: alpha")
        pts = EP2 @ np.vstack([corners_devkit(*f_o[7:10], f_o[10:13], f_o[13]), np.ones(8)])
        uv = pts[:2] / pts[2]
        span = [uv[0].min(), uv[1].min(), uv[0].max(), uv[1].max()]
        if f_k[0] > 0.05 or int(f_k[1]) != 0:
            continue  # truncated or occluded: KITTI's box is of the visible part
        compared += 1
        c.check(np.all(np.abs(np.array(span) - f_o[3:7]) <= 1.0), f"{fid} {k[0]}: exported P2 spans {span} vs {f_o[3:7]}")
        d2 = f_o[3:7] - f_k[3:7]
        if k[0] in ("Pedestrian", "Cyclist", "Person_sitting"):
            c.check(abs(d2[1]) <= 1.0 and abs(d2[3]) <= 1.0 and d2[0] <= 1.0 and d2[2] >= -1.0,
                    f"{fid} {k[0]}: 2D box {f_o[3:7]} vs KITTI {f_k[3:7]}")
        else:
            c.check(np.all(np.abs(d2) <= 1.0), f"{fid} {k[0]}: 2D box {f_o[3:7]} vs KITTI {f_k[3:7]} ({d2})")
c.check(compared >= 3, f"compared {compared} unoccluded, untruncated objects")
c.finish()
