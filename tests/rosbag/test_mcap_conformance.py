#!/usr/bin/python3
"""The MCAP format's own conformance suite (../shared/data/mcap/conformance, foxglove/mcap
tests/conformance/data): every file must read back as its .json says.

The stored .mcap files are Git LFS pointers (the suite's repository keeps them in LFS), so each
file is re-created here from its .json with a writer written from the MCAP specification and
the suite's generator layout (tests/conformance/scripts/generate-inputs.ts: records in order,
one uncompressed chunk holding the Schema, Channel and Message records when the variant is
chunked, message indexes after it, `01 ff ff` appended to paddable records with "pad"). The
re-creation is proven byte-exact by the CRC32s the .json carries (DataEnd's data_section_crc
covers every byte before it, the Footer's summary_crc the summary and the footer): a file whose
CRCs do not come out equal fails the test. Where a .mcap is a real file rather than a pointer,
it is compared with the re-creation byte for byte and read as well.

Then `mcap_records FILE` (our reader) must print exactly the .json's records (it skips
MessageIndex records as the suite's streamed readers do; the suite's Attachment has no crc).

Compression: one chunked variant of each case is also written with its chunk compressed by
the zstd and lz4 command-line tools (lz4 frame format), without summary; its data records must
read back the same. Finally, damaged copies (cut, a flipped byte in a chunk or attachment) must fail
with status 1 and a message, never a crash.

usage: test_mcap_conformance.py MCAP_RECORDS"""
import glob
import json
import os
import struct
import subprocess
import sys
import tempfile
import zlib

MAGIC = b"\x89MCAP0\r\n"
OP = {"Header": 1, "Footer": 2, "Schema": 3, "Channel": 4, "Message": 5, "Chunk": 6,
      "MessageIndex": 7, "ChunkIndex": 8, "Attachment": 9, "AttachmentIndex": 10,
      "Statistics": 11, "Metadata": 12, "MetadataIndex": 13, "SummaryOffset": 14, "DataEnd": 15}
UNPADDED = {"Footer", "Message", "Chunk", "DataEnd"}


def u8(v): return struct.pack("<B", int(v))
def u16(v): return struct.pack("<H", int(v))
def u32(v): return struct.pack("<I", int(v))
def u64(v): return struct.pack("<Q", int(v))
def string(s): return u32(len(s.encode())) + s.encode()
def raw(lst): return bytes(int(x) for x in lst)


def map_ss(d):
    body = b"".join(string(k) + string(v) for k, v in d.items())
    return u32(len(body)) + body


def map_u16u64(d):
    body = b"".join(u16(k) + u64(v) for k, v in d.items())
    return u32(len(body)) + body


def content(t, f):
    """Record content in the specification's field order."""
    if t == "Header": return string(f["profile"]) + string(f["library"])
    if t == "Footer": return u64(f["summary_start"]) + u64(f["summary_offset_start"]) + u32(f["summary_crc"])
    if t == "Schema":
        return u16(f["id"]) + string(f["name"]) + string(f["encoding"]) + u32(len(f["data"])) + raw(f["data"])
    if t == "Channel":
        return (u16(f["id"]) + u16(f["schema_id"]) + string(f["topic"]) + string(f["message_encoding"])
                + map_ss(f["metadata"]))
    if t == "Message":
        return (u16(f["channel_id"]) + u32(f["sequence"]) + u64(f["log_time"]) + u64(f["publish_time"])
                + raw(f["data"]))
    if t == "ChunkIndex":
        return (u64(f["message_start_time"]) + u64(f["message_end_time"]) + u64(f["chunk_start_offset"])
                + u64(f["chunk_length"]) + map_u16u64(f["message_index_offsets"])
                + u64(f["message_index_length"]) + string(f["compression"]) + u64(f["compressed_size"])
                + u64(f["uncompressed_size"]))
    if t == "Attachment":
        c = (u64(f["log_time"]) + u64(f["create_time"]) + string(f["name"]) + string(f["media_type"])
             + u64(len(f["data"])) + raw(f["data"]))
        return c + u32(zlib.crc32(c))
    if t == "AttachmentIndex":
        return (u64(f["offset"]) + u64(f["length"]) + u64(f["log_time"]) + u64(f["create_time"])
                + u64(f["data_size"]) + string(f["name"]) + string(f["media_type"]))
    if t == "Statistics":
        return (u64(f["message_count"]) + u16(f["schema_count"]) + u32(f["channel_count"])
                + u32(f["attachment_count"]) + u32(f["metadata_count"]) + u32(f["chunk_count"])
                + u64(f["message_start_time"]) + u64(f["message_end_time"])
                + map_u16u64(f["channel_message_counts"]))
    if t == "Metadata": return string(f["name"]) + map_ss(f["metadata"])
    if t == "MetadataIndex": return u64(f["offset"]) + u64(f["length"]) + string(f["name"])
    if t == "SummaryOffset": return u8(f["group_opcode"]) + u64(f["group_start"]) + u64(f["group_length"])
    if t == "DataEnd": return u32(f["data_section_crc"])
    raise ValueError(t)


def record(t, body, pad):
    if pad and t not in UNPADDED:
        body += b"\x01\xff\xff"
    return u8(OP[t]) + u64(len(body)) + body


def compress(data, how):
    if how == "":
        return data
    cmd = {"zstd": ["zstd", "-q", "-c", "-19"], "lz4": ["lz4", "-q", "-c", "-9"]}[how]
    return subprocess.run(cmd, input=data, capture_output=True, check=True).stdout


def build(records, features, compression="", summary=True):
    """The file bytes, and the (data_section_crc, summary_crc) this writer computed."""
    pad = "pad" in features
    out = bytearray(MAGIC)
    chunk = bytearray()
    index = {}  # channel id -> [(log_time, offset)], in the order channels were first seen
    times = []
    data_crc = summary_crc = None
    summary_start = None
    in_data = True
    for r in records:
        t, f = r["type"], dict(r["fields"])
        if in_data and "ch" in features and t in ("Schema", "Channel", "Message"):
            if t == "Channel":
                index.setdefault(int(f["id"]), [])
            if t == "Message":
                index.setdefault(int(f["channel_id"]), []).append((int(f["log_time"]), len(chunk)))
                times.append(int(f["log_time"]))
            chunk += record(t, content(t, f), False)
            continue
        if t == "DataEnd":
            if "ch" in features:
                comp = compress(bytes(chunk), compression)
                body = (u64(min(times, default=0)) + u64(max(times, default=0)) + u64(len(chunk))
                        + u32(zlib.crc32(chunk)) + string(compression) + u64(len(comp)) + comp)
                out += record("Chunk", body, False)
                if "mx" in features:
                    for ch, entries in index.items():
                        tuples = b"".join(u64(a) + u64(b) for a, b in entries)
                        out += record("MessageIndex", u16(ch) + u32(len(tuples)) + tuples, pad)
            data_crc = zlib.crc32(out)
            f["data_section_crc"] = data_crc if compression == "" else 0
            in_data = False
            out += record(t, content(t, f), pad)
            summary_start = len(out)
            continue
        if not in_data and not summary and t != "Footer":
            continue
        if t == "Footer":
            if not summary:
                f = {"summary_start": 0, "summary_offset_start": 0, "summary_crc": 0}
            body = content(t, f)
            start = int(f["summary_start"]) or summary_start
            summary_crc = zlib.crc32(bytes(out[start:]) + u8(OP[t]) + u64(20) + body[:16])
            out += record(t, body, False)
            continue
        out += record(t, content(t, f), pad)
    out += MAGIC
    return bytes(out), data_crc, summary_crc


def expected_crcs(records):
    d = {r["type"]: dict(r["fields"]) for r in records if r["type"] in ("DataEnd", "Footer")}
    return int(d["DataEnd"]["data_section_crc"]), int(d["Footer"]["summary_crc"])


def normalize(r):
    f = [p for p in r["fields"] if not (r["type"] == "Attachment" and p[0] == "crc")]
    return {"type": r["type"], "fields": sorted(f, key=lambda p: p[0])}


DATA_TYPES = ("Header", "Schema", "Channel", "Message", "Attachment", "Metadata")


def read_back(tool, paths):
    """{path: (records or None, error message)} from one run of the reader over paths."""
    p = subprocess.run([tool, *paths], capture_output=True, text=True)
    out, recs = {}, []
    for line in p.stdout.splitlines():
        r = json.loads(line)
        if "end" in r:
            out[r["end"]] = (None if r["error"] else recs, r["error"] or "")
            recs = []
        elif r["type"] != "MessageIndex":
            recs.append(normalize(r))
    if p.returncode not in (0, 1) or len(out) != len(paths):
        sys.exit(f"FAIL reader status {p.returncode}, {len(out)} of {len(paths)} files: {p.stderr[-2000:]}")
    return out


def main():
    tool = sys.argv[1]
    root = os.path.join(os.environ.get("AVT_SHARED_DATA", ""), "mcap/conformance")
    files = sorted(glob.glob(os.path.join(root, "*/*.json")))
    if not files:
        print(f"SKIP: MCAP conformance suite not found at {root!r}")
        return 77
    fail = []
    counts = {"files": 0, "records": 0, "real": 0, "compressed": 0, "damaged": 0}
    cases = {}    # path -> expected records
    damaged = []  # paths that must fail
    compressed_bases = set()
    with tempfile.TemporaryDirectory() as tmp:
        for jpath in files:
            name = os.path.basename(jpath)[:-5]
            base = name.split("-")[0]
            spec = json.load(open(jpath))
            records, features = spec["records"], set(spec["meta"]["variant"]["features"])
            data, dcrc, scrc = build(records, features)
            if (dcrc, scrc) != expected_crcs(records):
                fail.append(f"{name}: re-created file's CRCs {(dcrc, scrc)} != suite's {expected_crcs(records)}")
                continue
            mpath = jpath[:-5] + ".mcap"
            with open(mpath, "rb") as fh:
                stored = fh.read()
            if stored.startswith(MAGIC):
                counts["real"] += 1
                if stored != data:
                    fail.append(f"{name}: stored .mcap differs from the re-creation")
                path = mpath
            else:
                path = os.path.join(tmp, name + ".mcap")
                with open(path, "wb") as fh:
                    fh.write(data)
            want = [normalize(r) for r in records]
            cases[path] = want
            counts["files"] += 1
            counts["records"] += len(want)
            # compressed chunks: a chunk's content does not depend on the variant's other
            # features (no padding inside chunks), so one chunked variant per test case
            if "ch" in features and base not in compressed_bases:
                compressed_bases.add(base)
                end = [r["type"] for r in want].index("DataEnd")
                data_records = [r for r in want[:end] if r["type"] in DATA_TYPES]
                for how in ("zstd", "lz4"):
                    cdata, _, _ = build(records, features, how, summary=False)
                    cpath = os.path.join(tmp, f"{name}.{how}.mcap")
                    with open(cpath, "wb") as fh:
                        fh.write(cdata)
                    cases[cpath] = data_records
                    counts["compressed"] += 1
            # damage: cut in the middle, and one byte flipped inside the data section
            if name.endswith("-pad-st-sum") or name.endswith("-ax-pad") or name == "TenMessages-ch-mx":
                for k, bad in enumerate([data[:len(data) // 2],
                                         data[:40] + bytes([data[40] ^ 0x55]) + data[41:]]):
                    bpath = os.path.join(tmp, f"{name}.bad{k}.mcap")
                    with open(bpath, "wb") as fh:
                        fh.write(bad)
                    damaged.append(bpath)
                    counts["damaged"] += 1
        got = read_back(tool, list(cases) + damaged)
        for path, want in cases.items():
            recs, msg = got[path]
            if ".zstd." in path or ".lz4." in path:
                recs = [r for r in (recs or []) if r["type"] in DATA_TYPES]
            if recs != want:
                fail.append(f"{os.path.basename(path)}: read back "
                            f"{'nothing' if recs is None else len(recs)} records, want {len(want)} {msg}")
                for a, b in zip(recs or [], want):
                    if a != b:
                        fail.append(f"  first difference: {a} != {b}")
                        break
        for path in damaged:
            recs, msg = got[path]
            if recs is not None or not msg:
                fail.append(f"{os.path.basename(path)}: damaged file read without an error")
            else:
                print(f"{os.path.basename(path)}: {msg}")
    print(counts)
    for f in fail[:30]:
        print("FAIL", f)
    return 1 if fail else 0


if __name__ == "__main__":
    sys.exit(main())
