#!/usr/bin/python3
"""avtruth export, end to end through the CLI: parallel gzip reads back byte-for-byte equal
to an unfiltered file and declares the standard filters; compression options; `verify`
catches corruption made with h5py (values, and stored bytes of a chunk) and names the first
inconsistency; `batch` skips up-to-date logs; `stitch` reads frame-for-frame like the
per-log files, also after the folder is moved; the examples' Dataset class reads it.

Usage: test_verify_stitch.py WORK_DIR   (AVTRUTH = the CLI)
"""
import hashlib
import os
import shutil
import subprocess
import sys

try:
    import h5py
    import numpy as np
except ImportError as e:
    print(f"SKIP: {e}")
    sys.exit(77)

AVT = os.environ["AVTRUTH"]
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "examples"))
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def run(*args, ok=True):
    p = subprocess.run([AVT, *args], capture_output=True, text=True)
    if ok and p.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed: {p.stderr}")
    return p


def datasets(f):
    out = []
    f.visititems(lambda n, o: out.append(n) if isinstance(o, h5py.Dataset) else None)
    return sorted(out)


def same_data(a, b, skip=("provenance/", "dataset_card")):
    with h5py.File(a) as fa, h5py.File(b) as fb:
        na, nb = datasets(fa), datasets(fb)
        if na != nb:
            return f"dataset lists differ: {set(na) ^ set(nb)}"
        for n in na:
            if n.startswith(skip):
                continue
            x, y = fa[n][()], fb[n][()]
            if isinstance(x, np.ndarray):
                if x.dtype.kind == "O":
                    if x.shape != y.shape or list(x.ravel()) != list(y.ravel()):
                        return f"{n} differs"
                elif x.dtype != y.dtype or x.shape != y.shape or x.tobytes() != y.tobytes():
                    return f"{n} differs"
            elif x != y:
                return f"{n} differs"
    return None


def main():
    work = sys.argv[1]
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    logs = []
    for i, name in enumerate(["alpha", "bravo", "charlie"]):
        d = os.path.join(work, "logs", name)
        run("synth", d, "--seconds", "1", "--cameras", "1", "--seed", str(11 + i))
        logs.append(d)

    # ---- parallel gzip == none, standard filters, options ---------------------------------
    gz, raw, g6 = (os.path.join(work, n) for n in ("gz.h5", "raw.h5", "g6.h5"))
    run("build", logs[0], "-o", gz)
    run("build", logs[0], "-o", raw, "--compression", "none")
    run("build", logs[0], "-o", g6, "--compression", "gzip=6")
    check(same_data(gz, raw) is None, f"gzip vs none: {same_data(gz, raw)}")
    check(same_data(g6, raw) is None, f"gzip=6 vs none: {same_data(g6, raw)}")
    with h5py.File(gz) as f:
        d = f["lidar/xyz"]
        check(d.compression == "gzip" and d.compression_opts == 1 and d.shuffle,
              f"lidar/xyz declares shuffle + gzip 1 ({d.compression}, {d.compression_opts})")
        check(f.attrs["compression"] == "gzip", "root compression attribute")
    with h5py.File(g6) as f:
        check(f["lidar/xyz"].compression_opts == 6, "gzip=6 declares level 6")
        check(f.attrs["compression"] == "gzip=6", "root attribute records gzip=6")
    # h5dump, an independent reader, decodes the pre-filtered chunks
    if shutil.which("h5dump"):
        p = subprocess.run(["h5dump", "-d", "/lidar/ring", "-c", "4", gz], capture_output=True, text=True)
        check(p.returncode == 0, f"h5dump reads the direct-written chunks: {p.stderr[-300:]}")
    p = run("build", logs[0], "-o", os.path.join(work, "x.h5"), "--compression", "gzip=0", ok=False)
    check(p.returncode == 2 and "1..9" in p.stderr, f"gzip=0 rejected: {p.stderr}")
    p = run("build", logs[0], "-o", os.path.join(work, "x.h5"), "--compression", "lzf", ok=False)
    check(p.returncode != 0 and "blosc-zstd" in p.stderr and "lzf" not in p.stderr.split("supported")[-1]
          and not os.path.exists(os.path.join(work, "x.h5")),
          f"lzf refused, the accepted values named without it: {p.stderr}")
    bz = os.path.join(work, "bz.h5")
    # The Debian blosc plugin leaks its context (posix_memalign, never freed; HDF5 dlcloses
    # the plugin so LeakSanitizer cannot name it): no leak check for this one run.
    p = subprocess.run([AVT, "build", logs[0], "-o", bz, "--compression", "blosc-zstd"],
                       capture_output=True, text=True,
                       env=dict(os.environ, ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "") + ":detect_leaks=0"))
    check(p.returncode == 0 or "hdf5-filter-plugin-blosc-serial" in p.stderr,
          f"blosc-zstd names the Debian package: {p.stderr}")
    if p.returncode == 0:
        # h5py (in a child, so HDF5_PLUGIN_PATH is read at its start) decodes the blosc chunks
        env = dict(os.environ, HDF5_PLUGIN_PATH=os.environ.get(
            "HDF5_PLUGIN_PATH", "/usr/lib/x86_64-linux-gnu/hdf5/serial/plugins"))
        code = ("import h5py, numpy as np, sys\n"
                "a, b = h5py.File(sys.argv[1]), h5py.File(sys.argv[2])\n"
                "assert '32001' in a['lidar/xyz']._filters\n"
                "for n in ('lidar/xyz', 'lidar/label', 'lidar/instance', 'boxes3d/center', 'cameras/front/depth/uv'):\n"
                "    assert np.array_equal(a[n][:], b[n][:]), n\n"
                "assert list(a['cameras/front/image_path'][:]) == list(b['cameras/front/image_path'][:])\n")
        q = subprocess.run([sys.executable, "-c", code, bz, raw], capture_output=True, text=True, env=env)
        check(q.returncode == 0, f"h5py reads blosc-zstd equal to none: {q.stderr[-400:]}")
        q = subprocess.run([AVT, "verify", bz], capture_output=True, text=True,
                           env=dict(os.environ, ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "") + ":detect_leaks=0"))
        check(q.returncode == 0, f"verify reads blosc-zstd: {q.stderr[-300:]}")

    # ---- verify ---------------------------------------------------------------------------
    p = run("verify", gz, logs[0])
    check("verified" in p.stdout and "input files" in p.stdout, f"verify ok: {p.stdout}")

    def corrupt(name, fn, expect):
        c = os.path.join(work, f"corrupt_{name}.h5")
        shutil.copy(gz, c)
        with h5py.File(c, "r+") as f:
            fn(f)
        p = run("verify", c, logs[0], ok=False)
        check(p.returncode == 1 and expect in p.stderr, f"verify {name}: want '{expect}' in: {p.stderr.strip()}")

    def bump_offset(f):
        o = f["frames/point_offset"]
        o[3] = o[2] - 1
    corrupt("offset", bump_offset, "/frames/point_offset: row 3: value")

    def end_offset(f):
        o = f["frames/box_offset"]
        o[-1] = o[-1] + 5
    corrupt("end", end_offset, "/frames/box_offset: row")

    def bad_instance(f):
        inst = f["lidar/instance"]
        po = f["frames/point_offset"]
        bo = f["frames/box_offset"]
        # first labelled point of frame 2 points at a box of frame 0
        rows = np.nonzero(inst[po[2]:po[3]] >= 0)[0]
        r = int(po[2] + rows[0])
        inst[r] = 0 if bo[2] > 0 else int(bo[3])
        f.attrs["bad_row"] = r
    c = os.path.join(work, "corrupt_instance.h5")
    shutil.copy(gz, c)
    with h5py.File(c, "r+") as f:
        bad_instance(f)
        r = int(f.attrs["bad_row"])
    p = run("verify", c, ok=False)
    check(f"/lidar/instance: row {r}: value" in p.stderr, f"instance row named: {p.stderr.strip()}")

    def bad_label(f):
        inst = f["lidar/instance"][:]
        r = int(np.nonzero(inst >= 0)[0][0])
        lab = f["lidar/label"]
        lab[r] = (int(lab[r]) % 3) + 1 if int(lab[r]) != 0 else 1
        cls = f["boxes3d/class_id"][inst[r]]
        if lab[r] == cls:
            lab[r] = 0
    corrupt("label", bad_label, "but its instance")

    def bad_frame_index(f):
        fi = f["boxes3d/frame_index"]
        fi[0] = 7
    corrupt("frame_index", bad_frame_index, "/boxes3d/frame_index: row 0: value 7")

    def bad_b2d(f):
        g = f["cameras/front/boxes2d/box3d_index"]
        g[0] = 10**6
    corrupt("box3d_index", bad_b2d, "/cameras/front/boxes2d/box3d_index: row 0: value 1000000")

    # damaged stored bytes: 64 bytes complemented inside a compressed chunk (found with h5py's
    # chunk index) fail verify, which names the chunk in one line and exits 1
    def damage_chunk(path, name, k):
        with h5py.File(path) as f:
            info = f[name].id.get_chunk_info(k)
        with open(path, "r+b") as fh:
            fh.seek(info.byte_offset + info.size // 2 - 32)
            b = bytes(x ^ 0xFF for x in fh.read(64))
            fh.seek(info.byte_offset + info.size // 2 - 32)
            fh.write(b)
        return info.chunk_offset[0]
    for name in ("lidar/xyz", "cameras/front/depth/depth"):
        c = os.path.join(work, "corrupt_chunk.h5")
        shutil.copy(gz, c)
        row = damage_chunk(c, name, 0)
        p = run("verify", c, logs[0], ok=False)
        check(p.returncode == 1 and f"/{name}: chunk [{row}" in p.stderr and "inflate" in p.stderr
              and p.stderr.count("\n") == 1 and "HDF5-DIAG" not in p.stderr,
              f"damaged chunk of {name}: one line naming it: {p.stderr.strip()}")

    # a changed input: the copy of a log with one byte appended to calib.yaml
    moved = os.path.join(work, "log_changed")
    shutil.copytree(logs[0], moved)
    with open(os.path.join(moved, "calib.yaml"), "a") as fh:
        fh.write("\n")
    p = run("verify", gz, moved, ok=False)
    check(p.returncode == 1 and "calib.yaml" in p.stderr and "sha256" in p.stderr,
          f"changed input named: {p.stderr.strip()}")

    # ---- batch, stitch --------------------------------------------------------------------
    out = os.path.join(work, "ds")
    p = run("batch", *logs, "-o", out, "-j", "2")
    check(all(os.path.exists(os.path.join(out, n + ".h5")) for n in ("alpha", "bravo", "charlie")),
          "batch wrote one file per log")
    p = run("batch", *logs, "-o", out)
    check(p.stdout.count("up to date") == 3, f"rerun skips all: {p.stdout}")

    # the ground truth does not depend on the number of threads (batch -j N gives each job a
    # share of the cores)
    built = {}
    for n in ("1", "3"):
        built[n] = os.path.join(work, f"threads{n}.h5")
        q = subprocess.run([AVT, "build", logs[0], "-o", built[n]], capture_output=True, text=True,
                           env=dict(os.environ, OMP_NUM_THREADS=n))
        check(q.returncode == 0, f"build with {n} threads: {q.stderr[-300:]}")
    if all(os.path.exists(x) for x in built.values()):
        d = same_data(built["1"], built["3"])
        check(d is None, f"1 and 3 threads give the same file: {d}")
    os.remove(os.path.join(out, "bravo.h5"))
    p = run("batch", *logs, "-o", out)
    check(p.stdout.count("up to date") == 2 and "bravo.h5: " in p.stdout, f"resume builds only bravo: {p.stdout}")

    idx = os.path.join(out, "dataset.h5")
    run("stitch", out, "-o", idx, "--train", "0.6", "--val", "0.2")
    run("verify", idx)

    def compare_stitched(idx_path, src_dir):
        with h5py.File(idx_path) as s:
            fo = s["logs/frame_offset"][:]
            names = list(s["logs/file"].asstr()[:])
            splits = list(s["logs/split"].asstr()[:])
            check(set(splits) <= {"train", "val", "test"}, f"splits {splits}")
            po, bo = s["frames/point_offset"], s["frames/box_offset"]
            for k, name in enumerate(names):
                with h5py.File(os.path.join(src_dir, name)) as f:
                    F = int(f.attrs["num_frames"])
                    check(fo[k + 1] - fo[k] == F, f"{name}: frame count")
                    for i in range(F):
                        g = int(fo[k]) + i
                        a0, a1 = (int(x) for x in f["frames/point_offset"][i:i + 2])
                        s0, s1 = (int(x) for x in po[g:g + 2])
                        for col in ("xyz", "intensity", "ring", "time_ns", "label"):
                            if not np.array_equal(f["lidar/" + col][a0:a1], s["lidar/" + col][s0:s1]):
                                check(False, f"{name} frame {i}: lidar/{col}")
                        b0, b1 = (int(x) for x in f["frames/box_offset"][i:i + 2])
                        sb0 = int(bo[g])
                        inst_a = f["lidar/instance"][a0:a1]
                        inst_s = s["lidar/instance"][s0:s1]
                        want = np.where(inst_a >= 0, inst_a - b0 + sb0, -1)
                        check(np.array_equal(want, inst_s), f"{name} frame {i}: instance rebased")
                        check(np.array_equal(f["boxes3d/center"][b0:b1], s["boxes3d/center"][sb0:sb0 + b1 - b0]),
                              f"{name} frame {i}: boxes")
                        check(np.all(s["boxes3d/frame_index"][sb0:sb0 + b1 - b0] == g), f"{name} frame {i}: frame_index")
                        c0, c1 = (int(x) for x in f["cameras/front/boxes2d/offset"][i:i + 2])
                        d0 = int(s["cameras/front/boxes2d/offset"][g])
                        check(np.array_equal(f["cameras/front/boxes2d/xyxy"][c0:c1],
                                             s["cameras/front/boxes2d/xyxy"][d0:d0 + c1 - c0]),
                              f"{name} frame {i}: 2D boxes")
            return names
    names = compare_stitched(idx, out)
    check(sorted(names) == ["alpha.h5", "bravo.h5", "charlie.h5"], f"relative names {names}")
    # determinism of splits
    with h5py.File(idx) as s:
        first = list(s["logs/split"].asstr()[:])
    run("stitch", out, "-o", idx, "--train", "0.6", "--val", "0.2")
    with h5py.File(idx) as s:
        check(list(s["logs/split"].asstr()[:]) == first, "splits are deterministic")

    # move the folder: still readable, still verified
    moved_ds = os.path.join(work, "elsewhere", "ds2")
    os.makedirs(os.path.dirname(moved_ds))
    shutil.move(out, moved_ds)
    compare_stitched(os.path.join(moved_ds, "dataset.h5"), moved_ds)
    run("verify", os.path.join(moved_ds, "dataset.h5"))

    # a changed source is caught by verify
    with h5py.File(os.path.join(moved_ds, "charlie.h5"), "r+") as f:
        f.attrs["touched"] = 1
    p = run("verify", os.path.join(moved_ds, "dataset.h5"), ok=False)
    check(p.returncode == 1 and "/logs/sha256" in p.stderr and "charlie.h5" in p.stderr,
          f"changed source named: {p.stderr.strip()}")
    os.remove(os.path.join(moved_ds, "charlie.h5"))
    p = run("verify", os.path.join(moved_ds, "dataset.h5"), ok=False)
    check(p.returncode == 1 and "missing" in p.stderr, f"missing source named: {p.stderr.strip()}")

    # ---- embedded images (--embed-images) -----------------------------------------------------
    img_dir = os.path.join(work, "ds_img")
    os.makedirs(img_dir)
    for d in logs:
        run("build", d, "-o", os.path.join(img_dir, os.path.basename(d) + ".h5"), "--embed-images")
    emb = os.path.join(img_dir, "alpha.h5")
    with h5py.File(emb) as f:
        F = int(f.attrs["num_frames"])
        g = f["cameras/front"]
        off = g["image_offset"][:]
        png = g["image_png"]
        check(off.dtype == np.uint64 and off.shape == (F + 1,) and off[0] == 0 and
              np.all(np.diff(off.astype(np.int64)) >= 0) and off[-1] == png.shape[0] and png.dtype == np.uint8,
              f"image_offset is CSR over image_png ({off[:3]}..{off[-1]}, {png.shape})")
        check(png.compression is None, "image_png is not deflated again")
        paths = g["image_path"].asstr()[:]
        ts = g["timestamp_ns"][:]
        n_img = 0
        for i in range(F):
            blob = png[off[i]:off[i + 1]].tobytes()
            if ts[i] == np.iinfo(np.int64).min or not paths[i]:
                check(len(blob) == 0, f"frame {i}: no image, no bytes")
                continue
            with open(os.path.join(logs[0], paths[i]), "rb") as fh:
                want = fh.read()
            check(hashlib.sha256(blob).hexdigest() == hashlib.sha256(want).hexdigest(),
                  f"frame {i}: embedded bytes equal {paths[i]}")
            n_img += 1
        check(n_img > 0, "some images embedded")
        try:
            import cv2
            i = int(np.nonzero(np.diff(off.astype(np.int64)) > 0)[0][0])
            im = cv2.imdecode(np.frombuffer(png[off[i]:off[i + 1]].tobytes(), np.uint8), cv2.IMREAD_UNCHANGED)
            check(im is not None and im.shape[1] == int(g.attrs["width"]), "cv2.imdecode reads an embedded PNG")
        except ImportError:
            pass
    p = run("verify", emb, logs[0])
    check("embedded images" in p.stdout, f"verify reports embedded images: {p.stdout}")

    def bad_image_offset(f):
        o = f["cameras/front/image_offset"]
        o[2] = o[1] - 1 if o[1] > 0 else o[3] + 1
    c = os.path.join(work, "corrupt_image_offset.h5")
    shutil.copy(emb, c)
    with h5py.File(c, "r+") as f:
        bad_image_offset(f)
    p = run("verify", c, ok=False)
    check(p.returncode == 1 and "/cameras/front/image_offset: row" in p.stderr, f"bad image_offset named: {p.stderr.strip()}")

    # stitched: images per frame as in the sources; per-log calibration under /logs/<k>/
    idx_img = os.path.join(img_dir, "dataset.h5")
    run("stitch", img_dir, "-o", idx_img)
    run("verify", idx_img)
    with h5py.File(idx_img) as s:
        fo = s["logs/frame_offset"][:]
        so = s["cameras/front/image_offset"][:]
        li = s["frames/log_index"][:]
        check(li.shape == (int(fo[-1]),), "frames/log_index has one row per frame")
        for k, name in enumerate(s["logs/file"].asstr()[:]):
            check(np.all(li[fo[k]:fo[k + 1]] == k), f"{name}: log_index")
            with h5py.File(os.path.join(img_dir, name)) as f:
                o = f["cameras/front/image_offset"][:]
                for i in (0, len(o) - 2):
                    g = int(fo[k]) + i
                    a = f["cameras/front/image_png"][o[i]:o[i + 1]]
                    b = s["cameras/front/image_png"][so[g]:so[g + 1]]
                    check(np.array_equal(a, b), f"{name} frame {i}: stitched image bytes")
                for obj in ("cameras/front/K", "cameras/front/distortion", "cameras/front/lidar_T_cam",
                            "calibration/lidar_T_ego"):
                    check(np.array_equal(f[obj][()], s[f"logs/{k}/{obj}"][()]), f"{name}: /logs/{k}/{obj}")
                check(s[f"logs/{k}/cameras/front"].attrs["width"] == f["cameras/front"].attrs["width"] and
                      s[f"logs/{k}/cameras/front"].attrs["model"] == f["cameras/front"].attrs["model"],
                      f"{name}: camera attributes copied")
    # a log without embedded images cannot join them
    shutil.copy(gz, os.path.join(img_dir, "zulu.h5"))
    p = run("stitch", img_dir, "-o", idx_img, ok=False)
    check(p.returncode != 0 and "/cameras/front/image_" in p.stderr and "embed-images" in p.stderr,
          f"stitch refuses mixed embedding: {p.stderr.strip()}")

    # ---- the examples' Dataset class --------------------------------------------------------
    from dataset import AvtruthDataset
    ds = AvtruthDataset(gz)
    with h5py.File(gz) as f:
        check(len(ds) == int(f.attrs["num_frames"]), "Dataset __len__")
        o = f["frames/point_offset"][2:4]
        item = ds[2]
        check(np.array_equal(item["xyz"], f["lidar/xyz"][o[0]:o[1]]), "Dataset __getitem__ xyz")
        check(item["xyz"].dtype == np.float32 and item["cameras"]["front"]["xyxy"].ndim == 2,
              "Dataset returns numpy arrays")

    if failures:
        print(f"{len(failures)} failure(s)")
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
