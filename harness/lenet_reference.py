"""PyTorch's side of the browser engine's parity checks (the tests and bench.engine_choice)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from nets.training.visitor_lenet import WARMUP, normalization, to_input


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
