"""Shared helpers of the end-to-end tests: run the CLI, make temporary logs."""
import atexit
import importlib
import os
import shutil
import subprocess
import sys
import tempfile

AVTRUTH = os.environ.get("AVTRUTH", "avtruth")


def run(*args, check=True, timeout=600):
    """Runs the avtruth CLI; returns the CompletedProcess (text output)."""
    p = subprocess.run([AVTRUTH, *map(str, args)], capture_output=True, text=True, timeout=timeout)
    if check and p.returncode != 0:
        sys.stderr.write(p.stdout + p.stderr)
        raise AssertionError(f"avtruth {' '.join(map(str, args))} exited {p.returncode}")
    return p


def tmpdir():
    """A temporary directory, removed when the test exits (passed or failed: some hold a
    20 s log and its outputs, 650 MB, and runs of the suite filled /tmp); AVT_KEEP_TMP=1
    keeps it for a post-mortem."""
    d = tempfile.mkdtemp(prefix="avt-e2e-")
    if not os.environ.get("AVT_KEEP_TMP"):
        atexit.register(shutil.rmtree, d, True)
    return d


def skip(msg):
    print(f"SKIP: {msg}")
    sys.exit(77)


class Checker:
    """Counts checks and failures, prints a closing 'N passed, N failed' line."""

    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, cond, msg):
        if cond:
            self.passed += 1
        else:
            self.failed += 1
            print("FAIL:", msg)

    def finish(self):
        print(f"{self.passed} passed, {self.failed} failed")
        sys.exit(1 if self.failed else 0)


DEBIAN = {"h5py": "python3-h5py", "numpy": "python3-numpy", "cv2": "python3-opencv"}


def need(*modules):
    """Imports the modules (independent readers from Debian packages), skipping the test with
    exit code 77 and the package name when one is missing; returns them in order."""
    out = []
    for m in modules:
        try:
            out.append(importlib.import_module(m))
        except ImportError as e:
            skip(f"{DEBIAN.get(m, m)} missing ({e})")
    return out[0] if len(out) == 1 else out
