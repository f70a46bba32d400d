"""The ways to fine-tune, raced through the API the way a program calls it.

    python -m bench.race                      # the shapes example, 8 epochs per way
    python -m bench.race --epochs 3 --all     # fewer epochs; all layers too (slow)
    python -m bench.race --zip my.zip

Starts ``python app.py`` on a quiet server and calls ``/race_strategies`` once; prints the table
it returns (one row per way: trainable parameters, seconds, best train and validation accuracy,
their gap) and the wall time the caller waited. Without cached ImageNet weights the app runs on a
stand-in file of the same architecture: the seconds and parameter counts are AlexNet's, the
accuracies are not ImageNet features' (they are what these weights learn on the dataset).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd
from gradio_client import Client, handle_file

from bench import weights_home
from harness.server import ROOT, app_process


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zip", type=Path, default=ROOT / "assets" / "shapes.zip", help="the dataset")
    parser.add_argument("--epochs", type=int, default=8, help="epochs per way (1-30)")
    parser.add_argument("--all", action="store_true", help="race all layers too")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        torch_home = weights_home(Path(scratch))
        with app_process({"TORCH_HOME": torch_home}) as (url, _):
            client = Client(url, verbose=False)
            started = time.perf_counter()
            status, _, table = client.predict(
                handle_file(str(args.zip)), args.epochs, args.all, api_name="/race_strategies"
            )
            waited = time.perf_counter() - started
    frame = pd.DataFrame(table["data"], columns=table["headers"])
    print(
        f"{args.zip.name}, {args.epochs} epochs per way; the caller waited {waited:.1f} s (upload and reading included)"
    )
    print("| " + " | ".join(frame.columns) + " |")
    print("| --- |" + " ---: |" * (len(frame.columns) - 1))
    for row in frame.itertuples(index=False):
        print("| " + " | ".join(f"{value:,}" if isinstance(value, int) else str(value) for value in row) + " |")
    print(status)


if __name__ == "__main__":
    main()
