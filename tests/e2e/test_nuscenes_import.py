"""End-to-end: `avtruth import nuscenes`. A synthetic log's own labels (known truth) are written
as nuScenes tables in the global frame with numpy (poses interpolated here, sizes as [w, l, h],
rotations as quaternions, categories and attribute tokens, prev/next links, one animal outside
the detection classes), its labels/ removed, and the import must give them back in the LiDAR
frame: centre to 1 mm, yaw to 1e-6 rad, sizes, classes through the nuScenes schema's aliases,
velocity (the devkit's prev/next difference) to 1 mm/s. The result validates clean with the
schema the import leaves beside the log, and builds into /boxes3d/attributes bitmasks that
name the imported attributes through /meta/attribute_names."""
import glob
import json
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(__file__))
from common import Checker, need, run, tmpdir  # noqa: E402

h5py, np = need("h5py", "numpy")

c = Checker()
d = tmpdir()
log = os.path.join(d, "log")
run("synth", log, "--seconds", "1", "--cameras", "1", "--width", "320", "--height", "200")

poses = np.loadtxt(os.path.join(log, "poses.csv"), delimiter=",", skiprows=1)
pt = poses[:, 0].astype(np.int64)
calib = open(os.path.join(log, "calib.yaml")).read()
l_T_e = np.array([float(v) for v in calib.split("lidar_T_ego:")[1].split("[")[1].split("]")[0].split(",")]).reshape(4, 4)
e_T_l = np.linalg.inv(l_T_e)
c.check(np.allclose(poses[:, 5:7], 0), "synthetic poses turn about z only (yaw interpolation is slerp)")


def world_T_lidar(t):
    k = np.searchsorted(pt, t) - 1
    a = (t - pt[k]) / float(pt[k + 1] - pt[k])
    p = poses[k, 1:4] + a * (poses[k + 1, 1:4] - poses[k, 1:4])
    y0 = 2 * np.arctan2(poses[k, 7], poses[k, 4])
    y1 = 2 * np.arctan2(poses[k + 1, 7], poses[k + 1, 4])
    y = y0 + a * ((y1 - y0 + np.pi) % (2 * np.pi) - np.pi)
    W = np.eye(4)
    W[:2, :2] = [[np.cos(y), -np.sin(y)], [np.sin(y), np.cos(y)]]
    W[:3, 3] = p
    return W @ e_T_l


CATEGORY = {"car": "vehicle.car", "pedestrian": "human.pedestrian.adult", "cyclist": "vehicle.bicycle",
            "truck": "vehicle.truck", "animal": "animal"}
EXPECT = {"car": "car", "pedestrian": "pedestrian", "cyclist": "bicycle", "truck": "truck"}
ATTRS = ["vehicle.moving", "vehicle.parked", "cycle.with_rider", "pedestrian.moving"]

files = sorted(glob.glob(os.path.join(log, "labels", "*.json")))
truth = {}  # (t_us, track) -> box in the LiDAR frame
truth_attr = {}  # (t_us, track) -> attribute name or None
samples, anns, tracks = [], [], {}
for fi, path in enumerate(files):
    lab = json.load(open(path))
    us = lab["timestamp_ns"] // 1000
    samples.append({"token": f"s{fi}", "timestamp": int(us), "prev": "", "next": "", "scene_token": "x"})
    W = world_T_lidar(us * 1000)
    boxes = list(lab["boxes"])
    if fi == 0:  # an animal: a category outside the detection classes
        boxes.append(dict(boxes[0], track_id=999, **{"class": "animal"}))
    for b in boxes:
        tr = b["track_id"]
        if b["class"] != "animal":
            truth[(us, tr)] = b
        R = W[:3, :3] @ np.array([[np.cos(b["yaw"]), -np.sin(b["yaw"]), 0], [np.sin(b["yaw"]), np.cos(b["yaw"]), 0],
                                  [0, 0, 1]])
        th = np.arctan2(R[1, 0], R[0, 0])
        v = np.array(b.get("velocity") or [0, 0, 0])
        attr = {"car": "vehicle.moving" if np.linalg.norm(v) > 0.5 else "vehicle.parked", "truck": "vehicle.moving",
                "cyclist": "cycle.with_rider", "pedestrian": "pedestrian.moving"}.get(b["class"])
        tracks.setdefault(tr, (b["class"], []))[1].append(len(anns))
        anns.append({"token": f"a{len(anns)}", "sample_token": f"s{fi}", "instance_token": f"i{tr}",
                     "visibility_token": "4", "attribute_tokens": [f"at{ATTRS.index(attr)}"] if attr else [],
                     "translation": list(W[:3, :3] @ b["center"] + W[:3, 3]),
                     "size": [b["size"][1], b["size"][0], b["size"][2]],
                     "rotation": [np.cos(th / 2), 0.0, 0.0, np.sin(th / 2)], "prev": "", "next": "",
                     "num_lidar_pts": 1, "num_radar_pts": 0})
        if b["class"] != "animal":
            truth_attr[(us, tr)] = attr
order = sorted(tracks)
for tr in order:
    rows = tracks[tr][1]
    for a, b in zip(rows, rows[1:]):
        anns[a]["next"], anns[b]["prev"] = anns[b]["token"], anns[a]["token"]
instances = [{"token": f"i{tr}", "category_token": f"c{tracks[tr][0]}", "nbr_annotations": len(tracks[tr][1]),
              "first_annotation_token": anns[tracks[tr][1][0]]["token"],
              "last_annotation_token": anns[tracks[tr][1][-1]]["token"]} for tr in order]
tables = os.path.join(d, "tables")
os.makedirs(tables)
for name, rows in {"sample": samples, "sample_annotation": anns, "instance": instances,
                   "category": [{"token": f"c{k}", "name": v, "description": ""} for k, v in CATEGORY.items()],
                   "attribute": [{"token": f"at{i}", "name": a, "description": ""} for i, a in enumerate(ATTRS)]}.items():
    json.dump(rows, open(os.path.join(tables, name + ".json"), "w"))
shutil.rmtree(os.path.join(log, "labels"))

p = run("import", "nuscenes", tables, log)
c.check(f"{len(samples)} samples, {len(truth)} boxes" in p.stdout and "1 annotations" in p.stdout,
        f"import summary: {p.stdout.strip()}")
worst = np.zeros(4)
for fi, s in enumerate(samples):
    path = os.path.join(log, "labels", f"{s['timestamp'] * 1000}.json")
    lab = json.load(open(path))
    got = {order[b["track_id"]]: b for b in lab["boxes"]}
    want = {tr for (us, tr) in truth if us == s["timestamp"]}
    c.check(set(got) == want, f"sample {fi}: tracks {sorted(got)} vs {sorted(want)}")
    for tr in want & set(got):
        t, g = truth[(s["timestamp"], tr)], got[tr]
        worst[0] = max(worst[0], np.max(np.abs(np.subtract(g["center"], t["center"]))))
        worst[1] = max(worst[1], abs((g["yaw"] - t["yaw"] + np.pi) % (2 * np.pi) - np.pi))
        worst[2] = max(worst[2], np.max(np.abs(np.subtract(g["size"], t["size"]))))
        if t.get("velocity") is not None and g["velocity"] is not None:
            worst[3] = max(worst[3], np.max(np.abs(np.subtract(g["velocity"], t["velocity"]))))
        c.check(g["class"] == EXPECT[t["class"]], f"class {t['class']} -> {g['class']}")
        a = truth_attr[(s["timestamp"], tr)]
        c.check(g["attributes"] == ([a] if a else []), f"attributes {g['attributes']} vs {a}")
print("worst errors: centre, yaw, size, velocity", worst)
c.check(worst[0] < 1e-3 and worst[1] < 1e-6 and worst[2] < 1e-9 and worst[3] < 1e-3,
        f"centre, yaw, size, velocity worst errors {worst}")
c.check(os.path.exists(os.path.join(log, "schema.yaml")), "the nuscenes schema is left beside the log")

p = run("validate", log, check=False)
c.check(p.returncode == 0 and "schema nuscenes" in p.stdout and "0 errors, 0 warnings" in p.stdout,
        f"imported labels validate clean: {p.stdout.strip()[-200:]}")
out = os.path.join(d, "ns.h5")
run("build", log, "-o", out)
track_attr = {}
for (us, tr), v in truth_attr.items():
    track_attr.setdefault(tr, set()).add(v)
c.check(all(len(v) == 1 for v in track_attr.values()), "one attribute per synthetic track")
with h5py.File(out, "r") as f:
    names = list(f["meta/attribute_names"].asstr()[:])
    cls = list(f["meta/class_names"].asstr()[:])
    bits = f["boxes3d/attributes"][:]
    rows = f["boxes3d/track_id"][:]
    cids = f["boxes3d/class_id"][:]
bad = [(order[tr], m) for tr, m in zip(rows, bits)
       if [names[k] for k in range(32) if m >> k & 1] != sorted(track_attr[order[tr]])]
c.check(len(rows) > 0 and not bad, f"/boxes3d/attributes name each box's attribute ({len(rows)} boxes, wrong: {bad[:3]})")
c.check(set(cls[i] for i in cids) <= set(EXPECT.values()), "/boxes3d classes are nuScenes detection classes")
shutil.rmtree(d)
c.finish()
