"""agree, consensus and eval on synthetic annotators made here (truth + planted centre noise,
class confusions and misses), checked against the planted rates, against independent numpy
computations (Cohen's and Fleiss' kappa, ICC(2,1), Monte Carlo IoU of rotated boxes) and
against hand-computed AP values; the KITTI frames evaluated against themselves give AP 1."""
import json
import math
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(__file__))
from common import Checker, need, run, tmpdir  # noqa: E402

np = need("numpy")
CLASSES = ["car", "pedestrian", "cyclist", "truck"]
SIZES = {"car": (4.5, 1.9, 1.6), "pedestrian": (0.8, 0.8, 1.8), "cyclist": (1.8, 0.7, 1.7), "truck": (8.0, 2.6, 3.2)}
T0 = 1700000000000000000


def make_truth(rng, frames, per_frame, classes=None):
    """frames x per_frame boxes on a 12 m grid (never confused with a neighbour)."""
    out = []
    for f in range(frames):
        boxes = []
        for i in range(per_frame):
            c = classes(f, i) if classes else CLASSES[rng.integers(0, 4)]
            attrs = [["vehicle.moving", "vehicle.parked"][rng.integers(0, 2)]] if c == "car" else []
            boxes.append({"track_id": f * 1000 + i, "class": c, "attributes": attrs,
                          "center": [12.0 * (i % 10) + rng.uniform(-1, 1), 12.0 * (i // 10) + rng.uniform(-1, 1), 0.8],
                          "size": list(SIZES[c]), "yaw": float(rng.uniform(-math.pi, math.pi))})
        out.append(boxes)
    return out


def annotate(rng, truth, sigma, p_conf, p_miss, yaw_sigma=0.0, p_attr=0.0):
    """One annotator: per truth box (index kept in 'truth_index') missed with p_miss, class
    changed with p_conf to another class (attributes then dropped), centre moved by N(0, sigma)
    per axis, a car's moving/parked swapped with p_attr."""
    out = []
    for boxes in truth:
        mine = []
        for k, b in enumerate(boxes):
            if rng.random() < p_miss:
                continue
            c, attrs = b["class"], b["attributes"]
            if rng.random() < p_conf:
                c, attrs = [x for x in CLASSES if x != c][rng.integers(0, 3)], []
            if attrs and rng.random() < p_attr:
                attrs = [{"vehicle.moving": "vehicle.parked", "vehicle.parked": "vehicle.moving"}[attrs[0]]]
            mine.append({**b, "class": c, "attributes": attrs, "truth_index": k,
                         "center": [v + rng.normal(0, sigma) for v in b["center"]],
                         "yaw": b["yaw"] + rng.normal(0, yaw_sigma)})
        out.append(mine)
    return out


def write(frames, d):
    os.makedirs(d, exist_ok=True)
    for f, boxes in enumerate(frames):
        with open(os.path.join(d, f"{T0 + f * 100000000}.json"), "w") as fh:
            json.dump({"timestamp_ns": T0 + f * 100000000, "frame": "lidar",
                       "boxes": [{k: v for k, v in b.items() if k != "truth_index"} for b in boxes]}, fh)
    return d


# ---- independent references ----

def cohen(a, b, k):
    t = np.zeros((k, k))
    np.add.at(t, (a, b), 1)
    n = t.sum()
    po = np.trace(t) / n
    pe = (t.sum(1) / n) @ (t.sum(0) / n)
    return (po - pe) / (1 - pe)


def fleiss(counts):
    counts = np.asarray(counts, float)
    r = counts[0].sum()
    p_i = ((counts ** 2).sum(1) - r) / (r * (r - 1))
    p_j = counts.sum(0) / counts.sum()
    return (p_i.mean() - (p_j ** 2).sum()) / (1 - (p_j ** 2).sum())


def icc21(x):
    x = np.asarray(x, float)
    n, k = x.shape
    gm = x.mean()
    msr = k * ((x.mean(1) - gm) ** 2).sum() / (n - 1)
    msc = n * ((x.mean(0) - gm) ** 2).sum() / (k - 1)
    mse = ((x - x.mean(1, keepdims=True) - x.mean(0, keepdims=True) + gm) ** 2).sum() / ((n - 1) * (k - 1))
    return (msr - mse) / (msr + (k - 1) * mse + k * (msc - mse) / n)


def iou3d_mc(a, b, rng, n=200000):
    """3D IoU by sampling a's footprint uniformly and testing the points against b."""
    l, w, h = a["size"]
    u = rng.uniform(-0.5, 0.5, (n, 2)) * [l, w]
    ca, sa = math.cos(a["yaw"]), math.sin(a["yaw"])
    p = np.stack([a["center"][0] + ca * u[:, 0] - sa * u[:, 1], a["center"][1] + sa * u[:, 0] + ca * u[:, 1]], 1)
    cb, sb = math.cos(b["yaw"]), math.sin(b["yaw"])
    d = p - b["center"][:2]
    lx, ly = cb * d[:, 0] + sb * d[:, 1], -sb * d[:, 0] + cb * d[:, 1]
    inside = (abs(lx) <= b["size"][0] / 2) & (abs(ly) <= b["size"][1] / 2)
    za, zb = a["center"][2], b["center"][2]
    dz = max(0.0, min(za + h / 2, zb + b["size"][2] / 2) - max(za - h / 2, zb - b["size"][2] / 2))
    inter = inside.mean() * l * w * dz
    return inter / (l * w * h + np.prod(b["size"]) - inter)


LEVELS = ("easy", "moderate", "hard")


def devkit_counts(src, log):
    """GT boxes per class and level as KITTI's evaluate_object.cpp counts them, straight from
    the frame's label_2 text (independent of the import and of eval): box height (bottom - top)
    >= 40 / 25 / 25 px, occluded <= 0 / 1 / 2, truncated <= 0.15 / 0.3 / 0.5."""
    frame = os.path.basename(log.rstrip("/"))
    out = {}
    for line in open(os.path.join(src, "label_2", frame + ".txt")):
        f = line.split()
        if not f or f[0] == "DontCare":
            continue
        trunc, occ, height = float(f[1]), int(f[2]), float(f[7]) - float(f[5])
        lv = out.setdefault(f[0], dict.fromkeys(LEVELS, 0))
        for lvl, (h, o, t) in zip(LEVELS, ((40, 0, 0.15), (25, 1, 0.3), (25, 2, 0.5))):
            lv[lvl] += height >= h and occ <= o and trunc <= t
    return out


def dontcare_check(c, tmp, src, dst):
    """Frame 000001 has DontCare regions: a high-scored extra cyclist whose image box lies
    (about 65 %, above the 0.5 threshold) inside the first region is no false positive (AP 1);
    the same box elsewhere in the image is one, ranked first: precision 1/2 at recall 1."""
    log = os.path.join(dst, "000001")
    lab = os.path.join(log, "labels")
    if not os.path.isdir(lab):
        return
    cal = {}
    for line in open(os.path.join(src, "calib", "000001.txt")):
        if ":" in line:
            k, v = line.split(":", 1)
            cal[k] = np.array([float(x) for x in v.split()])
    P2 = cal["P2"].reshape(3, 4)
    R0 = np.eye(4)
    R0[:3, :3] = cal["R0_rect"].reshape(3, 3)
    Tr = np.eye(4)
    Tr[:3] = cal["Tr_velo_to_cam"].reshape(3, 4)
    velo_T_rect = np.linalg.inv(R0 @ Tr)
    name = os.listdir(lab)[0]
    frame = json.load(open(os.path.join(lab, name)))
    # KITTI marks the frame's cyclist occluded 3 (unknown), which the devkit leaves out of every
    # difficulty level (and so do we: the import keeps "occluded"); as 0 it is evaluated
    cyc = [b for b in frame["boxes"] if b["class"] == "Cyclist"]
    c.check(len(cyc) == 1 and cyc[0].get("occluded") == 3, f"KITTI 000001's cyclist imported with occluded 3: {cyc}")
    gt = os.path.join(tmp, "gt000001")
    shutil.copytree(log, gt)
    frame["boxes"] = [{**b, "occluded": 0} if b["class"] == "Cyclist" else b for b in frame["boxes"]]
    json.dump(frame, open(os.path.join(gt, "labels", name), "w"))
    p = os.path.join(tmp, "dc.json")
    run("eval", "--gt", log, "--pred", lab, "--json", p)
    c.check(json.load(open(p))["kitti"]["Cyclist"]["n_gt"] == 0, "the cyclist of occlusion 3 is left out (n_gt 0)")
    log = gt
    region = frame["ignore_regions"][0]["xyxy"]
    results = []
    for u in ((region[0] + region[2]) / 2, 300.0):
        z, v = 40.0, (region[1] + region[3]) / 2
        x = ((u - P2[0, 2]) * z - P2[0, 3]) / P2[0, 0]
        y = ((v - P2[1, 2]) * z - P2[1, 3]) / P2[1, 1]
        centre = (velo_T_rect @ [x, y, z, 1])[:3]
        boxes = [{**b, "score": 0.5} for b in frame["boxes"]]
        boxes.append({"track_id": 99, "class": "Cyclist", "center": list(centre), "size": [1.8, 0.6, 1.7], "yaw": 0.0,
                      "attributes": [], "score": 0.99})
        d = f"{tmp}/dc{len(results)}"
        os.makedirs(d)
        json.dump({**frame, "boxes": boxes}, open(os.path.join(d, name), "w"))
        p = os.path.join(tmp, "dc.json")
        run("eval", "--gt", log, "--pred", d, "--json", p)
        results.append(json.load(open(p))["kitti"]["Cyclist"]["ap3d_r40"])
    c.check(results == [1, 0.5], f"DontCare: extra cyclist inside the region AP {results[0]}, outside {results[1]}")


def main():
    c = Checker()
    rng = np.random.default_rng(15)
    tmp = tmpdir()
    K = 5  # categories: absent + 4 classes
    cid = {n: i + 1 for i, n in enumerate(CLASSES)}

    # 1. two annotators: A = truth, B with planted confusion 0.1, misses 0.1, centre noise 5 cm
    truth = make_truth(rng, 60, 25)
    a = annotate(rng, truth, 0.0, 0.0, 0.0)
    b = annotate(rng, truth, 0.05, 0.1, 0.1, p_attr=0.2)
    rep_path = os.path.join(tmp, "ab.json")
    run("agree", write(a, f"{tmp}/a"), write(b, f"{tmp}/b"), "--json", rep_path, "--max-disputes", "0")
    r = json.load(open(rep_path))
    n = sum(len(f) for f in truth)
    bi = [{x["truth_index"]: x for x in fb} for fb in b]
    ca = [cid[t["class"]] for f in truth for t in f]
    cb = [cid[bi[f][k]["class"]] if k in bi[f] else 0 for f in range(len(truth)) for k in range(len(truth[f]))]
    miss = r["annotators"][1]["miss_rate"]
    sd = math.sqrt(0.1 * 0.9 / n)
    c.check(abs(miss - 0.1) < 4 * sd, f"B's miss rate {miss} vs planted 0.1 (4 sd {4 * sd:.3f})")
    both = [(x, y) for x, y in zip(ca, cb) if y]
    conf = sum(x != y for x, y in both) / len(both)
    c.check(abs(r["class_disagreement"] - conf) < 1e-9, f"class disagreement {r['class_disagreement']} vs {conf}")
    c.check(abs(conf - 0.1) < 4 * math.sqrt(0.09 / len(both)), f"planted confusion 0.1, sample {conf}")
    k_np = cohen(np.array(ca), np.array(cb), K)
    c.check(abs(r["class_kappa"] - k_np) < 1e-9 and r["class_kappa_method"] == "cohen",
            f"Cohen's kappa {r['class_kappa']} vs numpy {k_np}")
    # the population kappa of the planted process (truth class shares pi)
    pi = np.bincount(ca, minlength=K)[1:] / n
    t = np.zeros((K, K))
    for i in range(4):
        t[i + 1, 0] = pi[i] * 0.1
        t[i + 1, i + 1] = pi[i] * 0.9 * 0.9
        for j in range(4):
            if j != i:
                t[i + 1, j + 1] = pi[i] * 0.9 * 0.1 / 3
    po, pe = np.trace(t), t.sum(1) @ t.sum(0)
    k_pop = (po - pe) / (1 - pe)
    c.check(abs(r["class_kappa"] - k_pop) < 0.05, f"kappa {r['class_kappa']} vs planted {k_pop:.3f}")
    # attribute kappa (vehicle.moving set or not) over the objects both drew: numpy
    both_attr = [("vehicle.moving" in tb["attributes"], "vehicle.moving" in bi[f][k]["attributes"])
                 for f in range(len(truth)) for k, tb in enumerate(truth[f]) if k in bi[f]]
    k_attr = cohen(np.array([x for x, _ in both_attr], int), np.array([y for _, y in both_attr], int), 2)
    got = r["attribute_kappa"].get("vehicle.moving")
    c.check(got is not None and abs(got - k_attr) < 1e-9, f"attribute kappa {got} vs numpy {k_attr}")
    # ICC(2,1) of the lengths of boxes both drew: numpy on the planted correspondences
    pairs = [(tb["size"][0], bi[f][k]["size"][0]) for f in range(len(truth)) for k, tb in enumerate(truth[f])
             if k in bi[f]]
    # sizes are the class priors, so a confused box keeps its true size: ICC 1 exactly
    c.check(abs(r["icc"]["length"] - icc21(pairs)) < 1e-9, f"ICC length {r['icc']['length']} vs {icc21(pairs)}")

    # 2. mean IoU against Monte Carlo: cars with 0.3 m centre and 0.15 rad yaw noise
    truth2 = make_truth(rng, 10, 10, classes=lambda f, i: "car")
    a2 = annotate(rng, truth2, 0.0, 0.0, 0.0)
    b2 = annotate(rng, truth2, 0.3, 0.0, 0.0, yaw_sigma=0.15)
    rep_path = os.path.join(tmp, "iou.json")
    run("agree", write(a2, f"{tmp}/a2"), write(b2, f"{tmp}/b2"), "--json", rep_path)
    r = json.load(open(rep_path))
    mc = np.mean([iou3d_mc(x, y, rng) for fa, fb in zip(a2, b2) for x, y in zip(fa, fb)])
    got = r["per_class"]["car"]["mean_iou"]
    c.check(abs(got - mc) < 0.003, f"mean 3D IoU {got} vs Monte Carlo {mc}")
    icc_np = icc21([[x["yaw"], x["yaw"] + math.remainder(y["yaw"] - x["yaw"], 2 * math.pi)]
                    for fa, fb in zip(a2, b2) for x, y in zip(fa, fb)])
    c.check(abs(r["icc"]["yaw"] - icc_np) < 1e-9, f"ICC yaw {r['icc']['yaw']} vs numpy {icc_np}")

    # 3. three annotators: Fleiss' kappa, then the consensus
    anns = [annotate(rng, truth, 0.15, 0.15, 0.1) for _ in range(3)]
    dirs = [write(x, f"{tmp}/m{i}") for i, x in enumerate(anns)]
    rep_path = os.path.join(tmp, "abc.json")
    # pedestrians 0.8 m wide with 0.15 m noise may overlap by less than the default BEV IoU
    # 0.25; matched by centre distance (boxes 12 m apart) the planted correspondences hold
    run("agree", *dirs, "--json", rep_path, "--match", "distance", "--match-threshold", "2")
    r = json.load(open(rep_path))
    idx = [[{x["truth_index"]: x for x in fa} for fa in ann] for ann in anns]
    counts = []
    for f in range(len(truth)):
        for k in range(len(truth[f])):
            row = [0] * K
            for j in range(3):
                row[cid[idx[j][f][k]["class"]] if k in idx[j][f] else 0] += 1
            if row[0] < 3:
                counts.append(row)
    k_np = fleiss(counts)
    c.check(abs(r["class_kappa"] - k_np) < 1e-9 and r["class_kappa_method"] == "fleiss",
            f"Fleiss' kappa {r['class_kappa']} vs numpy {k_np}")
    out = f"{tmp}/consensus"
    run("consensus", *dirs, "-o", out, "--match", "distance", "--match-threshold", "2")
    cons = [json.load(open(os.path.join(out, f"{T0 + f * 100000000}.json")))["boxes"] for f in range(len(truth))]

    def score(frames):
        """mean centre error and class accuracy over truth boxes (nearest box within 2 m)."""
        errs, right = [], 0
        for f, tb in enumerate(truth):
            cs = np.array([x["center"] for x in frames[f]]) if frames[f] else np.zeros((0, 3))
            for t in tb:
                if not len(cs):
                    continue
                d = np.linalg.norm(cs - t["center"], axis=1)
                j = int(d.argmin())
                if d[j] < 2:
                    errs.append(d[j])
                    right += frames[f][j]["class"] == t["class"]
        return float(np.mean(errs)), right / n

    e_c, acc_c = score(cons)
    for j, ann in enumerate(anns):
        e_j, acc_j = score(ann)
        c.check(e_c < e_j and acc_c > acc_j,
                f"consensus (centre {e_c:.3f} m, class {acc_c:.3f}) vs annotator {j} ({e_j:.3f}, {acc_j:.3f})")
    # the consensus files are valid label files (the strict reader of agree accepts them)
    c.check(run("agree", out, f"{tmp}/a", check=False).returncode == 0, "consensus files read back")
    flags = [x for f in cons for x in f]
    c.check(len(flags) == len(counts) and all("confidence" in x and "disputed" in x for x in flags),
            f"every object drawn by someone kept and flagged: {len(flags)} vs {len(counts)}")

    # 4. eval: cars and pedestrians, 100 each; predictions made from the truth
    truth4 = make_truth(rng, 20, 10, classes=lambda f, i: "car" if i % 2 == 0 else "pedestrian")
    gt = write(truth4, f"{tmp}/gt")
    k = 0

    def preds(shift=0.0, drop=False, extra=False):
        nonlocal k
        out, seen = [], {"car": 0, "pedestrian": 0}
        for f, boxes in enumerate(truth4):
            mine = []
            for i, b in enumerate(boxes):
                seen[b["class"]] += 1
                if drop and seen[b["class"]] % 5 == 0:
                    continue
                mine.append({**b, "center": [b["center"][0] + shift] + b["center"][1:],
                             "score": 0.5 + 0.4 * ((f * 10 + i) * 37 % 200) / 200})
            if extra:
                mine += [{**b, "center": [b["center"][0], b["center"][1] + 200, 0.8], "score": 0.01 + 0.001 * i}
                         for i, b in enumerate(boxes)]
            out.append(mine)
        k += 1
        return write(out, f"{tmp}/pred{k}")

    def ev(pred, *extra):
        p = os.path.join(tmp, "eval.json")
        run("eval", "--gt", gt, "--pred", pred, "--json", p, *extra)
        return json.load(open(p))

    r = ev(preds())
    for cls in ("car", "pedestrian"):
        for lvl in ("easy", "moderate", "hard"):
            for key in ("ap3d_r40", "apbev_r40", "ap3d_r11", "apbev_r11"):
                c.check(r["kitti"][cls][lvl][key] == 1, f"perfect: {cls} {lvl} {key} {r['kitti'][cls][lvl][key]}")
        c.check(all(v == 1 for v in r["nuscenes"][cls]["ap"].values()), f"perfect nuScenes {cls}")
    c.check(r["nuscenes"]["mAP"] == 1, "perfect mAP")
    # every 5th box missed: recall 0.8 at precision 1 -> R40 32/40, R11 9/11
    r = ev(preds(drop=True))
    for cls in ("car", "pedestrian"):
        c.check(abs(r["kitti"][cls]["ap3d_r40"] - 0.8) < 1e-9, f"drop: {cls} R40 {r['kitti'][cls]['ap3d_r40']}")
        c.check(abs(r["kitti"][cls]["ap3d_r11"] - 9 / 11) < 1e-9, f"drop: {cls} R11 {r['kitti'][cls]['ap3d_r11']}")
    r2 = ev(preds(drop=True, extra=True))
    c.check(r2["kitti"] == r["kitti"], "extra boxes scored below every true positive change no KITTI AP")
    # 1 m shift: a 4.5 m car keeps at most 3.5/5.5 = 0.64 < 0.7 of its volume, a 0.8 m pedestrian none
    r = ev(preds(shift=1.0))
    for cls in ("car", "pedestrian"):
        c.check(r["kitti"][cls]["ap3d_r40"] == 0, f"shift: {cls} 3D AP {r['kitti'][cls]['ap3d_r40']}")
        ap = r["nuscenes"][cls]["ap"]
        c.check(ap["0.5"] == 0 and ap["1"] == 0 and ap["2"] == 1 and ap["4"] == 1, f"shift: {cls} nuScenes {ap}")
        c.check(abs(r["nuscenes"][cls]["ate"] - 1) < 1e-9, f"shift: ATE {r['nuscenes'][cls]['ate']}")

    # thresholds from the shipped default schema (car 0.7), one overridden
    r = ev(preds(), "--schema", "default", "--iou-threshold", "pedestrian=0.3")
    th = (r["kitti"]["car"]["iou_threshold"], r["kitti"]["pedestrian"]["iou_threshold"])
    c.check(th == (0.7, 0.3), f"thresholds from schema and option: {th}")

    # 5. an output file as the truth: difficulty from its 2D boxes; itself as the predictions
    # gives AP 1 everywhere, 2D included; its log's labels give AP 1 in 3D
    log, h5 = f"{tmp}/slog", f"{tmp}/slog.h5"
    run("synth", log, "--seed", 21, "--seconds", 1.0, "--cameras", 2, "--width", 320, "--height", 200)
    run("build", log, "-o", h5)
    for pred, cal in ((h5, []), (os.path.join(log, "labels"), ["--calib", os.path.join(log, "calib.yaml")])):
        p = os.path.join(tmp, "h5.json")
        run("eval", "--gt", h5, "--pred", pred, "--json", p, *cal)
        r = json.load(open(p))
        vals = [v for cls in r["kitti"].values() for lvl in ("easy", "moderate", "hard")
                for key, v in cls[lvl].items() if key.startswith("ap") and v is not None]
        c.check(vals and all(v == 1 for v in vals) and r["nuscenes"]["mAP"] == 1, f"{pred}: 3D AP {vals}")
        c.check(r["difficulty_from"] == "the output file's 2D boxes", r["difficulty_from"])
        c.check(sorted(r["coco2d"]) == ["front", "front_left"], f"coco2d cameras {sorted(r['coco2d'])}")
        if pred == h5:
            c.check(all(v["ap50"] == 1 and v["ap"] == 1 for v in r["coco2d"].values()), f"2D AP {r['coco2d']}")

    # 6. bad inputs: exit 1 naming the file and the field; usage errors exit 2
    bad = f"{tmp}/bad"
    os.makedirs(bad)
    with open(f"{bad}/{T0}.json", "w") as fh:
        json.dump({"timestamp_ns": T0, "boxes": [{**truth4[0][0], "score": "high"}]}, fh)
    p = run("eval", "--gt", gt, "--pred", bad, check=False)
    c.check(p.returncode == 1 and f"{T0}.json" in p.stderr and "score" in p.stderr, f"bad score: {p.stderr}")
    p = run("agree", gt, f"{tmp}/nonexistent", check=False)
    c.check(p.returncode == 1 and "nonexistent" in p.stderr, f"missing set: {p.stderr}")
    p = run("agree", gt, check=False)
    c.check(p.returncode == 2, f"one set: exit {p.returncode}")
    p = run("eval", "--gt", gt, "--pred", gt, "--iou-threshold", "car=x", check=False)
    c.check(p.returncode == 2 and "car=x" in p.stderr, f"bad threshold: {p.stderr}")

    # 7. the KITTI frames against themselves
    data = os.environ.get("AVT_SHARED_DATA", "")
    src = os.path.join(data, "kitti", "object")
    if os.path.isdir(src):
        dst = f"{tmp}/kitti"
        run("import", "kitti", src, dst)
        logs = [os.path.join(dst, d) for d in sorted(os.listdir(dst))] if not os.path.isdir(f"{dst}/labels") else [dst]
        for log in logs:
            p = os.path.join(tmp, "k.json")
            run("eval", "--gt", log, "--pred", os.path.join(log, "labels"), "--json", p)
            r = json.load(open(p))
            vals = [v for cls in r["kitti"].values() for lvl in ("easy", "moderate", "hard")
                    for key, v in cls[lvl].items() if key.startswith("ap") and v is not None]
            c.check(vals and all(v == 1 for v in vals), f"KITTI {log} against itself: {vals}")
            c.check(r["nuscenes"]["mAP"] == 1, f"KITTI {log} nuScenes mAP {r['nuscenes']['mAP']}")
            c.check(r["kitti"] and all(r["kitti"][k][lvl]["n_gt"] == n for k, lv in devkit_counts(src, log).items()
                                       for lvl, n in lv.items() if k in r["kitti"]),
                    f"KITTI {log}: GT per difficulty level as the devkit counts them from label_2: "
                    f"{devkit_counts(src, log)} vs {({k: {l: v[l]['n_gt'] for l in LEVELS} for k, v in r['kitti'].items()})}")
        dontcare_check(c, tmp, src, dst)
    else:
        print(f"note: {src} absent, KITTI self-evaluation skipped")
    c.finish()


main()
