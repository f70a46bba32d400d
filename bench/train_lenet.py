"""Training a visitor's LeNet: the app's job against a plain PyTorch loop, and the six variants.

    python -m bench.train_lenet                 # prints Markdown tables the README quotes
    python -m bench.train_lenet --repeats 5     # more runs per timing (the median is shown)

Torch runs on one thread, as the server runs jobs (``nets/training/jobs.py``). The MNIST in use is
``training_data()``'s: the whole set when its files are on the machine, else the app's subset.

1. Average pooling + ReLU, 2 epochs on 10,000 images, batch 32: the app's ``train`` (one-cycle
   Adam, images kept as uint8 and normalised per batch, a test pass after every epoch, progress
   events, stop checks) against the plain loop (same model and initial weights, same images and
   order, same epochs and batch size; Adam at its default rate, no schedule, inputs normalised
   once beforehand, no evaluation at all). The runs alternate and each side's median is shown.
2. The six variants (avg / max pooling x ReLU / sigmoid / tanh) with the app's default settings:
   test accuracy after each epoch, and seconds.

Seconds are wall-clock; CPU seconds (the process's) are shown too, since on a machine shared with
other work they move much less from run to run.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from nets.data.mnist import MnistData, stratified_choice, training_data
from nets.models.lenet import ACTIVATIONS, POOLINGS
from nets.training.visitor_lenet import LeNetFinished as Finished
from nets.training.visitor_lenet import LeNetSettings as Settings
from nets.training.visitor_lenet import evaluate, new_lenet, normalization, to_input, train


def app_training(settings: Settings, data: MnistData) -> tuple[float, float, Finished]:
    """Wall-clock and CPU seconds for the app's whole job (every event consumed), and its last event."""
    started, cpu = time.perf_counter(), time.process_time()
    *_, finished = train(settings, data)
    return time.perf_counter() - started, time.process_time() - cpu, finished


def plain_loop(settings: Settings, data: MnistData) -> tuple[float, float, float]:
    """The textbook loop on the same images: wall-clock and CPU seconds, then the test accuracy
    (measured untimed)."""
    started, cpu = time.perf_counter(), time.process_time()
    mean, std = normalization()
    chosen = torch.from_numpy(stratified_choice(data.train_labels.numpy(), settings.train_images, settings.seed))
    x = to_input(data.train_images[chosen], mean, std)  # (N, 1, 32, 32), normalised once
    y = data.train_labels[chosen]
    model = new_lenet(settings.pooling, settings.activation, settings.seed)
    optimizer = torch.optim.Adam(model.parameters())
    generator = torch.Generator().manual_seed(settings.seed)
    for _ in range(settings.epochs):
        order = torch.randperm(len(y), generator=generator)
        for start in range(0, len(y), settings.batch_size):
            index = order[start : start + settings.batch_size]
            loss = F.cross_entropy(model(x[index]), y[index])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return seconds, cpu, evaluate(model, data.test_images, data.test_labels)[1]


def speed_table(data: MnistData, repeats: int) -> None:
    settings = Settings(pooling="avg", activation="relu", epochs=2, train_images=10_000)
    runs: dict[str, list[tuple[float, float]]] = {"app": [], "plain": []}
    for _ in range(repeats):  # alternating, so both sides share the machine's ups and downs
        *seconds, finished = app_training(settings, data)
        runs["app"].append(tuple(seconds))
        *seconds, plain_acc = plain_loop(settings, data)
        runs["plain"].append(tuple(seconds))
    wall = {side: statistics.median(s for s, _ in times) for side, times in runs.items()}
    cpu = {side: statistics.median(c for _, c in times) for side, times in runs.items()}
    print(
        f"### Average pooling + ReLU, 2 epochs, 10,000 images, batch {settings.batch_size} "
        f"(median of {repeats} alternating runs each, torch at 1 thread)\n"
    )
    print("| training | test accuracy | seconds | CPU seconds | every run's seconds |")
    print("| --- | ---: | ---: | ---: | --- |")
    names = {
        "app": f"the app's (`nets.training.visitor_lenet.train`: one-cycle Adam, peak lr {settings.lr:g}, "
        "test pass after each epoch, events, stop checks)",
        "plain": "plain PyTorch loop (same model, images, order, epochs and batch; Adam lr 1e-3, "
        "no schedule, no evaluation)",
    }
    for side, accuracy in (("app", finished.test_acc), ("plain", plain_acc)):
        every = ", ".join(f"{s:.2f}" for s, _ in runs[side])
        print(f"| {names[side]} | {accuracy:.2%} | {wall[side]:.2f} | {cpu[side]:.2f} | {every} |")
    print(
        f"\nRatio app / plain: **{wall['app'] / wall['plain']:.2f}x** in seconds, "
        f"**{cpu['app'] / cpu['plain']:.2f}x** in CPU seconds (the goal: at most 1.5x, with at least 96%).\n"
    )


def variants_table(data: MnistData) -> None:
    settings = Settings()
    print(
        f"### The variants with the default settings ({settings.epochs} epochs, "
        f"{settings.train_images:,} images, batch {settings.batch_size}, one-cycle peak lr {settings.lr:g})\n"
    )
    epochs = " | ".join(f"test acc, epoch {e}" for e in range(1, settings.epochs + 1))
    print(f"| pooling | activation | {epochs} | seconds | CPU seconds |")
    print("| --- | --- |" + " ---: |" * (settings.epochs + 2))
    for pooling in POOLINGS:
        for activation in ACTIVATIONS:
            seconds, cpu, finished = app_training(Settings(pooling=pooling, activation=activation), data)
            accuracies = " | ".join(f"{a:.2%}" for a in finished.history["test_acc"])
            print(f"| {pooling} | {activation} | {accuracies} | {seconds:.2f} | {cpu:.2f} |", flush=True)
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3, help="runs of each side of the speed comparison")
    args = parser.parse_args()
    torch.set_num_threads(1)
    data = training_data()
    print(
        f"MNIST in use: {data.source} ({data.train_count:,} training, {data.test_count:,} test images, "
        f"from {data.where.name}); torch {torch.__version__}, {torch.get_num_threads()} thread\n"
    )
    speed_table(data, max(1, args.repeats))
    variants_table(data)


if __name__ == "__main__":
    main()
