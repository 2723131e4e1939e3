"""The training loop both recipes share (train.py, train_epochs.py): input tensors, one epoch of
SGD steps over a shuffled, augmented epoch, and evaluation (loss, accuracy, confusion matrix)."""
from __future__ import annotations

from typing import Callable, Optional

import numpy as np
import torch
import torch.nn.functional as F

CPU = torch.device("cpu")


def to_tensor(images: np.ndarray, device: torch.device = CPU) -> torch.Tensor:
    """uint8 [N,48,48] -> float32 [N,1,48,48] = pixel/255, channels-last memory, on device."""
    x = torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1).to(device)
    return x.contiguous(memory_format=torch.channels_last)


@torch.no_grad()
def evaluate(model, images: np.ndarray, labels: np.ndarray, k: int, device: torch.device = CPU,
             batch: int = 500) -> dict:
    """Mean cross-entropy, accuracy and k x k confusion matrix (rows true, cols predicted);
    NaN loss and accuracy for an empty part."""
    model.eval()
    if len(labels) == 0:
        return {"loss": float("nan"), "acc": float("nan"), "cm": np.zeros((k, k), np.int64)}
    total, preds = 0.0, []
    for i in range(0, len(labels), batch):
        logits = model(to_tensor(images[i:i + batch], device))
        y = torch.from_numpy(labels[i:i + batch]).to(device)
        total += F.cross_entropy(logits, y, reduction="sum").item()
        preds.append(logits.argmax(1).cpu().numpy())
    pred = np.concatenate(preds)
    cm = np.zeros((k, k), np.int64)
    np.add.at(cm, (labels, pred), 1)
    return {"loss": total / len(pred), "acc": float((pred == labels).mean()), "cm": cm}


def train_epoch(model, opt, images: np.ndarray, labels: np.ndarray, batch: int,
                lr_before_step: Callable[[int], Optional[float]], device: torch.device = CPU,
                after_step: Optional[Callable[[int], None]] = None) -> dict:
    """One epoch of SGD over images/labels (already shuffled and augmented) in batches of
    `batch`. Before step b (0-based, within the epoch) `lr_before_step(b)` gives the learning
    rate, or None to end the epoch early (a spent time budget). Returns the summed loss, the
    correct count, the images seen, the steps taken and the last learning rate (None if no
    step was taken)."""
    model.train()
    loss_sum, correct, seen, lr, taken = 0.0, 0, 0, None, 0
    for b in range((len(labels) + batch - 1) // batch):
        step_lr = lr_before_step(b)
        if step_lr is None:
            break
        lr = step_lr
        for g in opt.param_groups:
            g["lr"] = lr
        x = to_tensor(images[b * batch:(b + 1) * batch], device)
        y = torch.from_numpy(labels[b * batch:(b + 1) * batch]).to(device)
        logits = model(x)
        loss = F.cross_entropy(logits, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        taken += 1
        loss_sum += loss.item() * len(y)
        correct += int((logits.argmax(1) == y).sum())
        seen += len(y)
        if after_step is not None:
            after_step(b)
    return {"loss_sum": loss_sum, "correct": correct, "seen": seen, "steps": taken, "lr": lr}
