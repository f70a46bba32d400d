"""API latency against bare Gradio baselines, and the cold start against the import time.

    python -m bench.latency              # prints a table the README quotes

- /predict_digit vs a bare Gradio app with the same Sketchpad input that only echoes the payload
  (returns it unchanged), and vs one that returns a constant label: both get the same request.
- /classify_photo vs a bare Gradio app echoing the same gr.Image payload, plus the raw torchvision
  forward pass (weights.transforms() + model) on the same photo, measured in-process.
- Cold start: from spawning ``python app.py`` to the first /predict_digit answer, vs the time a
  fresh interpreter needs to ``import torch, torchvision, gradio``.

The photo tab needs weights: with none cached, a stand-in file (He-initialised, same
architecture, so the same cost) is put in a temporary TORCH_HOME.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import torch
from gradio_client import Client, handle_file

from bench import weights_home
from harness.server import ROOT, running_app
from nets.models.alexnet import IMAGENET_WEIGHTS

DIGIT = ROOT / "assets" / "examples" / "digit_3.png"
PHOTO = ROOT / "assets" / "photos" / "cat.jpg"

ECHO_APP = textwrap.dedent("""
    import gradio as gr
    with gr.Blocks() as demo:
        sketch = gr.Sketchpad(canvas_size=(400, 400), format="png", layers=False, transforms=())
        echoed = gr.Sketchpad(canvas_size=(400, 400), format="png", layers=False, transforms=())
        label = gr.Label()
        photo = gr.Image(type="filepath", image_mode=None)
        photo_out = gr.Image(type="filepath")
        sketch.change(lambda value: value, sketch, echoed, api_name="echo_sketch")
        sketch.input(lambda value: {"0": 1.0}, sketch, label, api_name="constant_label")
        photo.change(lambda path: path, photo, photo_out, api_name="echo_photo")
    demo.queue().launch()
""")


def median_ms(call, repeats: int) -> float:
    for _ in range(5):  # warm up: connections, caches, lazy loading
        call()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def sketch_value() -> dict:
    return {"background": None, "layers": [], "composite": handle_file(str(DIGIT))}


def raw_forward_ms(torch_home: str, repeats: int) -> float:
    """torchvision's own pipeline on the photo, in this process: decode, transforms, forward."""
    import os

    from PIL import Image
    from torchvision.models import alexnet

    os.environ["TORCH_HOME"] = torch_home
    model = alexnet(weights=IMAGENET_WEIGHTS).eval()
    transform = IMAGENET_WEIGHTS.transforms()

    def forward() -> None:
        with torch.inference_mode():
            model(transform(Image.open(PHOTO).convert("RGB")).unsqueeze(0))

    return median_ms(forward, repeats)


def cold_start_s(env: dict[str, str]) -> tuple[float, float]:
    """(seconds to import torch+torchvision+gradio, seconds from spawn to the first digit answer)."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import torch, torchvision, gradio"], check=True)
    imports = time.perf_counter() - started
    started = time.perf_counter()
    with running_app(env) as url:
        Client(url, verbose=False).predict(sketch_value(), api_name="/predict_digit")
        first = time.perf_counter() - started
    return imports, first


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=40)
    parser.add_argument("--cold-starts", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        torch_home = weights_home(Path(scratch))
        env = {"TORCH_HOME": torch_home}
        echo_script = Path(scratch) / "echo_app.py"
        echo_script.write_text(ECHO_APP)

        with running_app(env) as app_url, running_app(env, script=str(echo_script)) as echo_url:
            app, echo = Client(app_url, verbose=False), Client(echo_url, verbose=False)
            digit = median_ms(lambda: app.predict(sketch_value(), api_name="/predict_digit"), args.repeats)
            echo_sketch = median_ms(lambda: echo.predict(sketch_value(), api_name="/echo_sketch"), args.repeats)
            constant = median_ms(lambda: echo.predict(sketch_value(), api_name="/constant_label"), args.repeats)
            photo = median_ms(lambda: app.predict(handle_file(str(PHOTO)), api_name="/classify_photo"), args.repeats)
            echo_photo = median_ms(lambda: echo.predict(handle_file(str(PHOTO)), api_name="/echo_photo"), args.repeats)
        forward = raw_forward_ms(torch_home, args.repeats)
        starts = [cold_start_s(env) for _ in range(args.cold_starts)]

    imports = statistics.median(s[0] for s in starts)
    first = statistics.median(s[1] for s in starts)
    print("| measure | this app | baseline | ratio |")
    print("| --- | ---: | ---: | ---: |")
    print(
        f"| /predict_digit median latency vs echo app (payload echoed back) | {digit:.0f} ms | "
        f"{echo_sketch:.0f} ms | {digit / echo_sketch:.2f}x |"
    )
    print(
        f"| /predict_digit median latency vs echo app (constant label) | {digit:.0f} ms | {constant:.0f} ms | "
        f"{digit / constant:.2f}x |"
    )
    print(
        f"| /classify_photo median latency vs echo app + raw torchvision forward | {photo:.0f} ms | "
        f"{echo_photo:.0f} + {forward:.0f} ms | {photo / (echo_photo + forward):.2f}x |"
    )
    print(
        f"| first digit answer after a cold `python app.py` vs `import torch, torchvision, gradio` | "
        f"{first:.1f} s | {imports:.1f} s | {first / imports:.2f}x |"
    )


if __name__ == "__main__":
    main()
