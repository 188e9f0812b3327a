"""End-to-end: JPEG camera streams and damaged images.

- A JPEG copy (quality 95, written by OpenCV here, not by avtruth) of a synthetic log's PNG
  frames builds to the same pairing and the same 2D boxes and depth as the PNG log (read back
  with h5py), with --verify-images decoding every JPEG, --preview drawing on them and
  --embed-images storing each paired file's bytes unchanged (cv2.imdecode reads them).
- A PNG cut in half, a PNG with one byte of its image data changed (CRC), a file that is no PNG
  at all and a JPEG cut in half are left unpaired, status 0, named in the terminal and in the
  dataset card's validation findings; the other frames keep their pairs."""
import glob
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(__file__))
from common import Checker, need, run, tmpdir  # noqa: E402

h5py, np, cv2 = need('h5py', 'numpy', 'cv2')

c = Checker()
d = tmpdir()
png_log = os.path.join(d, "png")
run("synth", png_log, "--seed", 11, "--seconds", 1.0, "--cameras", 2, "--width", 320, "--height", 200)
CAMS = sorted(os.listdir(os.path.join(png_log, "cameras")))

jpg_log = os.path.join(d, "jpg")
shutil.copytree(png_log, jpg_log)
n_jpg = 0
for p in glob.glob(os.path.join(jpg_log, "cameras", "*", "*.png")):
    img = cv2.imread(p, cv2.IMREAD_UNCHANGED)
    assert cv2.imwrite(p[:-4] + ".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 95])
    os.remove(p)
    n_jpg += 1
c.check(n_jpg >= 16, f"{n_jpg} frames converted to JPEG")


def cam_cols(path):
    out = {}
    with h5py.File(path, "r") as f:
        for cam in CAMS:
            g = f["cameras"][cam]
            out[cam] = {k: g[k][()] for k in ("timestamp_ns", "sync_delta_ns", "boxes2d/offset", "boxes2d/xyxy",
                                              "boxes2d/box3d_index", "depth/offset", "depth/uv", "depth/depth")}
            out[cam]["image_path"] = [s.decode() if isinstance(s, bytes) else s for s in g["image_path"][()]]
    return out


a_out = os.path.join(d, "png.h5")
run("build", png_log, "-o", a_out)
A = cam_cols(a_out)
prev = os.path.join(d, "preview")
b_out = os.path.join(d, "jpg.h5")
p = run("build", jpg_log, "-o", b_out, "--verify-images", "--embed-images", "--preview", prev)
B = cam_cols(b_out)
for cam in CAMS:
    a, b = A[cam], B[cam]
    c.check(sum(1 for s in a["image_path"] if s) >= 8 and len(a["boxes2d/xyxy"]) >= 8,
            f"{cam}: PNG log pairs images and has 2D boxes")
    c.check([s[:-4] + ".jpg" if s else "" for s in a["image_path"]] == b["image_path"],
            f"{cam}: the same frames paired with the same images (as .jpg)")
    for k in a:
        if k != "image_path":
            c.check(a[k].shape == b[k].shape and np.array_equal(a[k], b[k]), f"{cam}: {k} equal to the PNG log's")
    with h5py.File(b_out, "r") as f:
        g = f["cameras"][cam]
        o, blob = g["image_offset"][()], g["image_png"]
        for i, rel in enumerate(b["image_path"]):
            if not rel:
                c.check(o[i + 1] == o[i], f"{cam} frame {i}: unpaired, no bytes")
                continue
            data = blob[o[i]:o[i + 1]].tobytes()
            c.check(data == open(os.path.join(jpg_log, rel), "rb").read(), f"{cam} frame {i}: embedded bytes are {rel}'s")
            im = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
            c.check(im is not None and im.shape == (200, 320, 3), f"{cam} frame {i}: cv2 decodes the embedded JPEG")
shots = sorted(glob.glob(os.path.join(prev, "preview_*.png")))
c.check(len(shots) > 0, "previews written from JPEG frames")
if shots:
    # a preview is the frame with boxes and points drawn: most pixels are the decoded JPEG's
    name = os.path.basename(shots[0])[len("preview_"):-4]
    cam, frame = name.rsplit("_", 1)
    rel = B[cam]["image_path"][int(frame)]
    shot = cv2.imread(shots[0], cv2.IMREAD_COLOR)
    ref = cv2.imread(os.path.join(jpg_log, rel), cv2.IMREAD_COLOR)
    same = np.mean(np.all(np.abs(shot.astype(int) - ref.astype(int)) <= 2, axis=2))
    c.check(shot.shape == ref.shape and same > 0.8, f"preview {shots[0]} is drawn on {rel} ({same:.2f} of pixels equal)")

# ---- damaged images -------------------------------------------------------------------------
bad_log = os.path.join(d, "bad")
shutil.copytree(png_log, bad_log)
cam0, cam1 = CAMS[0], CAMS[1]
paired0 = [s for s in A[cam0]["image_path"] if s]
paired1 = [s for s in A[cam1]["image_path"] if s]
half_png, crc_png, not_png = paired0[2], paired0[4], paired0[6]
for rel in (half_png,):
    data = open(os.path.join(bad_log, rel), "rb").read()
    open(os.path.join(bad_log, rel), "wb").write(data[:len(data) // 2])
data = bytearray(open(os.path.join(bad_log, crc_png), "rb").read())
idat = data.find(b"IDAT")
data[idat + 4 + 100] ^= 0x01  # a byte of the image data: the chunk's CRC no longer holds
open(os.path.join(bad_log, crc_png), "wb").write(data)
open(os.path.join(bad_log, not_png), "wb").write(b"not a png at all")
# the second camera as JPEG, one of them cut in half
for p in glob.glob(os.path.join(bad_log, "cameras", cam1, "*.png")):
    shutil.copy(os.path.join(jpg_log, os.path.relpath(p, bad_log))[:-4] + ".jpg", p[:-4] + ".jpg")
    os.remove(p)
half_jpg = paired1[3][:-4] + ".jpg"
data = open(os.path.join(bad_log, half_jpg), "rb").read()
open(os.path.join(bad_log, half_jpg), "wb").write(data[:len(data) // 2])
damaged = {cam0: [half_png, crc_png, not_png], cam1: [half_jpg]}

out = os.path.join(d, "bad.h5")
p = run("build", bad_log, "-o", out, check=False)
c.check(p.returncode == 0, f"damaged images: status {p.returncode}: {p.stderr[-500:]}")
card = open(os.path.join(d, "bad.card.md")).read() if os.path.exists(os.path.join(d, "bad.card.md")) else ""
findings = card[card.find("## Validation findings"):]
text = p.stdout + p.stderr
for cam, rels in damaged.items():
    for rel in rels:
        c.check(rel in text, f"the terminal names {rel}")
        c.check(rel in findings, f"the card's findings name {rel}")
    c.check(f"{len(rels)} damaged images" in findings, f"card counts {len(rels)} damaged images of {cam}")
c.check("CRC" in text, "the CRC damage is said to be one")
if p.returncode == 0:
    C = cam_cols(out)
    for cam, rels in damaged.items():
        want = ["" if s and (s in rels or s[:-4] + ".jpg" in rels) else s for s in A[cam]["image_path"]]
        if cam == cam1:
            want = [s[:-4] + ".jpg" if s else "" for s in want]
        c.check(C[cam]["image_path"] == want, f"{cam}: the damaged images' frames unpaired, the others as before")
shutil.rmtree(d) if c.failed == 0 else print("kept", d)
c.finish()
