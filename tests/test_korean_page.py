"""A Korean visitor's page shows (and says) no English word: what counts as one. The browser test that
reads every tab with them is tests/test_browser_tabs.py's ``test_every_tab_speaks_korean_to_a_korean_browser``
(ko-KR, each tab in a used state: a LeNet trained, a photo answered, a fine-tune finished; at a
computer's and a phone's width, in light and then dark theme, beside its screenshots); every visible
text node, chart text, CSS-generated word and screen-reader name collected (harness.browser.
visible_texts: document.body.innerText misses the charts' SVG text, Gradio's control names and
generated words). Allowed: names of people and things (models, data sets, libraries, a book),
code identifiers, units and formats, the visitor's own file and class names, and a glossary term in
brackets after its Korean word."""

from __future__ import annotations

import re

from harness.browser import wait_for_text
from harness.server import ROOT

NAMES = {  # people, models, data sets, libraries, the book, the brand
    *[
        "LeNet",
        "LeNet-5",
        "AlexNet",
        "VGG-16",
        "ResNet-18",
        "ResNet-50",
        "GoogLeNet",
        "SqueezeNet",
        "ImageNet",
        "MNIST",
        "PyTorch",
    ],
    *[
        "Gradio",
        "torchvision",
        "scikit-image",
        "LeCun",
        "Krizhevsky",
        "Sutskever",
        "Hinton",
        "Selvaraju",
        "Ashish",
        "Ranjan",
        "Jha",
    ],
    *["Mastering", "Packt", "PacktPublishing/Mastering-PyTorch", "Grad-CAM", "GTX", "NVIDIA", "CC0", "Small", "Large"],
}
CODE = {
    "view",  # x.view(-1, 400): the note's code, quoted in the claims
    "classes",  # nn.Linear(4096, len(classes)): the note's code
    "ReLU",
    "sigmoid",
    "tanh",
    "softmax",
    "maxpooling",
    "Linear",
    "Dropout",
    "avgpool",
}  # functions; a word the note uses, quoted
UNITS = {"ms", "s", "px", "zip", "jpg", "png", "pt", "fp32", "KB", "MB", "GB", "x"}
VISITORS_OWN = {"shapes", "circle", "square", "triangle", "finetuned_alexnet"}  # assets/shapes.zip's names
ALLOWED = NAMES | CODE | UNITS | VISITORS_OWN
GLOSSARY = re.compile(r"[가-힣]\s?\(([A-Za-z][A-Za-z -]*)\)")  # 특성 맵(feature map)
WORD = re.compile(r"[A-Za-z][A-Za-z0-9_.\-/'’]*")


def allowed(word: str) -> bool:
    word = word.rstrip(".-'’/")
    return (
        not word
        or word in ALLOWED
        or len(word) == 1  # a variable, N classes, H x W
        or word.isupper()  # an abbreviation: CNN, FC, PCA, API, CPU, RGB
        or any(c.isdigit() or c in "_." for c in word)  # conv5, fc1, Conv2d, torch.flatten, x.view
        or re.search(r"[a-z][A-Z]", word) is not None  # CamelCase: MaxPool2d, AdaptiveAvgPool2d
    )


def english_words(texts: list[str]) -> dict[str, str]:
    """{English word: the text it is in} for each word not allowed."""
    found = {}
    for text in texts:
        text = GLOSSARY.sub("", text)
        for match in WORD.finditer(text):
            after = text[match.end() : match.end() + 2]
            if after[:1] in ("(", "[") or after == " =":  # a call, an index, an assignment: code
                continue
            if not allowed(match.group()):
                found.setdefault(match.group(), text[:120])
    return found


def test_the_allowed_words_do_not_hide_english():
    assert english_words(["Start 버튼", "Stop training", "특성 맵(feature map)을 봐요"]) == {
        "Start": "Start 버튼",
        "Stop": "Stop training",
        "training": "Stop training",
    }
    assert english_words(["Conv2d, Linear(4096, N), torch.flatten, conv5, 121 ms, LeNet, CNN, size = x.size()"]) == {}


def use(page, tab: str) -> None:
    if tab == "train":  # a short LeNet run
        images = page.locator("#train-images input[type=number]")
        images.fill("2000")
        images.press("Enter")
        page.locator("#train-start").click()
        wait_for_text(page.locator("#train-status"), "완료", timeout=90)
        wait_for_text(page.locator("#train-runs"), "ReLU", timeout=10)
    elif tab == "photo":  # a photo's answer and its heatmap
        page.locator("#photo-input input[type=file]").set_input_files(str(ROOT / "assets/photos/cat.jpg"))
        wait_for_text(page.locator("#photo-timing"), "만에 답했어요")
    elif tab == "finetune":  # a finished fine-tune of the example zip
        page.locator("#finetune-zip input[type=file]").set_input_files(str(ROOT / "assets/shapes.zip"))
        page.locator("#finetune-start").click()
        wait_for_text(page.locator("#finetune-snippet"), "torch", timeout=120)
        # a column's heading pointed at: Gradio shows its menu button there (named "Open cell menu")
        page.locator("#finetune-history .header-cell").filter(visible=True).nth(1).hover()
        page.locator("#finetune-history .cell-menu-button").filter(visible=True).first.wait_for(timeout=5_000)
    elif tab == "compare":
        wait_for_text(page.locator("#models-table"), "62,378,344")
    page.wait_for_timeout(1500)  # Gradio's names are put in Korean once a frame
