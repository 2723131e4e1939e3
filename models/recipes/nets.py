"""The two FER2013 networks: a MobileNetV2 adapted to 48x48 gray input, and a self-built CNN.

Both take [N,1,48,48] float32 = pixel/255 (0..1); the fixed normalisation (x - 0.5) / 0.25 is
inside the graph, so the ONNX input is plain pixel/255. Both return logits over the 7 FER2013
classes (angry, disgust, fear, happy, sad, surprise, neutral) and expose `features(x)`, the
pooled vector fed to the classifier.
"""
from __future__ import annotations

import torch
from torch import nn

INPUT_MEAN = 0.5
INPUT_STD = 0.25


def make_divisible(v: float, divisor: int = 8) -> int:
    """Round a channel count to a multiple of `divisor` (MobileNetV2 reference rule)."""
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


class Normalize(nn.Module):
    """x -> (x - mean) / std with fixed constants (kept in the exported graph)."""

    def __init__(self, mean: float, std: float):
        super().__init__()
        self.register_buffer("mean", torch.tensor([[[[mean]]]], dtype=torch.float32))
        self.register_buffer("std", torch.tensor([[[[std]]]], dtype=torch.float32))

    def forward(self, x):
        return (x - self.mean) / self.std


def conv_bn_relu6(cin: int, cout: int, k: int, stride: int, groups: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU6(inplace=True),
    )


class InvertedResidual(nn.Module):
    """MobileNetV2 block: 1x1 expand (ReLU6) -> 3x3 depthwise (ReLU6) -> 1x1 linear project."""

    def __init__(self, cin: int, cout: int, stride: int, expand: int):
        super().__init__()
        hidden = cin * expand
        self.use_res = stride == 1 and cin == cout
        layers = []
        if expand != 1:
            layers.append(conv_bn_relu6(cin, hidden, 1, 1))
        layers += [
            conv_bn_relu6(hidden, hidden, 3, stride, groups=hidden),
            nn.Conv2d(hidden, cout, 1, 1, 0, bias=False),
            nn.BatchNorm2d(cout),
        ]
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.conv(x) if self.use_res else self.conv(x)


# (expansion t, channels c, repeats n, first stride s) as in Sandler et al. 2018, Table 2,
# with the strides re-planned for 48x48: total stride 16 instead of 32, so the last feature map
# is 3x3 (not 1x1): stem stride 2 (48 -> 24), the 24-channel stage keeps 24x24 (stride 1 instead
# of 2), then 24 -> 12 -> 6 -> 3 as in the original.
MOBILENETV2_48 = [
    (1, 16, 1, 1),  # 24x24
    (6, 24, 2, 1),  # 24x24 (original: stride 2)
    (6, 32, 3, 2),  # 12x12
    (6, 64, 4, 2),  # 6x6
    (6, 96, 3, 1),  # 6x6
    (6, 160, 3, 2),  # 3x3
    (6, 320, 1, 1),  # 3x3
]


class MobileNetV2FER(nn.Module):
    """MobileNetV2 (width multiplier `width`) for 48x48 gray faces, 7 logits."""

    def __init__(self, width: float = 0.5, last_channels: int = 640, num_classes: int = 7,
                 dropout: float = 0.2):
        super().__init__()
        self.norm = Normalize(INPUT_MEAN, INPUT_STD)
        cin = make_divisible(32 * width)
        layers = [conv_bn_relu6(1, cin, 3, 2)]  # stem: 3x3 stride 2, 48 -> 24
        for t, c, n, s in MOBILENETV2_48:
            cout = make_divisible(c * width)
            for i in range(n):
                layers.append(InvertedResidual(cin, cout, s if i == 0 else 1, t))
                cin = cout
        self.last_channels = last_channels
        layers.append(conv_bn_relu6(cin, last_channels, 1, 1))
        self.body = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(last_channels, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)

    def features(self, x):
        """Pooled features [N, last_channels]."""
        return torch.flatten(self.pool(self.body(self.norm(x))), 1)

    def forward(self, x):
        return self.fc(self.dropout(self.features(x)))


def conv_block(cin: int, cout: int, dropout: float) -> nn.Sequential:
    """(3x3 conv - BN - ReLU) x2, 2x2 max-pool, dropout."""
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
        nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
        nn.MaxPool2d(2), nn.Dropout(dropout),
    )


class SimpleCNN(nn.Module):
    """Self-built CNN: a stem (3x3 conv `stem` channels - BN - ReLU - 2x2 max-pool, 48 -> 24),
    then conv blocks of `widths` (24 -> 12 -> 6 -> 3), global average pool, dropout, FC."""

    def __init__(self, stem: int = 32, widths=(64, 128, 256), num_classes: int = 7,
                 dropout: float = 0.1, head_dropout: float = 0.3):
        super().__init__()
        self.norm = Normalize(INPUT_MEAN, INPUT_STD)
        blocks = [nn.Sequential(nn.Conv2d(1, stem, 3, 1, 1, bias=False), nn.BatchNorm2d(stem),
                                nn.ReLU(inplace=True), nn.MaxPool2d(2))]
        cin = stem
        for w in widths:
            blocks.append(conv_block(cin, w, dropout))
            cin = w
        self.body = nn.Sequential(*blocks)
        self.last_channels = cin
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(head_dropout)
        self.fc = nn.Linear(cin, num_classes)

    def features(self, x):
        """Pooled features [N, last channel width]."""
        return torch.flatten(self.pool(self.body(self.norm(x))), 1)

    def forward(self, x):
        return self.fc(self.dropout(self.features(x)))


def count_macs(model: nn.Module) -> int:
    """Multiply-accumulates of one 1x48x48 forward pass (conv + linear layers)."""
    total = [0]

    def hook(m, inp, out):
        if isinstance(m, nn.Conv2d):
            k = m.kernel_size[0] * m.kernel_size[1] * (m.in_channels // m.groups)
            total[0] += out.numel() * k
        elif isinstance(m, nn.Linear):
            total[0] += m.in_features * m.out_features

    hs = [m.register_forward_hook(hook) for m in model.modules()
          if isinstance(m, (nn.Conv2d, nn.Linear))]
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, 1, 48, 48))
    for h in hs:
        h.remove()
    return total[0]


def build(arch: str, **kw) -> nn.Module:
    """Network by recipe name: "mobilenetv2" or "simplecnn"."""
    if arch == "mobilenetv2":
        return MobileNetV2FER(**kw)
    if arch == "simplecnn":
        return SimpleCNN(**kw)
    raise ValueError(f"unknown arch {arch!r}")
