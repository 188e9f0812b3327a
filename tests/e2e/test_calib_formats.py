"""End-to-end: every calibration format through `avtruth build --calib` gives the same 2D boxes
as the equivalent calib.yaml (h5py comparison of /cameras/<name>/boxes2d/xyxy).
- Synthetic log: ROS camera_info, OpenCV FileStorage and Kalibr camchain files written here
  from the log's calib.yaml numbers (the camera's intrinsics; LiDAR extrinsics from calib.yaml,
  which these formats lack); the reference is the plain build.
- KITTI object frame 000000 (imported): --calib calib/000000.txt (kitti-object) against the
  imported calib.yaml; and --calib ../shared/data/kitti/raw/2011_09_26_calib (kitti-raw) against
  a calib.yaml computed here with numpy from calib_cam_to_cam.txt and calib_velo_to_cam.txt
  (camera image_02: K = P_rect_02[:, :3], cam_T_velo = [I | K^-1 p4] R_rect_00 Tr_velo_to_cam),
  the frame's images renamed to image_02 for both builds.
- `avtruth calib convert` writes a calib.yaml that builds the same boxes again."""
import os
import re
import shutil
import sys

sys.path.insert(0, os.path.dirname(__file__))
from common import Checker, need, run, tmpdir  # noqa: E402

h5py, np = need('h5py', 'numpy')
c = Checker()
d = tmpdir()


def boxes(h5, cam):
    with h5py.File(h5, "r") as f:
        return f[f"cameras/{cam}/boxes2d/xyxy"][:], f[f"cameras/{cam}/boxes2d/box3d_index"][:]


def same_boxes(a, b, what):
    (xa, ia), (xb, ib) = a, b
    c.check(len(xa) > 0, f"{what}: some 2D boxes ({len(xa)})")
    c.check(len(xa) == len(xb) and (ia == ib).all() and np.allclose(xa, xb, atol=1e-3),
            f"{what}: boxes differ ({len(xa)} vs {len(xb)}; max diff "
            f"{np.abs(xa - xb).max() if len(xa) == len(xb) and len(xa) else 'n/a'})")


def yaml_list(text, key):
    m = re.search(rf"^\s*{key}: \[(.*)\]", text, re.M)
    return [float(v) for v in m.group(1).split(",")]


# ---- synthetic log: camera-only formats ----
log = os.path.join(d, "log")
run("synth", log, "--seed", "3", "--seconds", "0.4", "--cameras", "1", "--width", "320", "--height", "200")
ref = os.path.join(d, "ref.h5")
run("build", log, "-o", ref)
cal = open(os.path.join(log, "calib.yaml")).read()
K, D = yaml_list(cal, "K"), yaml_list(cal, "distortion")
W, H = 320, 200
fmt = lambda v: ", ".join(repr(x) for x in v)  # noqa: E731
files = {
    "ros": f"image_width: {W}\nimage_height: {H}\ncamera_name: front\ncamera_matrix:\n  rows: 3\n  cols: 3\n"
           f"  data: [{fmt(K)}]\ndistortion_model: plumb_bob\ndistortion_coefficients:\n  rows: 1\n  cols: 5\n"
           f"  data: [{fmt(D)}]\n",
    "opencv": f"%YAML:1.0\n---\nimage_width: {W}\nimage_height: {H}\ncamera_name: front\n"
              f"camera_matrix: !!opencv-matrix\n   rows: 3\n   cols: 3\n   dt: d\n   data: [{fmt(K)}]\n"
              f"distortion_coefficients: !!opencv-matrix\n   rows: 1\n   cols: 5\n   dt: d\n   data: [{fmt(D)}]\n",
}
for name, text in files.items():
    p = os.path.join(d, f"front_{name}.yaml")
    open(p, "w").write(text)
    out = os.path.join(d, f"{name}.h5")
    run("build", log, "-o", out, "--calib", p)
    same_boxes(boxes(ref, "front"), boxes(out, "front"), f"--calib {name} (auto-detected)")
    out2 = os.path.join(d, f"{name}_explicit.h5")
    run("build", log, "-o", out2, "--calib", p, "--calib-format", name)
    same_boxes(boxes(ref, "front"), boxes(out2, "front"), f"--calib {name} --calib-format {name}")

# Kalibr names its cameras cam0..: a copy of the log whose camera is cam0 (images and calib.yaml)
klog = os.path.join(d, "klog")
shutil.copytree(log, klog)
os.rename(os.path.join(klog, "cameras", "front"), os.path.join(klog, "cameras", "cam0"))
open(os.path.join(klog, "calib.yaml"), "w").write(cal.replace("name: front", "name: cam0"))
kal = os.path.join(d, "camchain.yaml")
open(kal, "w").write(f"cam0:\n  camera_model: pinhole\n  intrinsics: [{K[0]}, {K[4]}, {K[2]}, {K[5]}]\n"
                     f"  distortion_model: radtan\n  distortion_coeffs: [{fmt(D[:4])}]\n  resolution: [{W}, {H}]\n")
# Kalibr's radtan has 4 coefficients: the reference drops k3 as well
kref_cal = os.path.join(d, "k3zero.yaml")
open(kref_cal, "w").write(re.sub(r"distortion: \[.*\]", f"distortion: [{fmt(D[:4] + [0.0])}]",
                                 cal.replace("name: front", "name: cam0")))
kref = os.path.join(d, "kref.h5")
run("build", klog, "-o", kref, "--calib", kref_cal)
kout = os.path.join(d, "kalibr.h5")
run("build", klog, "-o", kout, "--calib", kal)
same_boxes(boxes(kref, "cam0"), boxes(kout, "cam0"), "--calib kalibr")

# a camera-only format without calib.yaml extrinsics for that camera is refused, naming it
p = os.path.join(d, "front_ros.yaml")
bad = os.path.join(d, "bad_ros.yaml")
open(bad, "w").write(open(p).read().replace("camera_name: front", "camera_name: side"))
r = run("build", log, "-o", os.path.join(d, "bad.h5"), "--calib", bad, check=False)
c.check(r.returncode == 1 and "side" in r.stderr and "lidar_T_cam" in r.stderr, f"no extrinsics: {r.stderr.strip()}")
r = run("build", log, "-o", os.path.join(d, "bad.h5"), "--calib", p, "--calib-format", "bogus", check=False)
c.check(r.returncode == 2 and "kalibr" in r.stderr, f"unknown format: {r.stderr.strip()}")

# calib convert: ROS + calib.yaml extrinsics into one calib.yaml that builds the same boxes
conv = os.path.join(d, "converted.yaml")
run("calib", "convert", p, "--extrinsics", os.path.join(log, "calib.yaml"), "-o", conv)
out = os.path.join(d, "converted.h5")
run("build", log, "-o", out, "--calib", conv)
same_boxes(boxes(ref, "front"), boxes(out, "front"), "calib convert (ros) -> calib.yaml")

# ---- KITTI: object and raw calibrations ----
SHARED = os.environ.get("AVT_SHARED_DATA", "")
obj, raw = os.path.join(SHARED, "kitti", "object"), os.path.join(SHARED, "kitti", "raw", "2011_09_26_calib")
if os.path.isdir(obj) and os.path.isdir(raw):
    run("import", "kitti", obj, os.path.join(d, "k"))
    klog = os.path.join(d, "k", "000000")
    a, b = os.path.join(d, "kobj_ref.h5"), os.path.join(d, "kobj.h5")
    run("build", klog, "-o", a)
    run("build", klog, "-o", b, "--calib", os.path.join(obj, "calib", "000000.txt"))
    same_boxes(boxes(a, "image_2"), boxes(b, "image_2"), "--calib kitti-object")

    def kv(path):
        out = {}
        for line in open(path):
            k, _, v = line.partition(":")
            try:
                out[k] = np.array([float(x) for x in v.split()])
            except ValueError:
                pass
        return out
    cc, vc = kv(os.path.join(raw, "calib_cam_to_cam.txt")), kv(os.path.join(raw, "calib_velo_to_cam.txt"))
    P = cc["P_rect_02"].reshape(3, 4)
    Kr = P[:, :3]
    R0 = np.eye(4)
    R0[:3, :3] = cc["R_rect_00"].reshape(3, 3)
    Tv = np.eye(4)
    Tv[:3, :3], Tv[:3, 3] = vc["R"].reshape(3, 3), vc["T"]
    Tt = np.eye(4)
    Tt[:3, 3] = np.linalg.solve(Kr, P[:, 3])
    lidar_T_cam = np.linalg.inv(Tt @ R0 @ Tv)
    w, h = (int(x) for x in cc["S_rect_02"])
    rlog = os.path.join(d, "rawlog")
    shutil.copytree(klog, rlog)
    os.rename(os.path.join(rlog, "cameras", "image_2"), os.path.join(rlog, "cameras", "image_02"))
    # the reference calib.yaml: image_02 of the raw calibration as computed above
    lt = re.search(r"lidar_T_ego: \[.*\]", open(os.path.join(klog, "calib.yaml")).read()).group(0)
    open(os.path.join(rlog, "calib.yaml"), "w").write(
        f"version: 1\nlidar:\n  model: hdl64e\n  {lt}\ncameras:\n  - name: image_02\n    model: pinhole\n"
        f"    width: {w}\n    height: {h}\n    K: [{fmt(Kr.flatten())}]\n    distortion_model: none\n"
        f"    distortion: []\n    lidar_T_cam: [{fmt(lidar_T_cam.flatten())}]\n")
    # frame 000000's images are 1224 x 370, the raw camera's 1242 x 375: resized to it
    import cv2  # noqa: E402
    for fn in os.listdir(os.path.join(rlog, "cameras", "image_02")):
        q = os.path.join(rlog, "cameras", "image_02", fn)
        cv2.imwrite(q, cv2.resize(cv2.imread(q), (w, h)))
    a, b = os.path.join(d, "kraw_ref.h5"), os.path.join(d, "kraw.h5")
    run("build", rlog, "-o", a)
    run("build", rlog, "-o", b, "--calib", raw)
    same_boxes(boxes(a, "image_02"), boxes(b, "image_02"), "--calib kitti-raw directory")
    run("build", rlog, "-o", os.path.join(d, "kraw2.h5"), "--calib", os.path.join(raw, "calib_cam_to_cam.txt"),
        "--calib-format", "kitti-raw")
    same_boxes(boxes(a, "image_02"), boxes(os.path.join(d, "kraw2.h5"), "image_02"), "--calib calib_cam_to_cam.txt")
else:
    print(f"KITTI part skipped: {obj} or {raw} absent")
c.finish()
