"""A stand-in for torchvision's ImageNet AlexNet weights, for machines that cannot download them.

The real weights (244 MB) cannot be downloaded in the test environment, and tests must never
depend on the network. ``write_standin_weights`` saves a He-initialised torchvision AlexNet's
state_dict under the exact file name torchvision caches the ImageNet weights as, inside a given
``TORCH_HOME``, so the app and the tests load it through the real code path. The benchmarks
import this module too (never a conftest). The stand-in classifies nothing meaningfully: its
classes are noise, and nothing in the app presents them as trained.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
from torchvision.models import alexnet as torchvision_alexnet

from nets.models.alexnet import cached_weights_file


def standin_alexnet(seed: int = 0) -> nn.Module:
    """torchvision's AlexNet with He-initialised weights (activations neither vanish nor explode)."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = torchvision_alexnet()
        for module in model.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
                nn.init.zeros_(module.bias)
    return model


def write_standin_weights(torch_home: Path) -> Path:
    """Save ``standin_alexnet()`` where torchvision looks for the ImageNet weights under
    ``torch_home`` (``hub/checkpoints/<the ImageNet file name>``); return ``torch_home``."""
    checkpoints = torch_home / "hub" / "checkpoints"
    checkpoints.mkdir(parents=True)
    torch.save(standin_alexnet().state_dict(), checkpoints / cached_weights_file().name)
    return torch_home
