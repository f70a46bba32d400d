"""Features of identical images computed once: a class fine-tuning the same example costs one pass.

When a teacher says "everyone, fine-tune the example", forty students send the same images. A new
head trains on the frozen network's features of each image (4,096 numbers, or the convolutions'
9,216), and those depend only on the image and the network, so each image's features are kept
here, keyed by the image's content (its pixels after the zip reader shrank it, so a repacked zip
of the same pictures hits too), the network and the stage they come from. Bounded in bytes; the
entries used longest ago go first. Features hold no more than the network's view of an image,
and a visitor gets them only for an image they sent themselves.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable

import torch
from PIL import Image

DEFAULT_BYTES = 256_000_000  # about 15,000 images' 4,096-d features (or 7,000 of the 9,216-d ones)


def image_key(image: Image.Image) -> bytes:
    """The image's content, as a short digest of its mode, size and pixels."""
    digest = hashlib.blake2b(digest_size=20)
    digest.update(f"{image.mode} {image.size}".encode())
    digest.update(image.tobytes())
    return digest.digest()


class FeatureCache:
    """Feature rows by (network, stage, image content), at most ``max_bytes`` of them."""

    def __init__(self, max_bytes: int = DEFAULT_BYTES) -> None:
        self.max_bytes = max_bytes
        self._rows: OrderedDict[tuple, torch.Tensor] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = self.misses = 0  # for tests and benchmarks

    @property
    def bytes(self) -> int:
        return self._bytes

    def features(
        self,
        network: object,
        stage: Callable[[object, torch.Tensor], torch.Tensor],
        images: list[Image.Image],
        transform: Callable[[Image.Image], torch.Tensor],
    ) -> torch.Tensor:
        """``stage(network, batch)`` of these images, (N, D): rows already known are not computed again."""
        keys = [(id(network), stage.__qualname__, image_key(image)) for image in images]
        with self._lock:
            found = {i: self._rows[key] for i, key in enumerate(keys) if key in self._rows}
            for i in found:
                self._rows.move_to_end(keys[i])
            self.hits += len(found)
            self.misses += len(images) - len(found)
        missing = [i for i in range(len(images)) if i not in found]
        if missing:
            batch = torch.stack([transform(images[i]) for i in missing])  # (M, 3, 224, 224)
            computed = stage(network, batch)  # (M, D)
            with self._lock:
                for row, i in enumerate(missing):
                    found[i] = computed[row]
                    self._keep(keys[i], computed[row].detach().clone())
        return torch.stack([found[i] for i in range(len(images))])  # (N, D)

    def _keep(self, key: tuple, row: torch.Tensor) -> None:
        size = row.numel() * row.element_size()
        if key in self._rows or size > self.max_bytes:
            return
        self._rows[key] = row
        self._bytes += size
        while self._bytes > self.max_bytes:
            _, old = self._rows.popitem(last=False)
            self._bytes -= old.numel() * old.element_size()
