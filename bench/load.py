"""A class of students on one Space: many visitors drawing and classifying while a fine-tune runs.

    python -m bench.load                 # prints a table the README quotes
    python -m bench.load --app /tmp/old  # the same against another checkout (a git worktree of an older main)

Starts ``python app.py`` and drives it with gradio_client from many processes, each its own
visitor (its own session): 12 visitors each send 15 digits to /predict_digit, 3 visitors each send
8 photos to /classify_photo, while one more visitor fine-tunes the whole classifier (the slow,
augmented strategy) on 3 classes. Reports failures and latency percentiles per endpoint, whether
the fine-tune overlapped the load, and that the server still answers afterwards.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from gradio_client import Client, handle_file

from bench import weights_home
from harness import zips
from harness.digit_drawings import random_drawing, render
from harness.server import ROOT, app_process, cpu_seconds, peak_memory_mb

PHOTOS = sorted((ROOT / "assets" / "photos").glob("*.jpg"))


def call(client: Client, endpoint: str, *inputs) -> tuple[str, float, str, object]:
    """(endpoint, seconds, error message or "", result) of one request."""
    started = time.perf_counter()
    try:
        result = client.predict(*inputs, api_name=endpoint)
    except Exception as error:
        return endpoint, time.perf_counter() - started, f"{type(error).__name__}: {error}"[:120], None
    return endpoint, time.perf_counter() - started, "", result


def draw(url: str, digits: list[tuple[str, int]]) -> list[tuple[str, float, str, bool]]:
    """A student drawing digits, one after the other: (endpoint, seconds, error, read right)."""
    client = Client(url, verbose=False)
    out = []
    for path, label in digits:
        endpoint, seconds, error, result = call(
            client, "/predict_digit", {"background": None, "layers": [], "composite": handle_file(path)}
        )
        out.append((endpoint, seconds, error, bool(result) and result.get("label") == str(label)))
    return out


def show(url: str, photos: list[str]) -> list[tuple[str, float, str, bool]]:
    """A student showing photos to AlexNet."""
    client = Client(url, verbose=False)
    return [call(client, "/classify_photo", handle_file(path))[:3] + (True,) for path in photos]


def fine_tune(url: str, archive: str) -> tuple[list[float], str]:
    """A student fine-tuning the whole classifier (the slow, augmented strategy): (span, error)."""
    started = time.time()
    _, _, error, _ = call(Client(url, verbose=False), "/finetune", handle_file(archive), "classifier", 4, 1e-4, 16)
    return [started, time.time()], error


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--digit-clients", type=int, default=12)
    parser.add_argument("--digit-requests", type=int, default=15)
    parser.add_argument("--photo-clients", type=int, default=3)
    parser.add_argument("--photo-requests", type=int, default=8)
    parser.add_argument("--no-finetune", action="store_true", help="the same load without the fine-tune")
    parser.add_argument("--app", type=Path, default=ROOT, help="the checkout whose app.py to run")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        torch_home = weights_home(Path(scratch))
        rng = np.random.default_rng(0)
        digits = []
        for i in range(args.digit_clients * args.digit_requests):
            path = folder / f"digit_{i}.png"
            render(random_drawing(i % 10, rng)).save(path)
            digits.append((path, i % 10))
        archive = folder / "dataset.zip"
        archive.write_bytes(zips.colour_dataset_zip("flat", ("red", "green", "blue"), 30))

        latencies: dict[str, list[float]] = {"/predict_digit": [], "/classify_photo": []}
        failures: dict[str, list[str]] = {"/predict_digit": [], "/classify_photo": [], "/finetune": []}
        right = [0]
        finetune_span = [0.0, 0.0]
        # One process per visitor, as each student has their own computer: in one process the
        # clients' threads would queue for the load generator's own GIL, not for the server.
        pool = ProcessPoolExecutor(max_workers=args.digit_clients + args.photo_clients + 1)
        list(pool.map(abs, range(pool._max_workers)))  # start (and import in) every worker first

        with app_process({"TORCH_HOME": torch_home}, cwd=args.app) as (url, process):
            trainer = None
            if not args.no_finetune:
                trainer = pool.submit(fine_tune, url, str(archive))
                time.sleep(2.0)  # the fine-tune is under way before the class arrives
            load_started = time.time()
            share = args.digit_requests
            visitors = [
                pool.submit(draw, url, [(str(p), d) for p, d in digits[i * share : (i + 1) * share]])
                for i in range(args.digit_clients)
            ]
            visitors += [
                pool.submit(show, url, [str(PHOTOS[(i + k) % len(PHOTOS)]) for k in range(args.photo_requests)])
                for i in range(args.photo_clients)
            ]
            for visitor in visitors:
                for endpoint, seconds, error, ok in visitor.result():
                    if error:
                        failures[endpoint].append(error)
                    else:
                        latencies[endpoint].append(seconds)
                        right[0] += ok and endpoint == "/predict_digit"
            load_ended = time.time()
            if trainer is not None:
                finetune_span[:], error = trainer.result()
                if error:
                    failures["/finetune"].append(error)
            alive = draw(url, [(str(digits[0][0]), digits[0][1])])[0][2] == ""
            memory = peak_memory_mb(process)
            server_cpu = cpu_seconds(process)
        pool.shutdown()
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        children_cpu = children.ru_utime + children.ru_stime  # the visitors' processes and the server

    print("| endpoint | requests | failed | p50 | p95 | max |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for endpoint, values in latencies.items():
        total = len(values) + len(failures[endpoint])
        print(
            f"| {endpoint} | {total} | {len(failures[endpoint])} | {percentile(values, 50) * 1000:.0f} ms | "
            f"{percentile(values, 95) * 1000:.0f} ms | {max(values, default=float('nan')) * 1000:.0f} ms |"
        )
    overlap = min(finetune_span[1], load_ended) - max(finetune_span[0], load_started)
    print(
        f"\nfine-tune (whole classifier, 4 epochs, 72 images): {finetune_span[1] - finetune_span[0]:.1f} s, "
        f"{'failed: ' + failures['/finetune'][0] if failures['/finetune'] else 'finished'}; "
        f"it overlapped the load for {max(overlap, 0):.1f} of {load_ended - load_started:.1f} s"
    )
    print(f"digits read right: {right[0]} of {len(latencies['/predict_digit'])}")
    print(
        f"server still answers afterwards: {'yes' if alive else 'NO'}; peak memory {memory:.0f} MiB; "
        f"server CPU time {server_cpu:.1f} s (start-up included)"
    )
    print(f"the visitors' own CPU time (gradio_client, on the same 2 cores): {children_cpu - server_cpu:.1f} s")
    for endpoint, messages in failures.items():
        for message in messages[:3]:
            print(f"failure on {endpoint}: {message}")


if __name__ == "__main__":
    main()
