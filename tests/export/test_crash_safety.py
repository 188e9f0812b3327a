#!/usr/bin/python3
"""avtruth export crash safety: `kill -9` a build at random moments (a bounded number of
times). A killed build must never leave NAME.h5 (only NAME.h5.partial, which is not the
output), and the rerun must produce a file whose content equals an uninterrupted build's
(every dataset and attribute compared with h5py; provenance times and the card ignored).

Usage: test_crash_safety.py WORK_DIR [KILLS]   (AVTRUTH = the CLI)
"""
import os
import random
import shutil
import signal
import subprocess
import sys
import time

try:
    import h5py
    import numpy as np
except ImportError as e:
    print(f"SKIP: {e}")
    sys.exit(77)

AVT = os.environ["AVTRUTH"]
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def content(path):
    """Every dataset and attribute, minus what records when the file was made."""
    out = {}
    with h5py.File(path) as f:
        def visit(name, obj):
            for k, v in obj.attrs.items():
                # provenance holds times and the command line (which names the output)
                if not k.endswith("_utc") and not name.startswith("provenance"):
                    out[f"{name}@{k}"] = repr(v)
            if isinstance(obj, h5py.Dataset) and not name.startswith("provenance") \
                    and name != "dataset_card":
                v = obj[()]
                out[name] = (v.dtype.str, v.shape, v.tobytes() if v.dtype.kind != "O" else repr(list(v.ravel()))) \
                    if isinstance(v, np.ndarray) else repr(v)
        for k, v in f.attrs.items():
            if not k.endswith("_utc"):
                out[f"/@{k}"] = repr(v)
        f.visititems(visit)
    return out


def main():
    work = sys.argv[1]
    kills = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    log = os.path.join(work, "log")
    subprocess.run([AVT, "synth", log, "--seconds", "6", "--cameras", "2"], check=True,
                   capture_output=True)
    ref = os.path.join(work, "ref.h5")
    t0 = time.monotonic()
    subprocess.run([AVT, "build", log, "-o", ref], check=True, capture_output=True)
    duration = time.monotonic() - t0
    out = os.path.join(work, "out.h5")
    rng = random.Random(20240611)
    killed = 0
    for k in range(kills):
        p = subprocess.Popen([AVT, "build", log, "-o", out], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.05, 0.95) * duration)
        if p.poll() is None:
            p.send_signal(signal.SIGKILL)
            killed += 1
        p.wait()
        if p.returncode == -signal.SIGKILL:
            check(not os.path.exists(out), f"kill {k}: {out} exists after kill -9")
        else:  # finished before the kill: then it must be complete
            check(p.returncode == 0 and content(out) == content(ref), f"run {k} finished but differs")
            os.remove(out)
    check(killed > 0, "at least one build was killed")
    subprocess.run([AVT, "build", log, "-o", out], check=True, capture_output=True)
    a, b = content(ref), content(out)
    diff = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
    check(not diff, f"rerun differs from an uninterrupted build in: {diff[:8]}")
    check(not os.path.exists(out + ".partial"), "no partial left after a complete rerun")
    print(f"{killed} builds killed (build takes {duration:.1f} s)")
    if failures:
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
