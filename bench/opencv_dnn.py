#!/usr/bin/python3
"""OpenCV DNN baseline for bench/inference.ts: the same ONNX models through cv2.dnn.

Usage (bench/inference.ts calls it):
  /usr/bin/python3 bench/opencv_dnn.py --onnx M.onnx --card card.json --tensors T.bin --n N
      --files list.txt --batch B --threads T --out result.json [--probs probs.bin]

Measures images/s of
  raw:      net.forward on the kit's prepared input tensors (float32, the card's layout), at
            batch 1 and at batch B (models with a dynamic batch dimension);
  pipeline: cv2.imread + cv2.resize (INTER_LINEAR) + colour + normalisation + layout + forward,
            from the image files, at batch B.
Writes a JSON result, and the batch-1 output probabilities (float32, N x classes) with --probs
for a top-1 agreement check against onnxruntime.

OpenCV 4.6's ONNX importer needs a shape on every graph output: outputs declared without one
(as fer-kit's TF.js conversions write them) get [N, classes] from the card before loading. It also
reads Clip's bounds only as attributes (ONNX opset < 11): a graph whose Clip nodes take constant
min/max inputs (PyTorch's ReLU6 in the kit's MobileNetV2 exports) is rewritten to the same Clip
with attributes at opset 10, when every other node is valid there; the top-1 agreement check of
bench/inference.ts compares its outputs with onnxruntime's on the original file.
"""
import argparse
import json
import sys
import time

import cv2
import numpy as np
import onnx
from onnx import helper, numpy_helper

# Operators of the graphs this rewrite accepts, all with the same meaning at opset 10 and 13.
OPSET10_SAME = {"Conv", "Add", "Sub", "Div", "Mul", "Relu", "GlobalAveragePool", "Flatten",
                "Gemm", "Constant", "Clip"}


def clip_bounds_as_attributes(model):
    """Clip(x, min, max) with Constant bounds -> Clip(x) with min/max attributes at opset 10."""
    g = model.graph
    consts = {n.output[0]: n for n in g.node if n.op_type == "Constant"}
    clips = [n for n in g.node if n.op_type == "Clip" and len(n.input) == 3]
    if not clips or not all(x in consts for n in clips for x in n.input[1:]):
        return False
    if any(n.op_type not in OPSET10_SAME for n in g.node):
        return False
    bounds = set()
    nodes = []
    for n in g.node:
        if n in clips:
            lo, hi = (float(numpy_helper.to_array(consts[x].attribute[0].t)) for x in n.input[1:])
            bounds.update(n.input[1:])
            nodes.append(helper.make_node("Clip", [n.input[0]], list(n.output), name=n.name,
                                          min=lo, max=hi))
        else:
            nodes.append(n)
    used = {x for n in nodes for x in n.input}
    nodes = [n for n in nodes if not (n.op_type == "Constant" and n.output[0] in bounds
                                      and n.output[0] not in used)]
    del g.node[:]
    g.node.extend(nodes)
    for o in model.opset_import:
        if o.domain in ("", "ai.onnx"):
            o.version = 10
    onnx.checker.check_model(model)
    return True


def load_net(path, card):
    model = onnx.load(path)
    clip_bounds_as_attributes(model)
    for out in model.graph.output:
        tt = out.type.tensor_type
        if not tt.HasField("shape"):
            tt.shape.dim.add().dim_param = "N"
            tt.shape.dim.add().dim_value = len(card["output"]["classes"])
    buf = np.frombuffer(model.SerializeToString(), dtype=np.uint8)
    net = cv2.dnn.readNetFromONNX(buf)
    net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
    net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
    return net


def softmax(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def forward(net, blob, card):
    net.setInput(blob)
    y = net.forward().reshape(blob.shape[0], -1).astype(np.float32)
    return softmax(y) if card["output"]["kind"] == "logits" else y


def prepare(path, card):
    """cv2 preprocessing close to the card (OpenCV's own resize, not the library's)."""
    inp = card["input"]
    img = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if img is None:
        return None
    if img.ndim == 3 and img.shape[2] == 4:
        img = img[:, :, :3]
    if inp["colorOrder"] == "gray":
        if img.ndim == 3:
            img = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    else:
        if img.ndim == 2:
            img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
        if inp["colorOrder"] == "RGB":
            img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    img = cv2.resize(img, (inp["width"], inp["height"]), interpolation=cv2.INTER_LINEAR)
    x = img.astype(np.float32).reshape(inp["height"], inp["width"], inp["channels"])
    norm = inp["normalization"]
    x = (x * norm["scale"] - np.array(norm["mean"], np.float32)) / np.array(norm["std"], np.float32)
    if inp["layout"] == "NCHW":
        x = x.transpose(2, 0, 1)
    return x


def main():
    ap = argparse.ArgumentParser()
    for k in ["onnx", "card", "tensors", "files", "out", "probs"]:
        ap.add_argument("--" + k)
    ap.add_argument("--n", type=int, required=True)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    card = json.load(open(a.card))
    cv2.setNumThreads(a.threads)
    result = {"opencv": cv2.__version__, "threads": a.threads}
    try:
        net = load_net(a.onnx, card)
    except cv2.error as e:
        result["error"] = str(e).strip().splitlines()[-1]
        json.dump(result, open(a.out, "w"))
        return
    inp = card["input"]
    shape = (
        (inp["channels"], inp["height"], inp["width"])
        if inp["layout"] == "NCHW"
        else (inp["height"], inp["width"], inp["channels"])
    )
    x = np.fromfile(a.tensors, dtype=np.float32).reshape((a.n,) + shape)
    dynamic = inp["batch"] == "dynamic"

    def raw(batch):
        forward(net, x[:batch], card)  # warm-up
        outs = []
        t0 = time.perf_counter()
        for i in range(0, a.n, batch):
            outs.append(forward(net, x[i : i + batch], card))
        return a.n / (time.perf_counter() - t0), np.concatenate(outs)

    ips1, probs = raw(1)
    result["raw_b1"] = ips1
    if a.probs:
        probs.astype(np.float32).tofile(a.probs)
    b = a.batch if dynamic else 1
    result["raw_batch"] = b
    result["raw_best"] = raw(b)[0] if b > 1 else ips1

    files = [l.rstrip("\n") for l in open(a.files) if l.strip()]
    t0 = time.perf_counter()
    done = 0
    for i in range(0, len(files), b):
        blob = [prepare(f, card) for f in files[i : i + b]]
        blob = np.stack([t for t in blob if t is not None])
        forward(net, blob, card)
        done += blob.shape[0]
    result["pipeline"] = done / (time.perf_counter() - t0)
    result["pipeline_images"] = done
    json.dump(result, open(a.out, "w"))


if __name__ == "__main__":
    sys.exit(main())
