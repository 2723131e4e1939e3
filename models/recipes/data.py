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
import json
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


# ---------------------------------------------------------------------------------------------
# The training matrix: one loader per training dataset, each returning train / val / test parts
# with the kit's ids, canonical class names and the kit's splits (data/splits/*.csv).
# ---------------------------------------------------------------------------------------------

#: Canonical class names (lib/taxonomy.ts EMOTIONS order) each dataset's networks predict.
DATASET_CLASSES = {
    "fer2013": ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"],
    "ferplus": ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral", "contempt"],
    "ckplus": ["angry", "disgust", "fear", "happy", "sad", "surprise", "contempt"],
    "expw": ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"],
}
#: FER+ vote columns (label.csv order) -> canonical name; None for unknown / not-a-face.
FERPLUS_COLUMNS = ["neutral", "happy", "surprise", "sad", "angry", "disgust", "fear", "contempt",
                   None, None]
CKPLUS_FOLDERS = {"anger": "angry", "contempt": "contempt", "disgust": "disgust", "fear": "fear",
                  "happy": "happy", "sadness": "sad", "surprise": "surprise"}
#: Fraction of the training part's groups (CK+ subjects, ExpW source images, FER2013 images for
#: the Kaggle layout) carved out as the validation part, seeded.
VAL_FRACTION = 0.15
SPLIT_SEED = 2024


@dataclass
class Part:
    """One part (train / val / test) of a training dataset: uint8 [N,48,48], int64 labels (index
    into the dataset's classes), the kit's sample ids, groups (subject / source image) or ids."""

    name: str
    images: np.ndarray
    labels: np.ndarray
    ids: list
    groups: list


@dataclass
class Dataset:
    name: str
    classes: list
    parts: dict  # "train" | "val" | "test" -> Part
    sha256: str
    hashed_lines: int
    hash_of: str
    split_note: str
    skipped: list


def ferplus_majority(votes: list) -> int | None:
    """The kit's FER+ "majority" rule (lib/datasets/ferplus.ts ferplusLabel): single votes are
    discarded, the first top column must hold more than half of the remaining votes, and an
    unknown / not-a-face winner excludes the image. Returns the column index or None."""
    valid = [0 if v <= 1 else v for v in votes]
    total = sum(valid)
    if total == 0:
        return None
    best = max(range(10), key=lambda i: (valid[i], -i))
    if 2 * valid[best] <= total or FERPLUS_COLUMNS[best] is None:
        return None
    return best


def read_kit_splits(repo: str, name: str) -> dict:
    """id -> "train" | "test" from the kit's saved split manifest data/splits/<name>.csv."""
    path = os.path.join(repo, "data", "splits", f"{name}.csv")
    out = {}
    with open(path, newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        if header != ["id", "split"]:
            raise SystemExit(f"{path}:1: expected header id,split, got {header}")
        for lineno, row in enumerate(reader, start=2):
            if len(row) != 2 or row[1] not in ("train", "val", "test"):
                raise SystemExit(f"{path}:{lineno}: expected id,train|val|test, got {row}")
            out[row[0]] = row[1]
    return out


def carve_by_group(groups: list, fraction: float, seed: int) -> set:
    """A seeded set of groups (about `fraction` of the distinct groups) for the validation part."""
    distinct = sorted(set(groups))
    rng = np.random.RandomState(seed)
    order = rng.permutation(len(distinct))
    k = max(1, int(round(fraction * len(distinct))))
    return {distinct[i] for i in order[:k]}


def stratified_fraction(labels: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Sorted indices of a seeded, class-stratified `fraction` of `labels` (at least 1 a class)."""
    rng = np.random.RandomState(seed)
    keep = []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        k = max(1, int(round(fraction * len(idx))))
        keep.append(np.sort(idx[rng.permutation(len(idx))[:k]]))
    return np.sort(np.concatenate(keep))


def hash_lines(lines: list) -> str:
    h = hashlib.sha256()
    for line in lines:
        h.update((line + "\n").encode())
    return h.hexdigest()


def _part(name, rows) -> Part:
    """rows: (id, image uint8 48x48, label index, group)."""
    if not rows:
        return Part(name, np.zeros((0, 48, 48), np.uint8), np.zeros(0, np.int64), [], [])
    return Part(name, np.stack([r[1] for r in rows]).astype(np.uint8),
                np.array([r[2] for r in rows], np.int64), [r[0] for r in rows],
                [r[3] for r in rows])


def crop_face_48(img_bgr: np.ndarray, left: int, top: int, right: int, bottom: int) -> np.ndarray:
    """The kit's crop for a gray 48x48 model (lib/preprocess.ts): the face box (margin 0, clamped
    to the image), bilinear half-pixel resize of the RGB crop in float (cv2.INTER_LINEAR), then
    BT.601 gray in float; rounded to uint8 here (the kit keeps float)."""
    h, w = img_bgr.shape[:2]
    x0, y0, x1, y1 = max(0, left), max(0, top), min(w, right), min(h, bottom)
    crop = img_bgr[y0:y1, x0:x1].astype(np.float32)
    small = cv2.resize(crop, (48, 48), interpolation=cv2.INTER_LINEAR)
    gray = 0.114 * small[..., 0] + 0.587 * small[..., 1] + 0.299 * small[..., 2]
    return np.clip(np.rint(gray), 0, 255).astype(np.uint8)


def _load_fer2013(root, repo, split_option):
    labels = read_labels(root)
    classes = DATASET_CLASSES["fer2013"]
    parts, skipped, lines = {}, [], []
    for usage, part in (("Training", "train"), ("PublicTest", "val"), ("PrivateTest", "test")):
        s, sk = load_split(root, usage, labels[usage])
        skipped += sk
        rows = [(n, s.images[i], int(s.labels[i]), n) for i, n in enumerate(s.names)]
        parts[part] = rows
    digest, n = data_hash(root, labels)
    note = ("FER2013 Training (FER2013Train PNGs, original labels) / PublicTest (FER2013Valid) / "
            "PrivateTest (FER2013Test)")
    hash_of = ("SHA-256 over '<Usage>/<image name>,<label>,<PNG size in bytes>\\n', Usage in the "
               "order Training, PublicTest, PrivateTest, names sorted (models/recipes/data.py "
               "data_hash)")
    if split_option == "kaggle":
        # Tao's setup: the Kaggle download's test folder = PublicTest + PrivateTest; the layout
        # has no validation folder, so validation is carved from Training (stratified, seeded).
        train = parts["train"]
        y = np.array([r[2] for r in train])
        val_idx = set(stratified_fraction(y, 0.1, SPLIT_SEED).tolist())
        parts = {
            "train": [r for i, r in enumerate(train) if i not in val_idx],
            "val": [r for i, r in enumerate(train) if i in val_idx],
            "test": parts["val"] + parts["test"],
        }
        note = ("FER-2013 as the Kaggle folders split it (Tao 2023): train = Training less a "
                "stratified seeded 10% carved out for validation; test = the whole test folder "
                "(PublicTest + PrivateTest)")
    return classes, parts, digest, n, hash_of, note, skipped


def _load_ferplus(root, repo):
    classes = DATASET_CLASSES["ferplus"]
    parts, skipped, lines = {}, [], []
    for folder, part in (("FER2013Train", "train"), ("FER2013Valid", "val"),
                         ("FER2013Test", "test")):
        d = os.path.join(root, "ferplus", folder)
        rows = []
        with open(os.path.join(d, "label.csv"), newline="") as f:
            for lineno, row in enumerate(csv.reader(f), start=1):
                if len(row) != 12:
                    raise SystemExit(f"{d}/label.csv:{lineno}: expected 12 fields, got {len(row)}")
                col = ferplus_majority([int(v) for v in row[2:]])
                if col is None:
                    continue
                label = classes.index(FERPLUS_COLUMNS[col])
                path = os.path.join(d, row[0])
                img = cv2.imread(path, cv2.IMREAD_GRAYSCALE)
                if img is None or img.shape != (48, 48):
                    skipped.append(f"{path}: unreadable or not 48x48, skipped")
                    continue
                rows.append((row[0], img, label, row[0]))
                lines.append(f"{part}/{row[0]},{label},{os.path.getsize(path)}")
        rows.sort(key=lambda r: r[0])
        parts[part] = rows
    lines.sort()
    note = ("FER+ majority labels (8 classes; the kit's rule: single votes dropped, winner > half, "
            "unknown / not-a-face excluded): FER2013Train / FER2013Valid / FER2013Test")
    return (classes, parts, hash_lines(lines), len(lines),
            "SHA-256 over the sorted lines '<part>/<image name>,<label index>,<PNG bytes>\\n'",
            note, skipped)


def _load_ckplus(root, repo):
    classes = DATASET_CLASSES["ckplus"]
    kit = read_kit_splits(repo, "ckplus")
    image_dir = os.path.join(root, "ckplus", "CK+48")
    rows, lines = [], []
    for folder in sorted(os.listdir(image_dir)):
        if folder.lower() not in CKPLUS_FOLDERS:
            raise SystemExit(f"{image_dir}/{folder}: unknown CK+ class folder")
        label = classes.index(CKPLUS_FOLDERS[folder.lower()])
        for name in sorted(os.listdir(os.path.join(image_dir, folder))):
            path = os.path.join(image_dir, folder, name)
            sid = os.path.splitext(name)[0]
            img = cv2.imread(path, cv2.IMREAD_GRAYSCALE)
            if img.shape != (48, 48):
                raise SystemExit(f"{path}: size {img.shape}, expected 48x48")
            if sid not in kit:
                raise SystemExit(f"{sid}: not in data/splits/ckplus.csv")
            rows.append((sid, img, label, sid.split("_")[0].upper(), kit[sid]))
    val_groups = carve_by_group([r[3] for r in rows if r[4] == "train"], VAL_FRACTION, SPLIT_SEED)
    parts = {"train": [], "val": [], "test": []}
    for r in sorted(rows, key=lambda r: r[0]):
        part = "test" if r[4] == "test" else ("val" if r[3] in val_groups else "train")
        parts[part].append(r[:4])
        lines.append(f"{part}/{r[0]},{r[2]}")
    lines.sort()
    note = ("CK+48, the kit's subject-disjoint test fold (data/splits/ckplus.csv); validation = "
            f"{len(val_groups)} training subjects carved out (seeded, {VAL_FRACTION:.0%} of them)")
    return (classes, parts, hash_lines(lines), len(lines),
            "SHA-256 over the sorted lines '<part>/<id>,<label index>\\n'", note, [])


def _load_expw(root, repo):
    classes = DATASET_CLASSES["expw"]
    kit = read_kit_splits(repo, "expw")
    d = os.path.join(root, "expw")
    rows, lines, skipped = [], [], []
    by_image: dict = {}
    with open(os.path.join(d, "label.lst")) as f:
        for lineno, line in enumerate(f, start=1):
            fs = line.split()
            if not fs:
                continue
            if len(fs) != 8:
                raise SystemExit(f"{d}/label.lst:{lineno}: expected 8 fields, got {len(fs)}")
            by_image.setdefault(fs[0], []).append((lineno, fs))
    for image in sorted(by_image):
        img = cv2.imread(os.path.join(d, "Images", image), cv2.IMREAD_COLOR)
        if img is None:
            skipped.append(f"{d}/Images/{image}: unreadable, skipped")
            continue
        for lineno, fs in by_image[image]:
            face, top, left, right, bottom = (int(v) for v in fs[1:6])
            fid = f"{os.path.splitext(image)[0]}_face{face}"
            if fid not in kit:
                raise SystemExit(f"{d}/label.lst:{lineno}: {fid} not in data/splits/expw.csv")
            label = int(fs[7])
            rows.append((fid, crop_face_48(img, left, top, right, bottom), label, image, kit[fid]))
            lines.append(f"{kit[fid]}/{fid},{label},{top},{left},{right},{bottom}")
    val_groups = carve_by_group([r[3] for r in rows if r[4] == "train"], VAL_FRACTION, SPLIT_SEED)
    parts = {"train": [], "val": [], "test": []}
    for r in sorted(rows, key=lambda r: r[0]):
        part = "test" if r[4] == "test" else ("val" if r[3] in val_groups else "train")
        parts[part].append(r[:4])
    lines.sort()
    note = ("ExpW subset, the kit's split (data/splits/expw.csv); validation = "
            f"{len(val_groups)} training source images carved out (seeded, {VAL_FRACTION:.0%}) "
            "with all their faces; faces cut by their box, 48x48 gray")
    return (classes, parts, hash_lines(lines), len(lines),
            "SHA-256 over the sorted lines '<kit split>/<face id>,<label>,<top>,<left>,<right>,"
            "<bottom>\\n'", note, skipped)


def load_dataset(name: str, root: str, repo: str, cache_dir: str | None = None,
                 split_option: str = "default") -> Dataset:
    """One training dataset with its train / val / test parts (cached as .npz in cache_dir,
    keyed by the dataset, the split option and the kit's split manifest)."""
    key = name + ("-kaggle" if split_option == "kaggle" else "")
    manifest = os.path.join(repo, "data", "splits", f"{name}.csv")
    mtag = ""
    if os.path.isfile(manifest):
        with open(manifest, "rb") as f:
            mtag = hashlib.sha256(f.read()).hexdigest()[:12]
    cache = os.path.join(cache_dir, f"{key}-{mtag or 'nosplit'}-v1.npz") if cache_dir else None
    if cache and os.path.isfile(cache):
        z = np.load(cache, allow_pickle=False)
        parts = {p: Part(p, z[f"{p}_x"], z[f"{p}_y"], list(z[f"{p}_ids"]), list(z[f"{p}_g"]))
                 for p in ("train", "val", "test")}
        meta = json.loads(str(z["meta"]))
        return Dataset(name, meta["classes"], parts, meta["sha256"], meta["lines"],
                       meta["hash_of"], meta["note"], meta["skipped"])
    if name == "fer2013":
        out = _load_fer2013(root, repo, split_option)
    elif name == "ferplus":
        out = _load_ferplus(root, repo)
    elif name == "ckplus":
        out = _load_ckplus(root, repo)
    elif name == "expw":
        out = _load_expw(root, repo)
    else:
        raise SystemExit(f"unknown dataset {name!r}")
    classes, rows, digest, n, hash_of, note, skipped = out
    parts = {p: _part(p, rows[p]) for p in ("train", "val", "test")}
    if cache:
        os.makedirs(cache_dir, exist_ok=True)
        arrays = {}
        for p, s in parts.items():
            arrays.update({f"{p}_x": s.images, f"{p}_y": s.labels, f"{p}_ids": np.array(s.ids),
                           f"{p}_g": np.array(s.groups)})
        meta = {"classes": classes, "sha256": digest, "lines": n, "hash_of": hash_of,
                "note": note, "skipped": skipped}
        np.savez(cache + ".tmp.npz", meta=np.array(json.dumps(meta)), **arrays)
        os.replace(cache + ".tmp.npz", cache)
    return Dataset(name, classes, parts, digest, n, hash_of, note, skipped)


def main() -> int:
    """Print a sample of a training dataset's parts as JSON (for tests/recipes_matrix_test.ts):
    {classes, counts, ids: {part: [...all ids]}, sample: [{part, id, label, pixelsBase64}]}."""
    import argparse
    import base64

    ap = argparse.ArgumentParser(description=main.__doc__)
    ap.add_argument("--dataset", required=True, choices=sorted(DATASET_CLASSES))
    ap.add_argument("--data", default=None)
    ap.add_argument("--cache", default=None, help="decoded-array cache folder")
    ap.add_argument("--fer2013-split", default="default", choices=["default", "kaggle"])
    ap.add_argument("--every", type=int, default=500, help="sample every N-th image of a part")
    args = ap.parse_args()
    root = args.data or os.environ.get("FER_DATA") or "data/raw"
    repo = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    ds = load_dataset(args.dataset, root, repo, args.cache, args.fer2013_split)
    sample = []
    for name, p in ds.parts.items():
        for i in range(0, len(p.labels), args.every):
            sample.append({"part": name, "id": str(p.ids[i]), "label": ds.classes[p.labels[i]],
                           "pixelsBase64": base64.b64encode(p.images[i].tobytes()).decode()})
    print(json.dumps({
        "classes": ds.classes, "sha256": ds.sha256,
        "counts": {n: int(len(p.labels)) for n, p in ds.parts.items()},
        "ids": {n: [str(i) for i in p.ids] for n, p in ds.parts.items()},
        "groups": {n: sorted({str(g) for g in p.groups}) for n, p in ds.parts.items()},
        "sample": sample,
    }))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
