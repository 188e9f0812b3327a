"""End-to-end on real data: the KITTI object frames in ../shared/data/kitti/object, imported,
checked with `avtruth calib-check`: the shipped calibration passes (exit 0); with its
lidar_T_cam perturbed by 0.5 deg of yaw (E composed here with numpy) each frame is flagged
(exit 1) and its yaw estimated within 0.2 deg, and the overlays before and after the estimated
correction are written. The edge
score of the corrected calibration is recomputed here independently (numpy/OpenCV: edge map
by dilation/erosion, inverse distance transform by repeated decayed dilation, discontinuities
per scan line of the .bin, cv2.projectPoints) and must beat the perturbed one's."""
import glob
import json
import math
import os
import re
import sys

sys.path.insert(0, os.path.dirname(__file__))
from common import Checker, need, run, skip, tmpdir  # noqa: E402

np, cv2 = need('numpy', 'cv2')
SHARED = os.environ.get("AVT_SHARED_DATA", "")
src = os.path.join(SHARED, "kitti", "object")
if not os.path.isdir(src):
    skip(f"{src} is absent (../shared/data not beside the project)")

c = Checker()
d = tmpdir()
run("import", "kitti", src, os.path.join(d, "logs"))
logs = sorted(os.path.dirname(p) for p in glob.glob(os.path.join(d, "logs", "*", "calib.yaml")))
c.check(len(logs) == 2, f"two logs, got {logs}")


def err_tf(roll, pitch, yaw, x, y, z):
    """E = Trans(x, y, z) Rz(yaw) Ry(pitch) Rx(roll), angles in degrees."""
    r, p, w = (math.radians(v) for v in (roll, pitch, yaw))
    Rx = np.array([[1, 0, 0], [0, math.cos(r), -math.sin(r)], [0, math.sin(r), math.cos(r)]])
    Ry = np.array([[math.cos(p), 0, math.sin(p)], [0, 1, 0], [-math.sin(p), 0, math.cos(p)]])
    Rz = np.array([[math.cos(w), -math.sin(w), 0], [math.sin(w), math.cos(w), 0], [0, 0, 1]])
    E = np.eye(4)
    E[:3, :3] = Rz @ Ry @ Rx
    E[:3, 3] = (x, y, z)
    return E


def independent_score(image, cloud, K, lidar_T_cam):
    grey = cv2.cvtColor(cv2.imread(image), cv2.COLOR_BGR2GRAY).astype(np.float32)
    k3 = np.ones((3, 3), np.uint8)
    E = np.maximum(cv2.dilate(grey, k3) - grey, grey - cv2.erode(grey, k3)) / 255.0
    S = E.copy()
    for _ in range(400):
        S2 = np.maximum(E, 0.98 * cv2.dilate(S, k3))
        if np.array_equal(S2, S):
            break
        S = S2
    D = E / 3 + 2 * S / 3
    pts = np.fromfile(cloud, dtype=np.float32).reshape(-1, 4)[:, :3].astype(np.float64)
    az = np.degrees(np.arctan2(pts[:, 1], pts[:, 0]))
    line = np.concatenate([[0], np.cumsum(np.abs(np.diff(az)) > 180)])
    r = np.linalg.norm(pts, axis=1)
    keep, weight = [], []
    for ln in np.unique(line):
        idx = np.where(line == ln)[0]
        for j in range(1, len(idx) - 1):
            a, i, b = idx[j - 1], idx[j], idx[j + 1]
            if abs(az[a] - az[i]) > 1.5 or abs(az[b] - az[i]) > 1.5:
                continue
            x = r[a] + r[b] - 2 * r[i]
            if x >= max(0.3, 0.05 * r[i]):
                keep.append(i)
                weight.append(math.sqrt(min(x, 10.0)))
    P = pts[keep]
    cam_T_lidar = np.linalg.inv(lidar_T_cam)
    Pc = P @ cam_T_lidar[:3, :3].T + cam_T_lidar[:3, 3]
    front = Pc[:, 2] > 0.5
    uv, _ = cv2.projectPoints(Pc[front], np.zeros(3), np.zeros(3), K, None)
    uv = np.rint(uv[:, 0]).astype(int)
    w = np.array(weight)[front]
    h, wd = D.shape
    ok = (uv[:, 0] >= 0) & (uv[:, 0] < wd) & (uv[:, 1] >= 0) & (uv[:, 1] < h)
    return float((w[ok] * D[uv[ok, 1], uv[ok, 0]]).sum())


for log in logs:
    fid = os.path.basename(log)
    p = run("calib-check", log, "--window", "0", check=False)
    c.check(p.returncode == 0, f"{fid}: the shipped calibration passes (exit {p.returncode}): {p.stdout[-300:]}")
    text = open(os.path.join(log, "calib.yaml")).read()
    m = re.search(r"lidar_T_cam: \[(.*)\]", text)
    T = np.array([float(v) for v in m.group(1).split(",")]).reshape(4, 4)
    Kc = np.array([float(v) for v in re.search(r"K: \[(.*)\]", text).group(1).split(",")]).reshape(3, 3)
    bad = err_tf(0, 0, 0.5, 0, 0, 0) @ T
    pert = os.path.join(d, f"{fid}_perturbed.yaml")
    open(pert, "w").write(text.replace(m.group(0), "lidar_T_cam: [" + ", ".join(repr(v) for v in bad.flatten()) + "]"))
    ov, rep = os.path.join(d, f"{fid}_ov"), os.path.join(d, f"{fid}.json")
    p = run("calib-check", log, "--calib", pert, "--window", "0", "-o", ov, "--json", rep, check=False)
    r = json.load(open(rep))
    cam = r["cameras"][0]
    e = cam["error"]
    print(f"{fid}: 0.5 deg yaw planted: {cam['status']}, estimate yaw {e['yaw_deg']:+.3f} pitch {e['pitch_deg']:+.3f} "
          f"roll {e['roll_deg']:+.3f} deg, x {e['x_m']:+.3f} y {e['y_m']:+.3f} z {e['z_m']:+.3f} m")
    c.check(p.returncode == 1 and cam["status"] == "miscalibrated", f"{fid}: 0.5 deg yaw flagged ({cam['status']})")
    c.check(abs(e["yaw_deg"] - 0.5) <= 0.2, f"{fid}: yaw estimate {e['yaw_deg']:.3f} within 0.2 deg of 0.5")
    c.check(len(cam["overlays"]) == 1, f"{fid}: one overlay pair")
    for o in cam["overlays"]:
        for name in (o["stored"], o["corrected"]):
            im = cv2.imread(os.path.join(ov, name))
            src_im = cv2.imread(glob.glob(os.path.join(log, "cameras", "image_2", "*.png"))[0])
            c.check(im is not None and im.shape == src_im.shape, f"{fid}: overlay {name} readable, image-sized")
    corrected = np.linalg.inv(err_tf(e["roll_deg"], e["pitch_deg"], e["yaw_deg"], e["x_m"], e["y_m"], e["z_m"])) @ bad
    image = glob.glob(os.path.join(log, "cameras", "image_2", "*.png"))[0]
    cloud = glob.glob(os.path.join(log, "lidar", "*.bin"))[0]
    s_bad, s_fix = independent_score(image, cloud, Kc, bad), independent_score(image, cloud, Kc, corrected)
    print(f"{fid}: independent edge score perturbed {s_bad:.1f}, corrected {s_fix:.1f}")
    c.check(s_fix > s_bad, f"{fid}: the corrected calibration scores higher ({s_fix:.1f} vs {s_bad:.1f})")
c.finish()
