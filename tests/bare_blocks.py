"""A bare gr.Blocks page with the same kinds of components as the photo, compare, train and fine-tune tabs, nothing of
the app's own: the baseline tests/test_accessibility.py holds each tab to (``python tests/bare_blocks.py``)."""

from pathlib import Path

import gradio as gr
import pandas as pd

ASSETS = Path(__file__).resolve().parent.parent / "assets"
PHOTO = str(ASSETS / "photos" / "cat.jpg")
ZIP = str(ASSETS / "shapes.zip")

with gr.Blocks(title="Bare") as demo:
    gr.Markdown("# A page")
    with gr.Tabs():
        with gr.Tab("Photo"):
            gr.Markdown("### A photo\nSome words.")
            with gr.Row():
                with gr.Column():
                    photo = gr.Image(
                        type="filepath", sources=["upload", "webcam", "clipboard"], height=360, label="Photo"
                    )
                    gr.Button("Run", variant="primary")
                with gr.Column():
                    gr.Label(num_top_classes=5, label="Answer")
                    gr.Markdown()
            gr.Examples(examples=[PHOTO], inputs=photo, label="Examples")
            gr.Markdown("### A lab")
            with gr.Row():
                gr.Image(label="Heatmap", interactive=False, height=360)
                with gr.Column():
                    gr.Radio(["a", "b"], value="a", label="Layer", info="Some help.")
                    gr.Dropdown(["x", "y"], value=None, filterable=True, label="Class", info="Some help.")
                    gr.Markdown("Some words.")
            with gr.Accordion("Inside", open=False):
                gr.Markdown("Some words.")
        with gr.Tab("Compare"):
            gr.Markdown("### A comparison\nSome words.")
            with gr.Row():
                gr.Number(value=5, minimum=2, maximum=1000, precision=0, label="Classes", info="Some help.")
                gr.CheckboxGroup(["a", "b"], label="Extras")
            gr.HTML(
                "<table><thead><tr><th>Model</th><th>Count</th></tr></thead><tbody><tr><td>A</td><td>1</td></tr></tbody></table>"
            )
            gr.Markdown("Some words.")
            with gr.Row():
                gr.HTML("<p>A chart</p>")
                gr.HTML("<p>A chart</p>")
            gr.Dropdown(["a", "b"], value="a", label="Model")
            gr.Dataframe(pd.DataFrame({"layer": ["a", "b"], "count": [1, 2]}), label="Layers", interactive=False)
            gr.Markdown("### Claims")
            gr.HTML("<p>Claims</p>")
        with gr.Tab("Train"):
            gr.Markdown("### A training\nSome words.")
            with gr.Accordion("More", open=False):
                gr.Markdown("Some words.")
            with gr.Row():
                with gr.Column():
                    gr.Radio(["a", "b"], value="a", label="Pooling", info="Some help.")
                    gr.Radio(["c", "d"], value="c", label="Activation", info="Some help.")
                with gr.Column():
                    gr.Slider(1, 10, value=3, step=1, label="Epochs", info="Some help.")
                    gr.Slider(100, 1000, value=500, step=100, label="Images", info="Some help.")
            gr.Markdown("Some words.")
            with gr.Row():
                gr.Button("Start", variant="primary")
                gr.Button("Stop", interactive=False)
            gr.Markdown("Done: some words.")
            with gr.Row():
                gr.HTML("<p>A chart</p>")
                gr.HTML("<p>A chart</p>")
            gr.HTML("<p>Kernels</p>")
            gr.Dataframe(pd.DataFrame({"epoch": [1, 2], "loss": [0.5, 0.3]}), label="History", interactive=False)
            gr.Dataframe(pd.DataFrame({"run": [1], "accuracy": ["90%"]}), label="Runs", interactive=False)
        with gr.Tab("Fine-tune"):
            gr.Markdown("### A fine-tune\nSome words.")
            with gr.Accordion("More", open=False):
                gr.Markdown("Some words.")
            with gr.Tabs():
                with gr.Tab("Zip"), gr.Row():
                    archive = gr.File(label="Zip", file_types=[".zip"], type="filepath")
                    gr.Examples(examples=[ZIP], inputs=archive, label="Examples")
                with gr.Tab("Build"):
                    gr.Markdown("Some words.")
            with gr.Row():
                with gr.Column():
                    gr.Radio(["a", "b"], value="a", label="Strategy")
                    gr.Checkbox(value=True, label="Regularise", info="Some help.")
                with gr.Column():
                    gr.Slider(1, 10, value=3, step=1, label="Epochs")
                    gr.Number(value=0.001, label="Rate", info="Some help.")
            with gr.Row():
                gr.Button("Start", variant="primary")
                gr.Button("Stop", interactive=False)
            gr.Markdown("Done: some words.")
            with gr.Row():
                gr.HTML("<p>A chart</p>")
                gr.HTML("<p>A chart</p>")
            gr.Dataframe(pd.DataFrame({"a": [1, 2], "b": [0.5, 0.3]}), label="Summary", interactive=False)
            gr.Dataframe(
                pd.DataFrame({"truth": ["a", "b"], "a": [1, 0], "b": [0, 1]}), label="Confusion", interactive=False
            )
            gr.Gallery([PHOTO, PHOTO], label="Wrong", columns=4)
            gr.HTML("<p>A map</p>")
            with gr.Row():
                photo2 = gr.Image(type="filepath", label="Try")
                gr.Label(num_top_classes=3, label="Answer")
            gr.Button("Try")
            gr.File(value=PHOTO, label="Download", interactive=False)
            gr.Code("import torch\nmodel = torch.load('m.pt')\n", language="python", label="Code")

if __name__ == "__main__":
    demo.launch()
