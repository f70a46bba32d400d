"""Where the app's files are, written once for ``nets/`` and ``ui/``: the checkout's root and its
``assets/`` folder (shipped weights, example digits and photos, shapes.zip, the sentences)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the checkout: app.py, nets/, ui/, assets/
ASSETS = ROOT / "assets"
