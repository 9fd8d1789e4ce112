#!/usr/bin/env python3
"""Writes the hand-made seed inputs of each fuzzer to Fuzz/Corpus/<target>/seed-*, from which the
fuzzers grew the rest of the corpus (scripts/fuzz; see Fuzz/README.md)."""
import os, struct, pathlib
root = pathlib.Path(__file__).resolve().parent.parent
seeds = root / "Fuzz" / "Corpus"

def put(target, name, data):
    d = seeds / target
    d.mkdir(parents=True, exist_ok=True)
    (d / ("seed-" + name)).write_bytes(data if isinstance(data, bytes) else data.encode())

# Graph files: the examples (the regression one with its sidecar after a NUL byte, renamed v.bin).
ex = root / "docs" / "examples"
put("FuzzGraphFile", "mlp.json", (ex / "mlp.json").read_bytes())
put("FuzzGraphFile", "iris-mlp.json", (ex / "iris-mlp.json").read_bytes())
put("FuzzGraphFile", "regression", (ex / "regression.json").read_text().replace('"regression.bin"', '"v.bin"').encode()
    + b"\0" + (ex / "regression.bin").read_bytes())
put("FuzzGraphFile", "ops", '{"format": "graph-engine/graph", "version": 1, "nodes": ['
    '{"id": "a", "kind": "placeholder", "shape": [2, 3]}, {"id": "c", "kind": "constant", "shape": [2, 3], "values": [[1, 2, 3], [4, 5, 6]]},'
    '{"id": "s", "kind": "op", "op": "add", "inputs": ["a", "c"]},'
    '{"id": "r", "kind": "op", "op": "reshape", "inputs": ["s"], "attributes": {"shape": [3, 2]}},'
    '{"id": "m", "kind": "op", "op": "matmul", "inputs": ["s", "r"], "attributes": {"transpose_a": false}},'
    '{"id": "b", "kind": "op", "op": "broadcast_to", "inputs": ["m"], "attributes": {"shape": [4, 2, 2]}},'
    '{"id": "y", "kind": "op", "op": "sum", "inputs": ["b"], "attributes": {"axes": [0], "keep_dims": true}}'
    '], "outputs": ["y"], "loss": "y"}')
put("FuzzGraphFile", "sidecar64", '{"format": "graph-engine/graph", "version": 1, "values_file": {"path": "v.bin", "dtype": "float64"},'
    '"nodes": [{"id": "p", "kind": "parameter", "shape": [2], "values": {"offset": 1}}], "outputs": ["p"]}\0'.encode()
    + struct.pack("<3d", 1.0, 2.0, 3.0))

# Inputs files for the fixed graph of FuzzInputs.
put("FuzzInputs", "all", '{"s": 1.5, "v": [1, 2, 3], "m": [[1, 2, 3], [4, 5, 6]], "t": [[[1, 2]], [[3, "nan"]]], "e": []}')
put("FuzzInputs", "flat", '{"m": [1, 2, 3, 4, 5, 6], "t": [1, 2, 3, "-inf"], "v": [0.5, -1e3, 2e-5]}')

# CSV: the first byte picks the options (see FuzzCSV.swift).
put("FuzzCSV", "iris", b"\x00" + b"".join((root / "Data" / "iris.csv").read_bytes().splitlines(True)[:6]))
put("FuzzCSV", "quoted", b"\x01" + b'name,"a, b",label\n"x ""y""",1.5,0\nNA,?,1\n\n z ,2,2\r\n')
put("FuzzCSV", "semicolon", b"\x05" + b"1;2;0\n3;4;1\n")

# Checkpoints (format of Sources/Training/Checkpoint+Binary.swift).
def fnv(b):
    h = 0xCBF29CE484222325
    for x in b: h = ((h ^ x) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h
def s(t): t = t.encode(); return struct.pack("<I", len(t)) + t
def array(name, shape, values, size, version=2):
    out = s(name) + (struct.pack("<I", size) if version >= 2 else b"") + struct.pack("<I", len(shape))
    out += b"".join(struct.pack("<Q", d) for d in shape)
    return out + b"".join(struct.pack("<f" if size == 4 else "<d", v) for v in values)
def checkpoint(version, params, slots, meta):
    p = struct.pack("<QQQ", 3, 120, 42) + s("adam") + struct.pack("<I", len(meta))
    p += b"".join(s(k) + s(v) for k, v in sorted(meta.items()))
    for lst in (params, slots): p += struct.pack("<I", len(lst)) + b"".join(lst)
    head = bytes([0x89]) + b"GECKPT\n" + struct.pack("<IIQ", version, 0, len(p)) + p
    return head + struct.pack("<Q", fnv(head))
put("FuzzCheckpoint", "v2", checkpoint(2, [array("w", [2, 2], [1, 2, 3, 4], 4), array("b", [2], [0.5, -1], 8)],
                                        [array("w/m", [2, 2], [0, 0, 0, 0], 4)], {"data": "iris", "hidden": "8"}))
put("FuzzCheckpoint", "v1", checkpoint(1, [array("w", [3], [1, 2, 3], 4, 1)], [], {}))
put("FuzzCheckpoint", "empty", checkpoint(2, [], [], {}))
