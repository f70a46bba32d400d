"""Fine-tuning speed against the naive loop, and hostile zips against the running server.

    python -m bench.finetune          # prints tables the README quotes

1. Speed, in-process, 3 classes x 60 photo-like JPEGs (240-480 px): the app's default job (the
   backbone runs once per image, its 4096 features are cached, 20 epochs train the new head)
   against a loop that runs the frozen backbone on every batch of every epoch for 10 epochs
   (same head, same optimiser). Reading the zip is timed separately (it is the same for both).
2. Hostile zips, through /finetune on a running `python app.py`: each refusal's time and the
   server's peak memory (VmHWM), then a good zip still fine-tunes.

Uses stand-in weights (same architecture, same cost) when no ImageNet weights are cached.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from bench import weights_home
from harness import zips
from harness.server import app_process, peak_memory_mb
from nets.data.dataset_zip import read_image_zip
from nets.models.alexnet import IMAGENET_TRANSFORM as EVAL_TRANSFORM
from nets.models.alexnet import load_imagenet_alexnet, new_head, penultimate
from nets.training.finetune import FineTuneSettings as Settings
from nets.training.finetune import batches, finetune


def naive_loop(backbone, dataset, epochs: int = 10, batch_size: int = 32) -> float:
    """The textbook loop: every batch of every epoch goes through the frozen backbone."""
    started = time.perf_counter()
    head = new_head(len(dataset.classes), torch.Generator().manual_seed(0))
    optimizer = torch.optim.AdamW(head.parameters(), lr=1e-3)
    for _ in range(epochs):
        for x, y in batches(dataset.train, batch_size, EVAL_TRANSFORM):
            loss = F.cross_entropy(head(penultimate(backbone, x)), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        with torch.no_grad():
            for x, _ in batches(dataset.val, 64, EVAL_TRANSFORM):
                head(penultimate(backbone, x))
    return time.perf_counter() - started


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        torch_home = weights_home(Path(scratch))
        os.environ["TORCH_HOME"] = torch_home
        backbone = load_imagenet_alexnet()

        archive = zips.colour_dataset_zip("flat", ("red", "green", "blue"), 60)
        started = time.perf_counter()
        dataset = read_image_zip(archive)
        reading = time.perf_counter() - started
        started = time.perf_counter()
        *_, finished = finetune(backbone, dataset, Settings())
        model = finished.model
        ours = time.perf_counter() - started
        naive = naive_loop(backbone, dataset)
        print("| 3 classes x 60 photos | seconds |")
        print("| --- | ---: |")
        print(f"| reading and decoding the zip (both) | {reading:.2f} |")
        print(f"| the app: features once + 20 epochs of the head (val acc {model.val_acc:.2f}) | {ours:.2f} |")
        print(f"| naive loop: frozen backbone on every batch, 10 epochs | {naive:.2f} |")
        print(f"| ratio, training only | {ours / naive:.2f}x |")
        print(f"| ratio, including reading the zip | {(reading + ours) / (reading + naive):.2f}x |")

        hostile = {
            name: build()
            for name, build in (
                ("zip slip", zips.zip_slip),
                ("absolute path", zips.absolute_path),
                ("symlink", zips.symlink_member),
                ("3 GiB of zeros", zips.bomb_3gb),
                ("30,000 entries", zips.many_entries),
                ("only a nested zip", zips.nested_zip_only),
                ("a PNG named .zip", zips.png_renamed),
                ("empty", zips.empty_zip),
                ("one class", zips.one_class),
                ("no images", zips.no_images),
                ("a class with one image", zips.class_with_one_image),
            )
        }
        with app_process({"TORCH_HOME": torch_home}) as (url, process):
            client = Client(url, verbose=False)
            print("\n| hostile zip | refused in | message |")
            print("| --- | ---: | --- |")
            for name, data in hostile.items():
                path = Path(scratch) / "upload.zip"
                path.write_bytes(data)
                started = time.perf_counter()
                try:
                    client.predict(handle_file(str(path)), api_name="/finetune")
                    message = "NOT REFUSED"
                except AppError as error:
                    message = str(error).splitlines()[0][:90]
                print(f"| {name} | {time.perf_counter() - started:.2f} s | {message} |")
            good = Path(scratch) / "good.zip"
            good.write_bytes(zips.colour_dataset_zip("flat", ("red", "blue"), 20))
            result = client.predict(handle_file(str(good)), api_name="/finetune")
            print(f"\nafterwards a good zip fine-tunes: {result[0].splitlines()[0]}")
            print(f"server peak memory (VmHWM): {peak_memory_mb(process):.0f} MiB")


if __name__ == "__main__":
    main()
