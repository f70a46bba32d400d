"""Train the digit tab's LeNet on MNIST and save it to ``assets/``.

    python -m nets.training.shipped_lenet --data ../shared/data/mnist      # the four standard files
    python -m nets.training.shipped_lenet --download                        # torchvision fetches them
    python -m nets.training.shipped_lenet --data ... --dry-run              # a seconds-long smoke test

Digits drawn in the app differ from MNIST's pen strokes: thicker or thinner, slanted, rotated,
a little off-scale after cropping. Each batch is therefore augmented on the fly with a random
affine map (rotation, scale, shear, shift) and a random stroke thickness (a blend towards a
dilated or an eroded copy). Everything is seeded, so the same command gives the same weights.
Evaluation uses the 10,000 untouched test images.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from nets.data import mnist
from nets.models.lenet import ASSETS, INPUT_SIZE, LeNet

PAD = (INPUT_SIZE - 28) // 2  # 28x28 -> 32x32, as LeCun fed LeNet-5


def to_padded_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 ``(N, 28, 28)`` -> float ``(N, 1, 32, 32)`` in [0, 1], ink bright on black."""
    x = images.unsqueeze(1).float().div_(255.0)  # (N, 1, 28, 28)
    return F.pad(x, (PAD, PAD, PAD, PAD))  # (N, 1, 32, 32)


def random_affine(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Rotate up to 15 degrees, scale 0.85-1.1, shear up to 0.25, shift up to 2 px, per image."""
    n = x.shape[0]

    def uniform(low: float, high: float) -> torch.Tensor:
        return torch.empty(n).uniform_(low, high, generator=generator)

    angle = uniform(-15, 15) * math.pi / 180
    scale = uniform(0.85, 1.1)
    shear = uniform(-0.25, 0.25)
    shift = torch.empty(n, 2).uniform_(-2, 2, generator=generator) * (2 / x.shape[-1])
    cos, sin = torch.cos(angle), torch.sin(angle)
    # The grid maps output coordinates to input ones, so the inverse scale enlarges the digit.
    rotation = torch.stack([torch.stack([cos, -sin], 1), torch.stack([sin, cos], 1)], 1)  # (N, 2, 2)
    shearing = torch.eye(2).repeat(n, 1, 1)
    shearing[:, 0, 1] = shear
    linear = rotation @ shearing / scale.view(n, 1, 1)  # (N, 2, 2)
    theta = torch.cat([linear, shift.unsqueeze(2)], 2)  # (N, 2, 3)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def random_thickness(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Blend each image towards its dilation (thicker strokes) or erosion (thinner), at random."""
    n = x.shape[0]
    thicker = F.max_pool2d(x, 3, stride=1, padding=1)
    thinner = -F.max_pool2d(-x, 3, stride=1, padding=1)
    amount = torch.empty(n, 1, 1, 1).uniform_(-0.6, 1.0, generator=generator)
    target = torch.where(amount > 0, thicker, thinner)
    x = x + amount.abs() * (target - x)
    # Erosion dims thin strokes; the app stretches ink contrast, so restore full-strength ink.
    peak = x.amax(dim=(1, 2, 3), keepdim=True).clamp_(min=0.3)  # (N, 1, 1, 1)
    return x / peak


def augment(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    return random_affine(random_thickness(x, generator), generator).clamp_(0, 1)


@torch.inference_mode()
def test_accuracy(model: LeNet, x: torch.Tensor, y: torch.Tensor, mean: float, std: float) -> float:
    """Accuracy of ``model`` on padded images ``x`` (N, 1, 32, 32) in [0, 1]."""
    model.eval()
    correct = 0
    for start in range(0, len(x), 1000):
        logits = model((x[start : start + 1000] - mean) / std)
        correct += (logits.argmax(1) == y[start : start + 1000]).sum().item()
    return correct / len(x)


def train_shipped_lenet(args: argparse.Namespace) -> dict:
    """Train the LeNet the app ships (``assets/``) as ``args`` say; returns what its JSON file records."""
    torch.manual_seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed)
    folder = mnist.download(Path(args.download_root)) if args.download else Path(args.data)
    train_images, train_labels = mnist.load_split(folder, "train")
    test_images, test_labels = mnist.load_split(folder, "test")
    if args.dry_run:
        train_images, train_labels = train_images[:2048], train_labels[:2048]
        test_images, test_labels = test_images[:1000], test_labels[:1000]
    x_train, x_test = to_padded_float(train_images), to_padded_float(test_images)
    mean, std = x_train.mean().item(), x_train.std().item()

    model = LeNet(in_channels=1, num_classes=10)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    steps_per_epoch = math.ceil(len(x_train) / args.batch_size)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=args.lr, total_steps=args.epochs * steps_per_epoch, pct_start=0.15
    )
    for epoch in range(1, args.epochs + 1):
        model.train()
        started, total_loss = time.perf_counter(), 0.0
        order = torch.randperm(len(x_train), generator=generator)
        for start in range(0, len(x_train), args.batch_size):
            batch = order[start : start + args.batch_size]
            x = augment(x_train[batch], generator)  # (B, 1, 32, 32)
            loss = F.cross_entropy(model((x - mean) / std), train_labels[batch], label_smoothing=0.05)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            total_loss += loss.item() * len(batch)
        accuracy = test_accuracy(model, x_test, test_labels, mean, std)
        print(
            f"epoch {epoch:2d}/{args.epochs}  loss {total_loss / len(x_train):.4f}  "
            f"test acc {accuracy:.4f}  ({time.perf_counter() - started:.1f} s)",
            flush=True,
        )

    meta = {
        "architecture": "LeNet(in_channels=1, num_classes=10), see nets/models/lenet.py",
        "in_channels": 1,
        "input_size": [INPUT_SIZE, INPUT_SIZE],
        "categories": [str(d) for d in range(10)],
        "normalization": {"mean": round(mean, 6), "std": round(std, 6)},
        "test_accuracy": accuracy,
        "test_images": len(x_test),
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "seed": args.seed,
        "augmentation": "rotation +-15 deg, scale 0.85-1.1, shear +-0.25, shift +-2 px, stroke thickness",
        "num_params": sum(p.numel() for p in model.parameters()),
        "trained_with": f"python -m nets.training.shipped_lenet (torch {torch.__version__})",
    }
    if not args.dry_run:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        torch.save(model.state_dict(), out / "lenet_mnist.pth")
        (out / "lenet_mnist.json").write_text(json.dumps(meta, indent=2) + "\n")
        print(f"saved {out / 'lenet_mnist.pth'} and its metadata")
    return meta


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", help="folder with the four MNIST IDX files (.gz or not)")
    source.add_argument("--download", action="store_true", help="download MNIST with torchvision")
    parser.add_argument("--download-root", default="data", help="where --download puts the files")
    parser.add_argument("--out", default=str(ASSETS), help="folder for lenet_mnist.pth/.json")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--weight-decay", type=float, default=1e-4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dry-run", action="store_true", help="2,048 images, nothing saved")
    args = parser.parse_args()
    if args.dry_run:
        args.epochs = min(args.epochs, 1)
    train_shipped_lenet(args)


if __name__ == "__main__":
    main()
