"""Benchmark of eval and agree (issue 15): 1,000 sweeps x 50 boxes, predictions and three
annotators made from the truth with noise; times the CLI, with Python's own json.load of the
same files as the baseline measured in the same run. Usage: python3 bench/quality.py AVTRUTH"""
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

AVT = sys.argv[1] if len(sys.argv) > 1 else "avtruth"
rng = np.random.default_rng(1)
CL = ["car", "pedestrian", "cyclist", "truck"]
SZ = {"car": (4.5, 1.9, 1.6), "pedestrian": (0.8, 0.8, 1.8), "cyclist": (1.8, 0.7, 1.7), "truck": (8, 2.6, 3.2)}
T0 = 1700000000000000000
tmp = tempfile.mkdtemp(prefix="avt-bench-q-")


def write(d, frames):
    os.makedirs(d)
    for f, boxes in enumerate(frames):
        with open(f"{d}/{T0 + f * 100000000}.json", "w") as fh:
            json.dump({"timestamp_ns": T0 + f * 100000000, "boxes": boxes}, fh)
    return d


truth = []
for f in range(1000):
    boxes = []
    for i in range(50):
        c = CL[rng.integers(0, 4)]
        boxes.append({"track_id": i, "class": c, "center": [10.0 * (i % 10), 10.0 * (i // 10), 0.8],
                      "size": list(SZ[c]), "yaw": float(rng.uniform(-math.pi, math.pi))})
    truth.append(boxes)


def noisy(sigma, p_miss, score=False):
    out = []
    for boxes in truth:
        mine = []
        for b in boxes:
            if rng.random() < p_miss:
                continue
            x = {**b, "center": [v + rng.normal(0, sigma) for v in b["center"]]}
            if score:
                x["score"] = float(rng.uniform(0.1, 1))
            mine.append(x)
        out.append(mine)
    return out


gt = write(f"{tmp}/gt", truth)
pred = write(f"{tmp}/pred", noisy(0.2, 0.1, score=True))
anns = [write(f"{tmp}/a{j}", noisy(0.1, 0.05)) for j in range(3)]


def timed(*cmd):
    """Wall and CPU (user + sys) seconds of one run."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.perf_counter() - t, r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime


def baseline(dirs):
    t = time.perf_counter()
    for d in dirs:
        for n in os.listdir(d):
            json.load(open(os.path.join(d, n)))
    return time.perf_counter() - t


print("run  command           wall s  cpu s   baseline: json.load of the same files (s)  cpu ratio")
for rep in range(3):
    b1 = baseline([gt, pred])
    e = timed(AVT, "eval", "--gt", gt, "--pred", pred, "--json", f"{tmp}/e.json")
    b2 = baseline(anns)
    a = timed(AVT, "agree", *anns, "--json", f"{tmp}/a.json")
    c = timed(AVT, "consensus", *anns, "-o", f"{tmp}/cons{rep}")
    for name, (w, u), b in (("eval", e, b1), ("agree x3", a, b2), ("consensus x3", c, b2)):
        print(f"{rep:<4} {name:<16} {w:7.2f} {u:6.2f}   {b:6.2f}{'':37}{u / b:6.2f}")
