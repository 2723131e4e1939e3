"""Train one FER2013 CNN recipe on the CPU (seeded, deterministic data order).

Trains on FER2013 Training, selects the epoch with the best PublicTest accuracy, reports
PrivateTest accuracy and per-class recall at that epoch. Writes:
  <work>/<id>.pt                     best-epoch state_dict + recipe metadata (for export.py)
  <logs>/<id>.epochs.csv             one row per epoch: loss and accuracy on each split
  <logs>/<id>.summary.json           recipe, data hash, timings, best epoch, per-class recall

Usage: python3 train.py --arch mobilenetv2|simplecnn --id ID [--data DIR] [--epochs N] ...
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

import cv2
import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import data  # noqa: E402
from loop import evaluate, train_epoch  # noqa: E402
import nets  # noqa: E402

ARCH_KW = {
    "mobilenetv2": {"width": 0.5, "last_channels": 640, "dropout": 0.2},
    "simplecnn": {"stem": 24, "widths": [48, 96, 192], "dropout": 0.1, "head_dropout": 0.3},
}


def augment(images: np.ndarray, rng: np.random.RandomState, max_rot: float, max_shift: float,
            scale_range: float) -> np.ndarray:
    """Random affine per image (rotation +-max_rot deg, scale 1+-scale_range, shift +-max_shift px,
    horizontal flip p=0.5), bilinear, reflect-101 border. uint8 [N,48,48] -> uint8 [N,48,48]."""
    out = np.empty_like(images)
    n = len(images)
    rot = rng.uniform(-max_rot, max_rot, n)
    scale = rng.uniform(1 - scale_range, 1 + scale_range, n)
    shift = rng.uniform(-max_shift, max_shift, (n, 2))
    flip = rng.rand(n) < 0.5
    for i in range(n):
        m = cv2.getRotationMatrix2D((23.5, 23.5), rot[i], scale[i])
        m[:, 2] += shift[i]
        img = images[i][:, ::-1] if flip[i] else images[i]
        out[i] = cv2.warpAffine(np.ascontiguousarray(img), m, (48, 48), flags=cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_REFLECT_101)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--arch", required=True, choices=sorted(ARCH_KW))
    ap.add_argument("--id", required=True, help="model id, e.g. fer2013-mobilenetv2")
    ap.add_argument("--data", default=None, help="data root (default: $FER_DATA, else data/raw)")
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--weight-decay", type=float, default=5e-4)
    ap.add_argument("--seed", type=int, default=2013)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--budget-minutes", type=float, default=0,
                    help="time-budgeted schedule: the cosine decay follows the fraction of this "
                         "wall-clock budget used (evaluation included) instead of the step "
                         "count, and training stops when it is spent (at most --epochs epochs); "
                         "0: fixed schedule over --epochs")
    ap.add_argument("--work", default=".cache/recipes", help="checkpoint and data-cache folder")
    ap.add_argument("--logs", default="models/logs")
    ap.add_argument("--subset", type=int, default=0, help="smoke test: first N images of each split")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    torch.use_deterministic_algorithms(True)
    cv2.setNumThreads(1)

    root = data.resolve_data_root(args.data)
    t0 = time.time()
    splits, digest, n_hashed, skipped = data.load_splits(root, os.path.join(args.work, "data"))
    for s in skipped:
        print(f"warning: {s}", file=sys.stderr)
    train, public, private = splits["Training"], splits["PublicTest"], splits["PrivateTest"]
    if args.subset:  # smoke test: the first N images of every split
        train, public, private = (
            data.Split(s.name, s.images[:args.subset], s.labels[:args.subset], s.names[:args.subset])
            for s in (train, public, private))
    print(f"data: {root} train {len(train.labels)} public {len(public.labels)} "
          f"private {len(private.labels)} sha256 {digest} ({time.time() - t0:.1f} s)", flush=True)

    arch_kw = ARCH_KW[args.arch]
    model = nets.build(args.arch, **arch_kw).to(memory_format=torch.channels_last)
    n_params = sum(p.numel() for p in model.parameters())
    macs = nets.count_macs(model)
    print(f"model: {args.arch} {arch_kw} params {n_params} MACs/image {macs}", flush=True)
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, nesterov=True,
                          weight_decay=args.weight_decay)
    steps_per_epoch = math.ceil(len(train.labels) / args.batch)
    total_steps = steps_per_epoch * args.epochs
    aug = {"max_rot": 10.0, "max_shift": 4.0, "scale_range": 0.1}

    os.makedirs(args.logs, exist_ok=True)
    os.makedirs(args.work, exist_ok=True)
    rows, best, step = [], None, 0
    t_train = time.time()
    budget_s = args.budget_minutes * 60

    def progress(steps_done: int) -> float:
        """Fraction of the schedule done: wall-clock budget used, or steps done."""
        if budget_s:
            return min(1.0, (time.time() - t_train) / budget_s)
        return steps_done / total_steps

    for epoch in range(1, args.epochs + 1):
        te = time.time()
        model.train()
        rng = np.random.RandomState(args.seed * 1000 + epoch)
        order = rng.permutation(len(train.labels))
        images = augment(train.images[order], rng, **aug)
        labels = train.labels[order]
        step0 = step

        def lr_before_step(b: int):
            p = progress(step0 + b)
            return None if budget_s and p >= 1.0 else 0.5 * args.lr * (1 + math.cos(math.pi * p))

        ep = train_epoch(model, opt, images, labels, args.batch, lr_before_step)
        step += ep["steps"]
        loss_sum, correct, seen, lr = ep["loss_sum"], ep["correct"], ep["seen"], ep["lr"]
        if seen == 0:
            break
        train_s = time.time() - te
        pub = evaluate(model, public.images, public.labels, 7)
        pri = evaluate(model, private.images, private.labels, 7)
        row = {
            "epoch": epoch, "steps": step, "images": seen, "lr_end": round(lr, 6),
            "train_loss": round(loss_sum / seen, 5), "train_acc": round(correct / seen, 5),
            "public_loss": round(pub["loss"], 5), "public_acc": round(pub["acc"], 5),
            "private_loss": round(pri["loss"], 5), "private_acc": round(pri["acc"], 5),
            "train_seconds": round(train_s, 1), "epoch_seconds": round(time.time() - te, 1),
        }
        rows.append(row)
        print(json.dumps(row), flush=True)
        if best is None or pub["acc"] > best["public_acc"]:
            best = {"epoch": epoch, "public_acc": pub["acc"], "private": pri,
                    "state": copy.deepcopy(model.state_dict())}
        with open(os.path.join(args.logs, f"{args.id}.epochs.csv"), "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(row))
            w.writeheader()
            w.writerows(rows)
        if budget_s and progress(step) >= 1.0:
            break

    cm = best["private"]["cm"]
    recall = {c: round(float(cm[i, i] / max(1, cm[i].sum())), 5) for i, c in enumerate(data.CLASSES)}
    summary = {
        "id": args.id, "arch": args.arch, "arch_kw": arch_kw, "params": n_params,
        "macs_per_image": macs,
        "data_root_basename": os.path.basename(os.path.abspath(root)),
        "data_sha256": digest,
        "data_hash_of": "SHA-256 over the lines '<Usage>/<image name>,<label>,<PNG size in bytes>\\n', "
                        "Usage in the order Training, PublicTest, PrivateTest, image names sorted "
                        "within each; labels from fer2013/fer2013-original-labels.csv",
        "data_hashed_lines": n_hashed,
        "counts": {u: int(len(s.labels)) for u, s in splits.items()},
        "skipped_images": skipped,
        "seed": args.seed, "epochs_max": args.epochs, "epochs_run": len(rows),
        "steps_run": step, "steps_per_epoch": steps_per_epoch,
        "budget_minutes": args.budget_minutes or None,
        "batch": args.batch,
        "optimizer": f"SGD momentum 0.9 Nesterov, lr {args.lr} (batch {args.batch}), weight decay "
                     f"{args.weight_decay}, no warm-up, loss cross-entropy; lr = {args.lr}/2 * "
                     "(1 + cos(pi * p)) per step, " + (
                         f"p = fraction of a {args.budget_minutes:g}-minute wall-clock budget used "
                         "(time-budgeted schedule; training stops when p reaches 1)"
                         if budget_s else f"p = step / ({args.epochs} epochs of steps)"),
        "augmentation": "per image, per epoch: horizontal flip p=0.5, rotation uniform +-10 deg, "
                        "scale uniform 0.9..1.1, shift uniform +-4 px (x and y), one bilinear "
                        "cv2.warpAffine with reflect-101 border",
        "input": "pixel/255 in 0..1, [N,1,48,48]; (x-0.5)/0.25 is applied inside the network",
        "threads": args.threads, "torch": torch.__version__,
        "hardware": f"{platform.machine()} CPU, {os.cpu_count()} cores shared with other jobs, "
                    f"{args.threads} torch thread(s), nice 10",
        "train_wall_seconds": round(time.time() - t_train, 1),
        "best_epoch": best["epoch"],
        "public_acc": round(best["public_acc"], 5),
        "private_acc": round(best["private"]["acc"], 5),
        "private_loss": round(best["private"]["loss"], 5),
        "private_recall": recall,
        "private_confusion": {"classes": data.CLASSES, "rows_true_cols_pred": cm.tolist()},
        "selection": "epoch with the best PublicTest (FER2013Valid) accuracy",
    }
    with open(os.path.join(args.logs, f"{args.id}.summary.json"), "w") as f:
        json.dump(summary, f, indent=2)
        f.write("\n")
    torch.save({"arch": args.arch, "arch_kw": arch_kw, "state_dict": best["state"],
                "summary": summary}, os.path.join(args.work, f"{args.id}.pt"))
    print(f"best epoch {best['epoch']}: PublicTest {best['public_acc']:.4f} "
          f"PrivateTest {best['private']['acc']:.4f} recall {recall}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
