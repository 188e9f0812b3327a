#!/usr/bin/python3
"""`avtruth stitch`, the dataset as a whole: splits balanced by frames (three logs no longer
land in one split), deterministic whatever the file names, splits.yaml overrides, --exclude,
re-stitching next to an existing index, refusal of other format versions / schemas / classes
naming both files, and the dataset card (in the index and beside it) whose counts are
recomputed here from the sources with numpy.
"""
import os
import re
import shutil
import sys

from common import Checker, run, skip, tmpdir

try:
    import h5py
    import numpy as np
except ImportError as e:
    skip(f"{e} (Debian python3-h5py, python3-numpy)")

c = Checker()
SPLITS = ("train", "val", "test")


def expected_splits(frames, ratios, fixed=None):
    """The rule as docs/scale-out.md states it, written out independently of the C code:
    fixed logs first; then the largest log first (ties by log_id) goes to the split with the
    largest frame deficit, but only to still-empty splits once the logs left do not outnumber
    them."""
    fixed = fixed or {}
    total = sum(frames.values())
    have = {s: 0 for s in SPLITS}
    count = {s: 0 for s in SPLITS}
    out = {}
    for log, s in fixed.items():
        out[log] = s
        have[s] += frames[log]
        count[s] += 1
    rest = sorted((l for l in frames if l not in fixed), key=lambda l: (-frames[l], l))
    for i, log in enumerate(rest):
        empty = [s for s in SPLITS if ratios[s] > 0 and count[s] == 0]
        cand = empty if len(rest) - i <= len(empty) else [s for s in SPLITS if ratios[s] > 0]
        best = max(cand, key=lambda s: (ratios[s] * total - have[s], -SPLITS.index(s)))
        out[log] = best
        have[best] += frames[log]
        count[best] += 1
    return out


def splits_of(index):
    with h5py.File(index) as f:
        return dict(zip(f["logs/log_id"].asstr()[:], f["logs/split"].asstr()[:]))


def frames_of(d):
    out = {}
    for n in os.listdir(d):
        if n.endswith(".h5"):
            with h5py.File(os.path.join(d, n)) as f:
                if "logs" not in f:
                    out[f.attrs["log_id"]] = int(f.attrs["num_frames"])
    return out


work = tmpdir()
logs = {}
for i, (name, sec) in enumerate([("alpha", 0.5), ("bravo", 0.5), ("charlie", 0.5),
                                 ("delta", 1.5), ("echo", 1.0)]):
    d = os.path.join(work, "logs", name)
    run("synth", d, "--seconds", sec, "--cameras", "1", "--width", "128", "--height", "80", "--seed", 31 + i)
    logs[name] = d
with open(os.path.join(logs["bravo"], "log.yaml"), "w") as fh:
    fh.write("licence: CC-BY-4.0\n")

# ---- five logs of different lengths (built once; the tests below copy their outputs) ----------
five = os.path.join(work, "five")
run("batch", *logs.values(), "-o", five, "-j", "2")
# ---- three logs of one length: one per split (they all landed in "val" before) ---------------
three = os.path.join(work, "three")
os.makedirs(three)
for n in ("alpha", "bravo", "charlie"):
    shutil.copy(os.path.join(five, n + ".h5"), three)
idx = os.path.join(three, "dataset.h5")
run("stitch", three, "-o", idx)
got = splits_of(idx)
c.check(sorted(got.values()) == ["test", "train", "val"], f"three equal logs, one per split: {got}")
c.check(got == expected_splits(frames_of(three), {"train": .8, "val": .1, "test": .1}),
        f"three logs follow the stated rule: {got}")
run("verify", idx)

# export kitti of the index (it used to fail: "no camera 'front'", the index keeps each log's
# calibration under /logs/<k>/): frame frame_offset[k] + i's files are those of frame i of log
# k's own export, calib included (the synthetic logs are calibrated differently)
def kitti_files(h5, out):
    run("export", "kitti", h5, out)
    names = sorted(os.listdir(os.path.join(out, "label_2")))
    return [tuple(open(os.path.join(out, sub, n)).read() for sub in ("label_2", "calib")) for n in names]


with h5py.File(idx) as f:
    parts = list(f["logs/file"].asstr()[:])
    frame_offset = [int(x) for x in f["logs/frame_offset"][:]]
stitched = kitti_files(idx, os.path.join(work, "kitti_index"))
c.check(len(stitched) == frame_offset[-1], f"one label file per frame of the index: {len(stitched)}, {frame_offset}")
for k, rel in enumerate(parts):
    own = kitti_files(os.path.join(three, rel), os.path.join(work, f"kitti_{k}"))
    c.check(len(own) == frame_offset[k + 1] - frame_offset[k], f"log {k}: {len(own)} frames, index {frame_offset}")
    c.check(own == stitched[frame_offset[k]:frame_offset[k] + len(own)], f"log {k} ({rel}): same label and calib files")
    c.check(sum(l.count("\n") for l, _ in own) > 0, f"log {k}: some objects exported")
c.check(len({stitched[o][1] for o in frame_offset[:-1]}) == len(parts),
        "each log's calib file differs (else the per-log calibration goes untested)")

# re-stitching into another path while DIR holds dataset.h5 (it used to fail: "built with
# different cameras")
other = os.path.join(work, "other.h5")
p = run("stitch", three, "-o", other)
c.check("skipped" in p.stdout and "dataset.h5" in p.stdout, f"the old index is named as skipped: {p.stdout}")
c.check(splits_of(other) == got, "same splits from another output path")
with h5py.File(other) as f:
    c.check(len(f["logs/file"]) == 3 and all(x.startswith("three/") for x in f["logs/file"].asstr()[:]),
            f"sources named relative to the index: {list(f['logs/file'].asstr()[:])}")
run("verify", other)

# ---- five logs: balanced by frames, deterministic --------------------------------------------
fr = frames_of(five)
c.check(len(set(fr.values())) >= 2, f"logs of different lengths: {fr}")
ratios = {"train": .6, "val": .2, "test": .2}
idx5 = os.path.join(five, "dataset.h5")
run("stitch", five, "-o", idx5, "--train", "0.6", "--val", "0.2")
got5 = splits_of(idx5)
want5 = expected_splits(fr, ratios)
c.check(got5 == want5, f"five logs: {got5}, the rule gives {want5}")
# no other assignment with every split non-empty misses the frame targets by less than one
# log's frames in every split (the greedy's bound)
total = sum(fr.values())
for s in SPLITS:
    have = sum(fr[l] for l in got5 if got5[l] == s)
    c.check(abs(have - ratios[s] * total) <= max(fr.values()), f"{s}: {have} frames vs target {ratios[s] * total}")
# the same logs under other file names: same splits (keyed by log_id and frames, not the name)
renamed = os.path.join(work, "renamed")
os.makedirs(renamed)
for n in os.listdir(five):
    if n.endswith(".h5") and n != "dataset.h5":
        shutil.copy(os.path.join(five, n), os.path.join(renamed, "z_" + n[:-3][::-1] + ".h5"))
run("stitch", renamed, "-o", os.path.join(renamed, "dataset.h5"), "--train", "0.6", "--val", "0.2")
c.check(splits_of(os.path.join(renamed, "dataset.h5")) == got5, "splits do not depend on file names or order")

# ---- the dataset card, recomputed from the sources ----------------------------------------
card_md = open(os.path.join(five, "dataset.card.md")).read()
with h5py.File(idx5) as f:
    card = f["dataset_card"][()].decode()
    class_names = list(f["meta/class_names"].asstr()[:])
c.check(card == card_md, "the card in the index equals dataset.card.md")
for s in SPLITS:
    members = sorted(l for l in got5 if got5[l] == s)
    nf = sum(fr[l] for l in members)
    hist = np.zeros(len(class_names), np.int64)
    for l in members:
        with h5py.File(os.path.join(five, l + ".h5")) as f:
            hist += np.bincount(f["boxes3d/class_id"][:], minlength=len(class_names))
    row = re.search(rf"^\| {s} \| (\d+) \| (\d+) \| [\d.]+% \| (\d+) \| (\d+) \|$", card, re.M)
    c.check(row is not None and (int(row[1]), int(row[2]), int(row[3])) == (len(members), nf, int(hist.sum())),
            f"card row for {s}: {row and row[0]} vs {len(members)} logs, {nf} frames, {hist.sum()} boxes")
    sect = card.split(f"## Split {s}\n", 1)[1].split("\n## Split ", 1)[0]
    for l in members:
        c.check(f"{l} ({fr[l]} frames)" in sect, f"{s} section lists {l} with its frames")
    for cid, name in enumerate(class_names):
        c.check(f"| {cid} | {name} | {hist[cid]} |" in sect, f"{s}: class {name} has {hist[cid]} boxes")
    if "bravo" in members:
        c.check("CC-BY-4.0 (1 log)" in sect, f"{s}: bravo's licence counted: {sect[:400]}")
    c.check("vlp16" in sect and "front" in sect, f"{s}: sensors named")

# findings summed per split: two planted in one source's card, one in another's
planted = os.path.join(work, "planted")
shutil.copytree(five, planted)
os.remove(os.path.join(planted, "dataset.h5"))
for name, items in (("alpha", ["- LiDAR: 3 corrupt packets skipped", "- Camera front: 2 images skipped"]),
                    ("delta", ["- LiDAR: 1 IPv4 fragments dropped"])):
    with h5py.File(os.path.join(planted, name + ".h5"), "r+") as f:
        text = f["dataset_card"][()].decode()
        text = text.replace("- None reported by the reader.\n", "\n".join(items) + "\n")
        del f["dataset_card"]
        f.create_dataset("dataset_card", data=text, dtype=h5py.string_dtype())
run("stitch", planted, "-o", os.path.join(planted, "dataset.h5"), "--train", "0.6", "--val", "0.2")
card = open(os.path.join(planted, "dataset.card.md")).read()
want = {s: 0 for s in SPLITS}
want[got5["alpha"]] += 2
want[got5["delta"]] += 1
for s in SPLITS:
    row = re.search(rf"^\| {s} \| .* \| (\d+) \|$", card, re.M)
    c.check(row is not None and int(row[1]) == want[s], f"{s}: {want[s]} findings summed ({row and row[0]})")
c.check("- alpha: LiDAR: 3 corrupt packets skipped" in card and "- delta: LiDAR: 1 IPv4 fragments dropped" in card,
        "findings listed with their log")

# ---- splits.yaml overrides and --exclude -----------------------------------------------------
with open(os.path.join(five, "splits.yaml"), "w") as fh:
    fh.write("# fixed splits\ndelta: test\nalpha: val\nnosuchlog: train\n")
p = run("stitch", five, "-o", idx5, "--train", "0.6", "--val", "0.2")
got = splits_of(idx5)
fixed = {"delta": "test", "alpha": "val"}
c.check(got == expected_splits(fr, ratios, fixed), f"overrides kept, the rest balanced: {got}")
c.check("line 4" in p.stdout and "nosuchlog" in p.stdout, f"unknown log in splits.yaml noted: {p.stdout}")
with open(os.path.join(work, "bad_splits.yaml"), "w") as fh:
    fh.write("alpha: train\nbravo: validation\n")
p = run("stitch", five, "-o", idx5, "--splits", os.path.join(work, "bad_splits.yaml"), check=False)
c.check(p.returncode == 1 and "bad_splits.yaml: line 2" in p.stderr and "'validation'" in p.stderr,
        f"a bad split name is refused with its line: {p.stderr}")
os.remove(os.path.join(five, "splits.yaml"))
p = run("stitch", five, "-o", os.path.join(work, "ex.h5"), "--exclude", "b*.h5", "--exclude", "echo.h5")
with h5py.File(os.path.join(work, "ex.h5")) as f:
    ids = sorted(f["logs/log_id"].asstr()[:])
c.check(ids == ["alpha", "charlie", "delta"], f"--exclude leaves bravo and echo out: {ids}")

# ---- refusals naming both files ----------------------------------------------------------------
def refused(mutate, expect):
    d = os.path.join(work, "mixed")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    for n in ("alpha.h5", "bravo.h5"):
        shutil.copy(os.path.join(five, n), os.path.join(d, n))
    with h5py.File(os.path.join(d, "bravo.h5"), "r+") as f:
        mutate(f)
    p = run("stitch", d, "-o", os.path.join(d, "dataset.h5"), check=False)
    c.check(p.returncode == 1 and "alpha.h5" in p.stderr and "bravo.h5" in p.stderr and
            all(e in p.stderr for e in expect) and not os.path.exists(os.path.join(d, "dataset.h5")),
            f"refused ({expect}): {p.stderr.strip()}")


def version(f):
    f.attrs["format_version"] = "0.9"


def schema(f):
    del f["meta/schema"]
    f.create_dataset("meta/schema", data="classes:\n  - car\n  - van\n", dtype=h5py.string_dtype())


def classes(f):
    names = list(f["meta/class_names"].asstr()[:])
    names[2] = "person"
    del f["meta/class_names"]
    f.create_dataset("meta/class_names", data=names, dtype=h5py.string_dtype())


refused(version, ["format version 0.9", "1.0"])
refused(schema, ["schema", "line 1", "classes:"])
refused(classes, ["row 2", "'person'", "'pedestrian'"])

shutil.rmtree(work, ignore_errors=True)
c.finish()
