"""Benchmark scripts; each prints the figures the README quotes (run with ``python -m bench.<name>``)."""

from __future__ import annotations

from pathlib import Path

import torch

from nets.models.alexnet import cached_weights_file


def weights_home(scratch: Path) -> str:
    """A TORCH_HOME that holds AlexNet's ImageNet weights: the real cache if they are there, else
    a folder in ``scratch`` with a stand-in file (He-initialised, same architecture, same cost)."""
    if cached_weights_file().is_file():
        return str(Path(torch.hub.get_dir()).parent)
    from harness.standin import write_standin_weights

    print("(no ImageNet weights cached: using a stand-in file of the same architecture)")
    return str(write_standin_weights(Path(scratch) / "torch_home"))
