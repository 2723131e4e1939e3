"""FER2013 loading for the training recipes.

Images: 48x48 8-bit gray PNGs as FER+ publishes them (ferplus/FER2013Train|Valid|Test).
Labels: the original FER2013 7-class labels from fer2013/fer2013-original-labels.csv
(columns image,Usage,emotion,certain; 0 angry .. 6 neutral).
Split mapping: Training = FER2013Train, PublicTest = FER2013Valid, PrivateTest = FER2013Test.

The data root comes from --data or FER_DATA; nothing is ever copied into the repository.
A decoded copy may be cached as .npz outside the repository (see load_splits(cache_dir=...)).
"""
from __future__ import annotations

import csv
import hashlib
import os
from dataclasses import dataclass

import cv2
import numpy as np

CLASSES = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
SPLIT_DIRS = {"Training": "FER2013Train", "PublicTest": "FER2013Valid", "PrivateTest": "FER2013Test"}
LABELS_CSV = os.path.join("fer2013", "fer2013-original-labels.csv")


@dataclass
class Split:
    """One FER2013 split: images uint8 [N,48,48], labels int64 [N], names (sorted)."""

    name: str
    images: np.ndarray
    labels: np.ndarray
    names: list


def resolve_data_root(arg: str | None) -> str:
    """Data root from the --data argument, else FER_DATA, else data/raw."""
    root = arg or os.environ.get("FER_DATA") or "data/raw"
    if not os.path.isfile(os.path.join(root, LABELS_CSV)):
        raise SystemExit(f"{os.path.join(root, LABELS_CSV)}: not found (pass --data or set FER_DATA)")
    return root


def read_labels(root: str) -> dict:
    """Usage -> sorted list of (image name, label, certain) from the original-labels CSV."""
    path = os.path.join(root, LABELS_CSV)
    out: dict = {u: [] for u in SPLIT_DIRS}
    with open(path, newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        if header[:3] != ["image", "Usage", "emotion"]:
            raise SystemExit(f"{path}:1: expected header image,Usage,emotion,certain, got {header}")
        for lineno, row in enumerate(reader, start=2):
            if len(row) < 3:
                raise SystemExit(f"{path}:{lineno}: expected 4 fields, got {len(row)}")
            name, usage, emotion = row[0], row[1], row[2]
            if usage not in out:
                raise SystemExit(f"{path}:{lineno} (field Usage): unknown usage {usage!r}")
            if emotion not in {str(i) for i in range(7)}:
                raise SystemExit(f"{path}:{lineno} (field emotion): unknown label {emotion!r}")
            certain = row[3] if len(row) > 3 else "1"
            out[usage].append((name, int(emotion), certain))
    for u in out:
        out[u].sort()
    return out


def load_split(root: str, usage: str, entries: list) -> tuple:
    """Decode one split's PNGs; returns (Split, list of skipped 'name: reason')."""
    folder = os.path.join(root, "ferplus", SPLIT_DIRS[usage])
    imgs, labels, names, skipped = [], [], [], []
    for name, label, _ in entries:
        path = os.path.join(folder, name)
        img = cv2.imread(path, cv2.IMREAD_GRAYSCALE)
        if img is None:
            skipped.append(f"{path}: unreadable image, skipped")
            continue
        if img.shape != (48, 48):
            skipped.append(f"{path}: size {img.shape}, expected 48x48, skipped")
            continue
        imgs.append(img)
        labels.append(label)
        names.append(name)
    split = Split(usage, np.stack(imgs).astype(np.uint8), np.array(labels, dtype=np.int64), names)
    return split, skipped


def data_hash(root: str, labels: dict) -> tuple:
    """SHA-256 over the sorted lines "<Usage>/<image name>,<label>,<file size in bytes>\\n".

    Covers every labelled image of the three splits (Usage order Training, PublicTest,
    PrivateTest; names sorted inside each). Returns (hex digest, number of lines).
    """
    h = hashlib.sha256()
    n = 0
    for usage in SPLIT_DIRS:
        folder = os.path.join(root, "ferplus", SPLIT_DIRS[usage])
        for name, label, _ in labels[usage]:
            p = os.path.join(folder, name)
            size = os.path.getsize(p) if os.path.exists(p) else -1
            h.update(f"{usage}/{name},{label},{size}\n".encode())
            n += 1
    return h.hexdigest(), n


def load_splits(root: str, cache_dir: str | None = None) -> tuple:
    """Load all three splits once; returns ({usage: Split}, data hash, hashed line count, skipped).

    When cache_dir is given, decoded arrays are cached there keyed by the data hash.
    """
    labels = read_labels(root)
    digest, n = data_hash(root, labels)
    cache = os.path.join(cache_dir, f"fer2013-{digest[:16]}.npz") if cache_dir else None
    if cache and os.path.isfile(cache):
        z = np.load(cache, allow_pickle=False)
        splits = {
            u: Split(u, z[f"{u}_x"], z[f"{u}_y"], list(z[f"{u}_n"])) for u in SPLIT_DIRS
        }
        return splits, digest, n, list(z["skipped"])
    splits, skipped = {}, []
    for u in SPLIT_DIRS:
        s, sk = load_split(root, u, labels[u])
        splits[u] = s
        skipped += sk
    if cache:
        os.makedirs(cache_dir, exist_ok=True)
        arrays = {}
        for u, s in splits.items():
            arrays[f"{u}_x"], arrays[f"{u}_y"], arrays[f"{u}_n"] = s.images, s.labels, np.array(s.names)
        np.savez(cache, skipped=np.array(skipped, dtype=str), **arrays)
    return splits, digest, n, skipped
