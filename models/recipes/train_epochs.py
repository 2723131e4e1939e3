"""Train one network of the training matrix by a fixed epoch budget (seeded, resumable).

  python3 train_epochs.py --arch simplecnn|mobilenetv2 --dataset fer2013|ferplus|ckplus|expw \
      --id ID --epochs N [--fer2013-split default|kaggle] [--train-fraction F] [--data DIR]

Trains on the dataset's training part from scratch, with a cosine learning-rate schedule over
exactly N epochs of steps (p = step / total steps; nothing depends on the clock), keeps the epoch
with the best validation accuracy (and the last epoch), reports the test part at both. After every
epoch the whole state (weights, optimiser, log, best so far) is written to <work>/<id>.ckpt.pt; a
run started again with the same arguments resumes after the last finished epoch and ends with the
same weights as an uninterrupted run (per-epoch seeds for data order, augmentation and dropout;
deterministic algorithms). The device is CUDA when one is present, else the CPU (--device to
force), and is recorded. Writes <work>/<id>.pt (for export.py) and <logs>/<id>.epochs.csv,
<logs>/<id>.summary.json.
"""
from __future__ import annotations

import argparse
import copy
import csv
import json
import math
import os
import platform
import sys
import time

os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # deterministic cuBLAS

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import data  # noqa: E402
import nets  # noqa: E402
from loop import evaluate, train_epoch  # noqa: E402
from train import ARCH_KW, augment  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
AUGMENTATION = ("per image, per epoch: horizontal flip p=0.5, rotation uniform +-10 deg, scale "
                "uniform 0.9..1.1, shift uniform +-4 px (x and y), one bilinear cv2.warpAffine "
                "with reflect-101 border")


def figures(ev: dict, classes: list) -> dict:
    cm = ev["cm"]
    recall = {c: round(float(cm[i, i] / max(1, cm[i].sum())), 5) for i, c in enumerate(classes)}
    return {"acc": round(ev["acc"], 5), "loss": round(ev["loss"], 5), "recall": recall,
            "confusion": cm.tolist()}


def device_of(arg: str) -> tuple:
    """(torch.device, description) — CUDA when present unless --device cpu."""
    if arg == "cuda" or (arg == "auto" and torch.cuda.is_available()):
        return torch.device("cuda"), f"cuda ({torch.cuda.get_device_name(0)})"
    return torch.device("cpu"), f"cpu ({platform.machine()}, {torch.get_num_threads()} torch thread(s))"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--arch", required=True, choices=sorted(ARCH_KW))
    ap.add_argument("--dataset", required=True, choices=sorted(data.DATASET_CLASSES))
    ap.add_argument("--id", required=True)
    ap.add_argument("--epochs", type=int, required=True)
    ap.add_argument("--fer2013-split", default="default", choices=["default", "kaggle"])
    ap.add_argument("--train-fraction", type=float, default=1.0,
                    help="stratified seeded fraction of the training part (training-size curve)")
    ap.add_argument("--budget", default="cpu", choices=["cpu", "gpu"],
                    help="which epoch budget of train-matrix.sh this run uses (recorded)")
    ap.add_argument("--data", default=None)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--weight-decay", type=float, default=5e-4)
    ap.add_argument("--seed", type=int, default=2013)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    ap.add_argument("--work", default=".cache/recipes")
    ap.add_argument("--logs", default="models/logs")
    ap.add_argument("--stop-after", type=int, default=0,
                    help="stop after this many epochs in total (simulates an interruption; tests)")
    ap.add_argument("--subset", type=int, default=0, help="tests: first N images of each part")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    import cv2
    cv2.setNumThreads(1)
    device, device_note = device_of(args.device)
    root = data.resolve_data_root(args.data) if args.dataset in ("fer2013", "ferplus") else (
        args.data or os.environ.get("FER_DATA") or "data/raw")
    t0 = time.time()
    ds = data.load_dataset(args.dataset, root, REPO, os.path.join(args.work, "data"),
                           args.fer2013_split)
    for s in ds.skipped:
        print(f"warning: {s}", file=sys.stderr)
    train, val, test = ds.parts["train"], ds.parts["val"], ds.parts["test"]
    if args.train_fraction < 1.0:
        keep = data.stratified_fraction(train.labels, args.train_fraction, args.seed)
        train = data.Part("train", train.images[keep], train.labels[keep],
                          [train.ids[i] for i in keep], [train.groups[i] for i in keep])
    if args.subset:
        train, val, test = (data.Part(p.name, p.images[:args.subset], p.labels[:args.subset],
                                      p.ids[:args.subset], p.groups[:args.subset])
                            for p in (train, val, test))
    k = len(ds.classes)
    print(f"data: {args.dataset} ({args.fer2013_split}) train {len(train.labels)} val "
          f"{len(val.labels)} test {len(test.labels)} sha256 {ds.sha256} "
          f"({time.time() - t0:.1f} s); device {device_note}", flush=True)

    arch_kw = dict(ARCH_KW[args.arch], num_classes=k)
    torch.manual_seed(args.seed)
    model = nets.build(args.arch, **arch_kw)
    n_params = sum(p.numel() for p in model.parameters())
    macs = nets.count_macs(model)
    model.to(device, memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, nesterov=True,
                          weight_decay=args.weight_decay)
    steps_per_epoch = math.ceil(len(train.labels) / args.batch)
    total_steps = steps_per_epoch * args.epochs
    aug = {"max_rot": 10.0, "max_shift": 4.0, "scale_range": 0.1}
    config = {k2: getattr(args, k2) for k2 in ("arch", "dataset", "epochs", "fer2013_split",
                                               "train_fraction", "batch", "lr", "weight_decay",
                                               "seed", "subset")}
    config["data_sha256"] = ds.sha256

    os.makedirs(args.logs, exist_ok=True)
    os.makedirs(args.work, exist_ok=True)
    ckpt_path = os.path.join(args.work, f"{args.id}.ckpt.pt")
    rows, best, step, start, seconds = [], None, 0, 1, 0.0
    if os.path.isfile(ckpt_path):
        ck = torch.load(ckpt_path, map_location="cpu")
        if ck["config"] != config:
            raise SystemExit(f"{ckpt_path}: checkpoint of another configuration "
                             f"({ck['config']} != {config}); delete it to start again")
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        rows, best, step, seconds = ck["rows"], ck["best"], ck["step"], ck["seconds"]
        start = ck["epoch"] + 1
        print(f"resuming after epoch {ck['epoch']} from {ckpt_path}", flush=True)

    last = None
    for epoch in range(start, args.epochs + 1):
        if args.stop_after and epoch > args.stop_after:
            print(f"stopped after epoch {epoch - 1} (--stop-after)", flush=True)
            return 0
        te = time.time()
        model.train()
        torch.manual_seed(args.seed * 1000 + epoch)  # dropout: per-epoch seed, resume-safe
        rng = np.random.RandomState(args.seed * 1000 + epoch)
        order = rng.permutation(len(train.labels))
        images = augment(train.images[order], rng, **aug)
        labels = train.labels[order]
        step0 = step

        def lr_before_step(b: int) -> float:
            return 0.5 * args.lr * (1 + math.cos(math.pi * (step0 + b) / total_steps))

        def note(b: int) -> None:
            if (b + 1) % 50 == 0:
                print(f"  epoch {epoch} step {b + 1}/{steps_per_epoch} "
                      f"{time.time() - te:.0f} s", flush=True)

        ep = train_epoch(model, opt, images, labels, args.batch, lr_before_step, device, note)
        step += ep["steps"]
        loss_sum, correct, seen, lr = ep["loss_sum"], ep["correct"], ep["seen"], ep["lr"]
        train_s = time.time() - te
        ev_val = evaluate(model, val.images, val.labels, k, device)
        ev_test = evaluate(model, test.images, test.labels, k, device)
        row = {
            "epoch": epoch, "steps": step, "lr_end": round(lr, 6),
            "train_loss": round(loss_sum / seen, 5), "train_acc": round(correct / seen, 5),
            "val_loss": round(ev_val["loss"], 5), "val_acc": round(ev_val["acc"], 5),
            "test_loss": round(ev_test["loss"], 5), "test_acc": round(ev_test["acc"], 5),
            "train_seconds": round(train_s, 1), "epoch_seconds": round(time.time() - te, 1),
        }
        seconds += time.time() - te
        rows.append(row)
        print(json.dumps(row), flush=True)
        last = {"epoch": epoch, "val": figures(ev_val, ds.classes),
                "test": figures(ev_test, ds.classes),
                "state": {n: t.detach().cpu().clone() for n, t in model.state_dict().items()}}
        if best is None or ev_val["acc"] > best["val"]["acc"]:
            best = copy.deepcopy(last)
        with open(os.path.join(args.logs, f"{args.id}.epochs.csv"), "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(row))
            w.writeheader()
            w.writerows(rows)
        tmp = ckpt_path + ".tmp"
        torch.save({"config": config, "epoch": epoch, "step": step, "rows": rows, "best": best,
                    "last": last, "seconds": seconds, "model": model.state_dict(),
                    "opt": opt.state_dict()}, tmp)
        os.replace(tmp, ckpt_path)
    if last is None:  # resumed a finished run: everything is in the checkpoint
        ck = torch.load(ckpt_path, map_location="cpu")
        last, best, seconds = ck["last"], ck["best"], ck["seconds"]

    summary = {
        "id": args.id, "arch": args.arch, "arch_kw": arch_kw, "params": n_params,
        "macs_per_image": macs, "dataset": args.dataset, "classes": ds.classes,
        "split": args.fer2013_split if args.dataset == "fer2013" else "default",
        "split_note": ds.split_note, "train_fraction": args.train_fraction,
        "data_sha256": ds.sha256, "data_hash_of": ds.hash_of, "data_hashed_lines": ds.hashed_lines,
        "counts": {"train": int(len(train.labels)), "val": int(len(val.labels)),
                   "test": int(len(test.labels))},
        "skipped_images": ds.skipped, "seed": args.seed, "epochs": args.epochs,
        "steps": step, "steps_per_epoch": steps_per_epoch, "batch": args.batch,
        "budget": args.budget, "device": device_note, "torch": torch.__version__,
        "threads": args.threads,
        "optimizer": f"SGD momentum 0.9 Nesterov, lr {args.lr} (batch {args.batch}), weight decay "
                     f"{args.weight_decay}, cross-entropy; lr = {args.lr}/2 * (1 + cos(pi * "
                     f"step / ({args.epochs} epochs x {steps_per_epoch} steps))) per step",
        "augmentation": AUGMENTATION,
        "input": "pixel/255 in 0..1, [N,1,48,48]; (x-0.5)/0.25 is applied inside the network",
        "train_seconds": round(seconds, 1),
        "selection": "epoch with the best validation accuracy",
        "best_epoch": best["epoch"], "best": {"val": best["val"], "test": best["test"]},
        "last_epoch": last["epoch"], "last": {"val": last["val"], "test": last["test"]},
    }
    with open(os.path.join(args.logs, f"{args.id}.summary.json"), "w") as f:
        json.dump(summary, f, indent=2)
        f.write("\n")
    torch.save({"arch": args.arch, "arch_kw": arch_kw, "state_dict": best["state"],
                "last_state_dict": last["state"], "summary": summary},
               os.path.join(args.work, f"{args.id}.pt"))
    print(f"best epoch {best['epoch']}: val {best['val']['acc']:.4f} test "
          f"{best['test']['acc']:.4f}; last epoch {last['epoch']}: test {last['test']['acc']:.4f}",
          flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
