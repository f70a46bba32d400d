"""PyTorch's side of the browser engine's parity checks (the tests and bench.engine_choice)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from nets.models.lenet import read_web_weights
from nets.training.visitor_lenet import WARMUP, new_lenet, normalization, to_input


def torch_step(model: torch.nn.Module, images: np.ndarray, labels: np.ndarray, lr: float, total_steps: int):
    """One step of visitor_lenet.py's training on ``model`` (Adam at one-cycle's first learning rate,
    updated in place): the loss and the gradients by parameter name, as numpy copies."""
    mean, std = normalization()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=total_steps, pct_start=WARMUP)
    logits = model(to_input(torch.from_numpy(images), mean, std))  # (B, 10)
    loss = F.cross_entropy(logits, torch.from_numpy(labels).long())
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    grads = {name: p.grad.detach().numpy().copy() for name, p in model.named_parameters()}
    optimizer.step()
    schedule.step()
    return loss.item(), grads


def pytorch_accuracy(weights: dict, images: np.ndarray, labels: np.ndarray) -> float:
    """A LeNet in the page's weights format (``assets/web/lenet_mnist.json``'s), read by Python and
    scored by PyTorch on ``images`` (N, 28, 28 uint8) against ``labels``."""
    state_dict, meta = read_web_weights(weights)
    model = new_lenet(meta["pooling"], meta["activation"], seed=0)
    model.load_state_dict(state_dict)
    model.eval()
    with torch.inference_mode():
        logits = model(to_input(torch.from_numpy(np.array(images)), meta["mean"], meta["std"]))  # (N, 10)
    return float((logits.argmax(1).numpy() == labels).mean())
