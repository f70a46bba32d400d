"""A fine-tune through the API on a quiet server, against the tutorial's loop on the same machine.

    python -m bench.finetune_idle                 # this checkout
    python -m bench.finetune_idle --app /tmp/old  # another checkout (e.g. a git worktree of an older main)

The tutorial loop is what a reader of the note would write: read the images, then for 10 epochs
run the frozen AlexNet on every batch and train the new head (torch's default threads, in this
process). The app's figure is the wall time a ``gradio_client`` caller waits for ``/finetune``
with the default settings (new head, 20 epochs) on the same zip, upload included, with nobody
else on the server. Three runs of each; the medians are compared.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import torch
from gradio_client import Client, handle_file

from bench import weights_home
from bench.finetune import naive_loop
from harness import zips
from harness.server import ROOT, app_process
from nets.data.dataset_zip import read_image_zip
from nets.models.alexnet import load_imagenet_alexnet

RUNS = 3


def tutorial_loop(backbone, archive: Path) -> float:
    """Seconds for the textbook way: read the zip, then ``bench.finetune``'s naive loop (the frozen
    backbone on every batch of every epoch, 10 epochs)."""
    started = time.perf_counter()
    dataset = read_image_zip(archive)
    read = time.perf_counter() - started
    return read + naive_loop(backbone, dataset)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--app", type=Path, default=ROOT, help="the checkout whose app.py to run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        torch_home = weights_home(Path(scratch))
        os.environ["TORCH_HOME"] = torch_home
        archive = Path(scratch) / "colours.zip"
        archive.write_bytes(zips.colour_dataset_zip("flat", ("red", "green", "blue"), 60))
        backbone = load_imagenet_alexnet()
        tutorial = [tutorial_loop(backbone, archive) for _ in range(RUNS)]
        del backbone
        with app_process({"TORCH_HOME": torch_home}, cwd=args.app) as (url, _):
            client = Client(url, verbose=False)
            client.predict(handle_file(str(ROOT / "assets/photos/cat.jpg")), api_name="/classify_photo")  # warm
            app = []
            for _ in range(RUNS):
                started = time.perf_counter()
                client.predict(handle_file(str(archive)), api_name="/finetune")
                app.append(time.perf_counter() - started)
    t, a = statistics.median(tutorial), statistics.median(app)
    print(
        f"checkout: {args.app}; {os.cpu_count()} cores; torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads by default"
    )
    print("| 3 classes x 60 photos, seconds (median of 3) | value |")
    print("| --- | ---: |")
    print(f"| tutorial loop: read the zip, frozen backbone on every batch, 10 epochs | {t:.2f} |")
    print(f"| the app through the API, quiet server: upload, read, features once, 20 epochs of the head | {a:.2f} |")
    print(f"| ratio | {a / t:.2f}x |")
    print("all runs:", [round(x, 2) for x in tutorial], [round(x, 2) for x in app])


if __name__ == "__main__":
    main()
