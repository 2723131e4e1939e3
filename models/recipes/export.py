"""Export a trained recipe checkpoint to ONNX, write its model card and the parity reference.

Reads <work>/<id>.pt (from train.py) and <logs>/<id>.summary.json; writes
  models/<id>.onnx                      opset 13, input "input" [N,1,48,48] float32 = pixel/255,
                                        output "logits" [N,7], dynamic batch axis
  models/<id>.json                      model card (lib/models/card.ts ModelCard)
  models/recipes/reference/<id>.parity.json
                                        20 random 48x48 uint8 images (seeded, base64, fed as
                                        pixel/255) and the PyTorch logits for them; the Deno test
                                        tests/cnn_models_test.ts runs the ONNX file on them with
                                        onnxruntime-node and requires max |diff| <= 1e-4.

Usage: python3 export.py --id ID [--work .cache/recipes] [--models models] [--reference FILE]
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import sys

import cv2
import numpy as np
import onnx
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import data  # noqa: E402
import nets  # noqa: E402

PARITY_SEED = 48
PARITY_COUNT = 20

TITLES = {
    "mobilenetv2": "FER2013 MobileNetV2-0.5 (48x48 gray, trained by fer-kit)",
    "simplecnn": "FER2013 self-built CNN (48x48 gray, trained by fer-kit)",
}

CITATION_TAO = (
    "Tao, 2023: the FER-2013 CNN study this reproduces (a MobileNet-based CNN and a self-built "
    "CNN trained from scratch on FER2013, both near 60% accuracy). Goodfellow et al., "
    "\"Challenges in Representation Learning: A report on three machine learning contests\", "
    "ICONIP 2013 (FER2013)."
)
CITATION_MNV2 = (
    " Sandler, Howard, Zhu, Zhmoginov, Chen, \"MobileNetV2: Inverted Residuals and Linear "
    "Bottlenecks\", CVPR 2018."
)


def describe(arch: str, kw: dict, summary: dict) -> str:
    """One-paragraph architecture description for the card."""
    if arch == "mobilenetv2":
        return (
            f"MobileNetV2 (Sandler et al. 2018) written in models/recipes/nets.py, width multiplier "
            f"{kw['width']}, 1 input channel, adapted to 48x48: 3x3 stem with stride 2 (48->24), "
            "the 24-channel stage keeps stride 1, later stages as in the paper (24->12->6->3), so "
            "the total stride is 16 and the last feature map 3x3; inverted residual blocks "
            "(1x1 expand x6 - ReLU6 - 3x3 depthwise - ReLU6 - 1x1 linear projection, residual "
            f"when shapes match); 1x1 conv to {kw['last_channels']} channels - ReLU6, global "
            f"average pool, dropout {kw['dropout']}, linear to 7 logits. "
            f"{summary['params']} parameters, {summary['macs_per_image'] / 1e6:.1f} M "
            "multiply-accumulates per image."
        )
    return (
        f"Self-built CNN written in models/recipes/nets.py: stem 3x3 conv (1->{kw['stem']}) - BN - "
        "ReLU - 2x2 max-pool (48->24); then three blocks of [3x3 conv - BN - ReLU] x2 - 2x2 "
        f"max-pool - dropout {kw['dropout']} with {', '.join(str(w) for w in kw['widths'])} "
        "channels (24->12->6->3); global average pool, dropout "
        f"{kw['head_dropout']}, linear to 7 logits. {summary['params']} parameters, "
        f"{summary['macs_per_image'] / 1e6:.1f} M multiply-accumulates per image."
    )


def embedding_tensor(model_proto: onnx.ModelProto, output: str) -> str:
    """Name of the tensor fed to the final Gemm/MatMul that produces `output` (pooled features)."""
    producers = {o: n for n in model_proto.graph.node for o in n.output}
    node = producers[output]
    while node.op_type == "Add" and node.input[0] in producers:  # MatMul + Add form
        node = producers[node.input[0]]
    if node.op_type not in ("Gemm", "MatMul"):
        raise SystemExit(f"unexpected classifier node {node.op_type} producing {output}")
    return node.input[0]


def parity_inputs() -> np.ndarray:
    """20 seeded random uint8 images [20,48,48], made from random numbers only (not data):
    a random 6x6 pattern upscaled bilinearly to 48x48 plus uniform noise of +-24, clipped to
    0..255, so that activations vary as they do on real images (pure noise can saturate)."""
    rng = np.random.RandomState(PARITY_SEED)
    coarse = rng.randint(0, 256, (PARITY_COUNT, 6, 6)).astype(np.float32)
    smooth = np.stack([cv2.resize(c, (48, 48), interpolation=cv2.INTER_LINEAR) for c in coarse])
    noisy = smooth + rng.uniform(-24, 24, smooth.shape)
    return np.clip(np.rint(noisy), 0, 255).astype(np.uint8)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--id", required=True)
    ap.add_argument("--work", default=".cache/recipes")
    ap.add_argument("--logs", default="models/logs")
    ap.add_argument("--models", default="models")
    ap.add_argument("--reference", default=None,
                    help="parity JSON path (default models/recipes/reference/<id>.parity.json)")
    ap.add_argument("--reference-only", action="store_true",
                    help="only write the parity JSON (used by the Deno test to regenerate it)")
    args = ap.parse_args()
    torch.set_num_threads(1)

    ckpt = torch.load(os.path.join(args.work, f"{args.id}.pt"), map_location="cpu")
    arch, kw, summary = ckpt["arch"], ckpt["arch_kw"], ckpt["summary"]
    model = nets.build(arch, **kw)
    model.load_state_dict(ckpt["state_dict"])
    model.eval()

    pixels = parity_inputs()
    x = torch.from_numpy(pixels.astype(np.float32) / 255.0).unsqueeze(1)
    with torch.no_grad():
        logits = model(x).numpy().astype(np.float64)
    ref_path = args.reference or os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                              "reference", f"{args.id}.parity.json")
    os.makedirs(os.path.dirname(ref_path), exist_ok=True)
    with open(ref_path, "w") as f:
        json.dump({
            "id": args.id,
            "what": f"{PARITY_COUNT} random uint8 48x48 images (export.py parity_inputs, numpy "
                    f"RandomState({PARITY_SEED}): 6x6 random pattern upscaled + noise; no data); "
                    "fed as pixel/255, shape [N,1,48,48]; logits from PyTorch",
            "shape": [PARITY_COUNT, 1, 48, 48],
            "pixelsBase64": base64.b64encode(pixels.tobytes()).decode(),
            "logits": [[round(float(v), 7) for v in row] for row in logits],
        }, f)
        f.write("\n")
    if args.reference_only:
        print(f"wrote {ref_path}")
        return 0

    onnx_name = f"{args.id}.onnx"
    onnx_path = os.path.join(args.models, onnx_name)
    torch.onnx.export(
        model, torch.zeros(1, 1, 48, 48), onnx_path, opset_version=13,
        input_names=["input"], output_names=["logits"],
        dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, do_constant_folding=True,
    )
    proto = onnx.load(onnx_path)
    onnx.checker.check_model(proto)
    emb = embedding_tensor(proto, "logits")
    with open(onnx_path, "rb") as f:
        onnx_bytes = f.read()
    sha = hashlib.sha256(onnx_bytes).hexdigest()

    recall = summary["private_recall"]
    minutes = summary["train_wall_seconds"] / 60
    full_epochs = summary["steps_run"] / summary["steps_per_epoch"]
    if summary.get("budget_minutes"):
        schedule = (f"under a {summary['budget_minutes']:g}-minute wall-clock budget (time-budgeted "
                    "cosine schedule, so the number of steps depends on the machine's speed)")
    else:
        schedule = f"with a fixed {summary['epochs_max']}-epoch cosine schedule"
    epochs_note = (
        f"Trained {summary['steps_run']} steps = {full_epochs:.2f} epochs over "
        f"{summary['epochs_run']} logged epochs in {minutes:.0f} min wall {schedule}, on "
        f"{summary['hardware']}: a small fraction of two cores, far less compute than a "
        "GPU run; seed "
        f"{summary['seed']}; batch {summary['batch']}; deterministic data order (numpy "
        "RandomState(seed*1000+epoch) per epoch)."
    )
    card = {
        "id": args.id,
        "name": TITLES[arch],
        "description": describe(arch, kw, summary) +
        " Trained from scratch by fer-kit's recipe (models/recipes), reproducing the two-CNN "
        "comparison of the Tao 2023 FER-2013 study.",
        "source": {"kind": "repo", "path": onnx_name},
        "format": "onnx",
        "onnx": onnx_name,
        "onnxSha256": sha,
        "input": {
            "name": "input", "layout": "NCHW", "height": 48, "width": 48, "channels": 1,
            "colorOrder": "gray", "resize": "bilinear-half-pixel", "padToSquare": "none",
            "normalization": {"scale": 1 / 255, "mean": [0], "std": [1]},
            "batch": "dynamic",
        },
        "output": {
            "name": "logits", "kind": "logits",
            "classes": list(data.CLASSES),
            "sourceClasses": [f"{i} {c}" for i, c in enumerate(data.CLASSES)],
        },
        "embedding": {"tensor": emb, "dim": int(model.last_channels)},
        "preprocessingSource": (
            "models/recipes/train.py to_tensor(): 48x48 8-bit gray PNG -> float32 pixel/255, "
            "NCHW [N,1,48,48]; FER2013 images are already 48x48 face crops, so training used no "
            "resize (bilinear-half-pixel, as cv2.INTER_LINEAR, applies only to other sizes); the "
            "fixed normalisation (x - 0.5) / 0.25 is inside the ONNX graph (nets.py Normalize)."
        ),
        "trainingData": (
            f"FER2013 Training ({summary['counts']['Training']} images: the FER+ FER2013Train "
            "PNGs with their original FER2013 labels from fer2013-original-labels.csv, including "
            "the 200 certain=0 images); model selected on PublicTest (FER2013Valid, "
            f"{summary['counts']['PublicTest']}); reported on PrivateTest (FER2013Test, "
            f"{summary['counts']['PrivateTest']}). Data SHA-256 {summary['data_sha256']} = "
            f"{summary['data_hash_of']} ({summary['data_hashed_lines']} lines)."
        ),
        "training": {"dataset": "fer2013", "split": "train", "dataHash": summary["data_sha256"]},
        "roles": ["fer2013-cnn"],
        "reportedAccuracy": {
            "value": summary["private_acc"],
            "dataset": "FER2013 PrivateTest",
            "note": (
                f"fer-kit's own run: epoch {summary['best_epoch']} (best PublicTest accuracy "
                f"{summary['public_acc']:.4f}); PrivateTest per-class recall " +
                ", ".join(f"{c} {v:.3f}" for c, v in recall.items()) +
                ". The Tao 2023 study reports both CNNs near 60%."
            ),
        },
        "licence": "MIT (weights trained by fer-kit; FER2013 itself is research-use data)",
        "citation": CITATION_TAO + (CITATION_MNV2 if arch == "mobilenetv2" else ""),
        "notes": [
            epochs_note,
            f"Optimiser and schedule: {summary['optimizer']}.",
            f"Augmentation: {summary['augmentation']}.",
            "Evaluation images are not augmented; batch-norm statistics from training.",
            f"Training log (loss and accuracy per epoch on Training, PublicTest, PrivateTest): "
            f"models/logs/{args.id}.epochs.csv; summary with the PrivateTest confusion matrix: "
            f"models/logs/{args.id}.summary.json.",
            "Retrain both FER-2013 CNNs: bash models/recipes/retrain.sh [--data DIR]. The ONNX "
            "output matches PyTorch within 1e-4 (tests/cnn_models_test.ts).",
            f"PyTorch {summary['torch']}, ONNX opset 13; input is pixel/255 (0..1), 48x48 gray.",
        ],
    }
    with open(os.path.join(args.models, f"{args.id}.json"), "w") as f:
        json.dump(card, f, indent=2)
        f.write("\n")
    print(f"wrote {onnx_path} ({len(onnx_bytes)} bytes, sha256 {sha}), card, {ref_path}; "
          f"embedding tensor {emb}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
