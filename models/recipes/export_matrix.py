"""Export the networks train_epochs.py trained (the training matrix, Tao's split, the
training-size curve) to ONNX, with a model card and a PyTorch parity reference each.

For every <work>/<id>.pt written by train_epochs.py (ids matrix-*, size-*):
  models/<id>.onnx, models/<id>.json (card with `training` {dataset, split, dataHash, epochs,
  seed, device, budget} and `roles`), models/recipes/reference/<id>.parity.json.
Tao's split (Kaggle layout: test = PublicTest + PrivateTest, no validation folder): when a
matrix-fer2013-<arch> run's best epoch is its last (always so with one epoch), PublicTest took no
part in choosing its weights and the card gets the role "tao-split" itself; otherwise its last
epoch is exported as tao-fer2013-<arch> with that role.

Usage: python3 export_matrix.py [--work .cache/recipes] [--models models] [--logs models/logs]
"""
from __future__ import annotations

import argparse
import glob
import hashlib
import json
import os
import sys

import numpy as np
import onnx
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nets  # noqa: E402
from export import describe, embedding_tensor, parity_inputs, PARITY_COUNT, PARITY_SEED  # noqa: E402

DATASET_NAMES = {"fer2013": "FER2013", "ferplus": "FER+", "ckplus": "CK+", "expw": "ExpW"}
ARCH_NAMES = {"mobilenetv2": "MobileNetV2-0.5", "simplecnn": "self-built CNN"}
GPU_BUDGET_NOTE = "train-matrix.sh --budget gpu: FER2013/FER+ 30, ExpW 60, CK+ 120 epochs"
CPU_BUDGET_NOTE = "train-matrix.sh --budget cpu: FER2013/FER+ 3, ExpW 12, CK+ 30 epochs"


def write_parity(model, ident: str, ref_dir: str) -> str:
    pixels = parity_inputs()
    x = torch.from_numpy(pixels.astype(np.float32) / 255.0).unsqueeze(1)
    with torch.no_grad():
        logits = model(x).numpy().astype(np.float64)
    path = os.path.join(ref_dir, f"{ident}.parity.json")
    with open(path, "w") as f:
        json.dump({
            "id": ident,
            "what": f"{PARITY_COUNT} random uint8 48x48 images (export.py parity_inputs, numpy "
                    f"RandomState({PARITY_SEED}): 6x6 random pattern upscaled + noise; no data); "
                    "fed as pixel/255, shape [N,1,48,48]; logits from PyTorch",
            "shape": [PARITY_COUNT, 1, 48, 48],
            "pixelsBase64": __import__("base64").b64encode(pixels.tobytes()).decode(),
            "logits": [[round(float(v), 7) for v in row] for row in logits],
        }, f)
        f.write("\n")
    return path


def fmt_recall(recall: dict) -> str:
    return ", ".join(f"{c} {v:.3f}" for c, v in recall.items())


def card_for(ident: str, s: dict, which: str, onnx_name: str, sha: str, emb: str, dim: int,
             roles: list) -> dict:
    arch, ds = s["arch"], s["dataset"]
    fig = s[which]
    epoch = s["best_epoch"] if which == "best" else s["last_epoch"]
    tao = ident.startswith("tao-")
    size = s["train_fraction"] < 1.0
    dname = DATASET_NAMES[ds]
    if tao:
        test_name = "FER2013 Kaggle test folder (PublicTest + PrivateTest)"
        # Tao's test = PublicTest (the run's val part) + PrivateTest (its test part).
        cm = np.array(s["last"]["val"]["confusion"]) + np.array(s["last"]["test"]["confusion"])
        acc = float(np.trace(cm) / cm.sum())
        recall = {c: round(float(cm[i, i] / max(1, cm[i].sum())), 5)
                  for i, c in enumerate(s["classes"])}
        test_fig = {"acc": round(acc, 5), "recall": recall}
    else:
        test_name = f"{dname} test part"
        test_fig = fig["test"]
    budget = s["budget"]
    minutes = s["train_seconds"] / 60
    what = (f"{ARCH_NAMES[arch]} trained by fer-kit on {dname}"
            + (f" ({s['train_fraction']:g} of the training part)" if size else "")
            + (" (last epoch, for Tao's Kaggle split)" if tao else ""))
    notes = [
        f"{budget.upper()} budget: {s['epochs']} epoch(s) = {s['steps']} steps of batch "
        f"{s['batch']}, fixed cosine schedule, seed {s['seed']}, on {s['device']}, "
        f"{minutes:.0f} min of wall time on 2 CPU cores shared with other jobs (nice 10). "
        f"Budgets: {CPU_BUDGET_NOTE}; {GPU_BUDGET_NOTE}. A CPU-budget network is far from "
        "converged: compare it with networks of the same budget, not with published figures.",
        f"Optimiser and schedule: {s['optimizer']}.",
        f"Augmentation: {s['augmentation']}. Evaluation images are not augmented.",
        f"Data: {s['split_note']}; counts train {s['counts']['train']}, val "
        f"{s['counts']['val']}, test {s['counts']['test']}. Data SHA-256 {s['data_sha256']} = "
        f"{s['data_hash_of']} ({s['data_hashed_lines']} lines).",
        f"Selection: {'the last epoch (no model selection)' if tao else s['selection']}; "
        f"exported epoch {epoch} of {s['epochs']}.",
        f"Log: models/logs/{s['id']}.epochs.csv (per epoch: loss and accuracy on train, val, "
        f"test) and models/logs/{s['id']}.summary.json (confusion matrices at the best and the "
        "last epoch). Retrain: bash models/recipes/train-matrix.sh. ONNX equals PyTorch within "
        "1e-4 (tests/recipes_matrix_test.ts).",
        f"PyTorch {s['torch']}, ONNX opset 13; input pixel/255 (0..1), 48x48 gray; the "
        "normalisation (x - 0.5) / 0.25 is inside the graph.",
    ]
    return {
        "id": ident,
        "name": what,
        "description": describe(arch, s["arch_kw"], s).replace(" 7 logits", f" {len(s['classes'])} logits")
        + f" Trained from scratch by fer-kit's epoch recipe (models/recipes/train_epochs.py) on "
        f"{dname}, one cell of the trained-on x tested-on matrix (Jamróz et al. 2024).",
        "source": {"kind": "repo", "path": onnx_name},
        "format": "onnx",
        "onnx": onnx_name,
        "onnxSha256": sha,
        "input": {
            "name": "input", "layout": "NCHW", "height": 48, "width": 48, "channels": 1,
            "colorOrder": "gray", "resize": "bilinear-half-pixel", "padToSquare": "none",
            "normalization": {"scale": 1 / 255, "mean": [0], "std": [1]}, "batch": "dynamic",
        },
        "output": {"name": "logits", "kind": "logits", "classes": list(s["classes"]),
                   "sourceClasses": [f"{i} {c}" for i, c in enumerate(s["classes"])]},
        "embedding": {"tensor": emb, "dim": dim},
        "preprocessingSource": (
            "models/recipes/data.py: 48x48 gray PNGs as published (FER2013, FER+, CK+48); ExpW "
            "faces cut by their box (margin 0), resized bilinearly (half-pixel, cv2.INTER_LINEAR "
            "on the float RGB crop) to 48x48, BT.601 gray, as lib/preprocess.ts does, rounded to "
            "8 bits; train_epochs.py to_tensor(): pixel/255, NCHW [N,1,48,48]."),
        "trainingData": (
            f"{dname} training part" + (f", a stratified seeded {s['train_fraction']:g}" if size
                                         else "")
            + f" ({s['counts']['train']} images); {s['split_note']}."),
        "training": {"dataset": ds, "split": "train", "dataHash": s["data_sha256"],
                     "epochs": s["epochs"], "seed": s["seed"], "device": s["device"],
                     "budget": budget,
                     **({"fraction": s["train_fraction"]} if size else {})},
        "roles": roles,
        "reportedAccuracy": {
            "value": test_fig["acc"],
            "dataset": test_name,
            "note": (f"fer-kit's own run ({budget.upper()} budget), epoch {epoch} of "
                     f"{s['epochs']}; validation accuracy {fig['val']['acc']:.4f}; test per-class "
                     f"recall {fmt_recall(test_fig['recall'])}."),
        },
        "licence": f"MIT (weights trained by fer-kit; {dname} itself is research-use data)",
        "citation": (
            "Jamróz et al. 2024 (cross-dataset FER: trained on one dataset, tested on the others); "
            "Tao 2023 (the two FER-2013 CNNs)."
            + (" Sandler et al., \"MobileNetV2: Inverted Residuals and Linear Bottlenecks\", "
               "CVPR 2018." if arch == "mobilenetv2" else "")),
        "notes": notes,
    }


def export_one(ident: str, ck: dict, which: str, roles: list, args) -> None:
    s = ck["summary"]
    model = nets.build(ck["arch"], **ck["arch_kw"])
    model.load_state_dict(ck["state_dict"] if which == "best" else ck["last_state_dict"])
    model.eval()
    ref = write_parity(model, ident, args.reference)
    onnx_name = f"{ident}.onnx"
    onnx_path = os.path.join(args.models, onnx_name)
    torch.onnx.export(model, torch.zeros(1, 1, 48, 48), onnx_path, opset_version=13,
                      input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
                      do_constant_folding=True)
    proto = onnx.load(onnx_path)
    onnx.checker.check_model(proto)
    emb = embedding_tensor(proto, "logits")
    with open(onnx_path, "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    card = card_for(ident, s, which, onnx_name, sha, emb, int(model.last_channels), roles)
    with open(os.path.join(args.models, f"{ident}.json"), "w") as f:
        json.dump(card, f, indent=2, ensure_ascii=False)
        f.write("\n")
    print(f"wrote {onnx_path} ({sha[:12]}), card, {ref}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--work", default=".cache/recipes")
    ap.add_argument("--models", default="models")
    ap.add_argument("--reference", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                        "reference"))
    ap.add_argument("--only", default=None, help="export this id only")
    args = ap.parse_args()
    torch.set_num_threads(1)
    os.makedirs(args.reference, exist_ok=True)
    paths = sorted(glob.glob(os.path.join(args.work, "matrix-*.pt")) +
                   glob.glob(os.path.join(args.work, "size-*.pt")))
    for path in paths:
        if path.endswith(".ckpt.pt"):
            continue
        ident = os.path.basename(path)[:-3]
        if args.only and ident != args.only:
            continue
        ck = torch.load(path, map_location="cpu")
        s = ck["summary"]
        roles = ["training-size"] if ident.startswith("size-") else ["training-matrix"]
        if ident == f"matrix-fer2013-{s['arch']}" and s.get("split") == "default":
            if s["best_epoch"] == s["last_epoch"]:
                roles.append("tao-split")
            else:
                export_one(f"tao-fer2013-{s['arch']}", ck, "last", ["tao-split"], args)
        if ident == "matrix-fer2013-simplecnn":
            roles.append("training-size")
        export_one(ident, ck, "best", roles, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
