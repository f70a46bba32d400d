"""A bare gr.Blocks page with the same kinds of components as the photo and compare tabs, nothing of
the app's own: the baseline tests/test_accessibility.py holds each tab to (``python tests/bare_blocks.py``)."""

from pathlib import Path

import gradio as gr
import pandas as pd

PHOTO = str(Path(__file__).resolve().parent.parent / "assets" / "photos" / "cat.jpg")

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

if __name__ == "__main__":
    demo.launch()
