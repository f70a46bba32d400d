"""The shape lab ("break the note's code"): each line's output shape, and where PyTorch refuses.

The oracle is the note's own code: the quoted text is executed here (in the test, never in the
app), edited as a visitor's switches edit it, and its real modules must give the shapes, the
refusing line and, on the CPU, the very message the lab reports. Then the API through the real
server, and the page in Chromium in English and Korean.
"""

from __future__ import annotations

import itertools
import re
import time

import pytest
import torch
import torch.nn.functional as F
from gradio_client.exceptions import AppError
from torch import nn

from harness.browser import open_tab, save_screenshot, wait_for_text
from nets.explaining import shapes
from nets.explaining.note_code import FLATTEN_LINE, FLATTEN_WITH_BATCH, NOTE_CODE, code_lines, pool_layer
from nets.explaining.shapes import ShapeChoiceError, trace_shapes
from ui.text import tell

HANGUL = re.compile(r"[\uac00-\ud7a3]")


# --- the oracle: the note's code itself ------------------------------------------------------------


def edited_code(network: str, flatten: str = "note", remove_pool: str = "") -> str:
    """The note's code as a visitor's switches edit it: the flatten line, a pooling line deleted."""
    code = NOTE_CODE[network]
    if flatten == "with_batch":
        code = code.replace(FLATTEN_LINE, FLATTEN_WITH_BATCH)
    if remove_pool:
        pool_line = "x = F.avg_pool2d(x, (2, 2))" if network == "lenet" else "nn.MaxPool2d((3, 3), 2)"
        lines = code.splitlines()
        places = [i for i, line in enumerate(lines) if pool_line in line]
        del lines[places[int(remove_pool[-1]) - 1]]
        code = "\n".join(lines)
    return code


class Recorder:
    """Runs the note's model and records (layer, shape) after each line, as the lab names them."""

    def __init__(self, network: str, flatten: str = "note", remove_pool: str = "", device: str = "meta") -> None:
        self.steps: list[tuple[str, tuple[int, ...]]] = []
        self.device = device
        self.running: str | None = None
        pools = [p for p in shapes.POOLS[network] if p != remove_pool]
        recorder = self

        class RecordingF:  # the note's F, with its average pooling recorded (it is no module)
            def __getattr__(self, name):
                return getattr(F, name)

            def avg_pool2d(self, *args, **kwargs):
                recorder.running = pools[0]
                out = F.avg_pool2d(*args, **kwargs)
                recorder.steps.append((pools.pop(0), tuple(out.shape)))
                return out

        namespace = {"torch": torch, "nn": nn, "F": RecordingF(), "print": lambda *_: None}
        with torch.device(device):
            exec(compile(edited_code(network, flatten, remove_pool), f"<the note's {network}>", "exec"), namespace)
        self.model = namespace[network]
        if network == "lenet":
            named = {"cn1": self.model.cn1, "cn2": self.model.cn2, "fc1": self.model.fc1}
            named |= {"fc2": self.model.fc2, "fc3": self.model.fc3}
        else:  # the lab keeps the note's places: a removed line leaves a gap in the numbering
            removed = int(pool_layer("alexnet", remove_pool)[8:-1]) if remove_pool else None
            places = [i for i in range(15) if i != removed]
            named = {f"convnet[{i}]": module for i, module in zip(places, self.model.convnet, strict=True)}
            named |= {f"fcnet[{i}]": module for i, module in enumerate(self.model.fcnet)}
        first_fc = named["fc1" if network == "lenet" else "fcnet[0]"]
        for name, module in named.items():
            is_first = module is first_fc
            module.register_forward_pre_hook(lambda _m, args, name=name, first=is_first: self.before(name, args, first))
            module.register_forward_hook(lambda _m, _a, out, name=name: self.steps.append((name, tuple(out.shape))))

    def before(self, name: str, args, first_fc: bool) -> None:
        if first_fc:  # what reaches the first fully connected layer is the flatten line's output
            self.steps.append(("flatten", tuple(args[0].shape)))
        self.running = name

    def run(self, shape: tuple[int, ...]) -> str | None:
        """Run the model on zeros of ``shape``; PyTorch's message if it refuses."""
        try:
            with torch.no_grad():
                self.model(torch.zeros(shape, device=self.device))
        except RuntimeError as refusal:
            return str(refusal)
        return None


LENET_CASES = list(
    itertools.product([1, 5], [1, 3], [8, 12, 16, 28, 32, 36, 64], ["note", "with_batch"], ["", "pool1", "pool2"])
)


@pytest.mark.parametrize(("batch", "channels", "size", "flatten", "remove_pool"), LENET_CASES)
def test_lenet_shapes_and_refusals_are_the_notes_own_code(batch, channels, size, flatten, remove_pool):
    """Every LeNet choice against the note's code run on the CPU: the same shapes line by line, the
    same refusing line, and PyTorch's own CPU message word for word."""
    oracle = Recorder("lenet", flatten, remove_pool, device="cpu")
    message = oracle.run((batch, channels, size, size))
    trace = trace_shapes("lenet", batch, channels, size, flatten, remove_pool)
    ran = [(step.layer, step.shape) for step in trace.steps]
    if message is None:
        assert ran == oracle.steps and trace.refused_at is None and trace.message is None
    else:
        assert ran == oracle.steps[: len(ran)]
        assert trace.refused_at == oracle.running
        assert trace.message == message.strip()


ALEXNET_CASES = list(itertools.product([1, 3], [8, 40, 63, 64, 100, 224, 227, 256], ["", "pool1", "pool2", "pool3"]))


@pytest.mark.parametrize(("channels", "size", "remove_pool"), ALEXNET_CASES)
def test_alexnet_shapes_and_refusals_are_the_notes_own_code(channels, size, remove_pool):
    """Every AlexNet choice against the note's code (on the meta device: 62M parameters)."""
    oracle = Recorder("alexnet", remove_pool=remove_pool)
    refused = oracle.run((2, channels, size, size)) is not None
    trace = trace_shapes("alexnet", 2, channels, size, "note", remove_pool)
    ran = [(step.layer, step.shape) for step in trace.steps]
    assert ran == oracle.steps[: len(ran)]
    assert (trace.refused_at is not None) == refused
    assert trace.refused_at == (oracle.running if refused else None)


def test_the_quoted_code_builds_the_models_the_lab_runs():
    """The note's code, as quoted, has exactly the parameters of the nets.models modules the lab runs."""
    for network, parameters in (("lenet", 62_006), ("alexnet", 62_378_344)):
        note = Recorder(network).model
        assert sum(p.numel() for p in note.parameters()) == parameters
        assert sum(p.numel() for p in shapes._note_model(network).parameters()) == parameters


def test_every_layer_sits_beside_its_line_of_the_note():
    for network in shapes.NETWORKS:
        beside = [layer for _, layer in code_lines(network) if layer]
        traced = [step.layer for step in trace_shapes(network, 1, 3, shapes.NOTE_INPUT[network]).steps]
        assert sorted(beside) == sorted(traced) and len(set(beside)) == len(beside)  # each layer on one line
    assert "".join(line + "\n" for line, _ in code_lines("lenet")).rstrip() == NOTE_CODE["lenet"]


# --- the note's two questions, answered by trying -----------------------------------------------


def test_a_refused_fully_connected_layer_names_both_numbers():
    trace = trace_shapes("lenet", 8, 3, 36)
    assert [step.shape for step in trace.steps][-1] == (8, 576)
    assert trace.refused_at == "fc1"
    assert trace.message == "mat1 and mat2 shapes cannot be multiplied (8x576 and 400x120)"
    assert tell(None, trace.why).startswith("fc1 expects 400 features per image (16 × 5 × 5")
    assert "got 576 (16 × 6 × 6)" in tell(None, trace.why)


def test_counting_the_first_dimension_turns_the_batch_into_one_row():
    """Why the note leaves out the first dimension: with it, 8 images become one row of 3,200."""
    counted = trace_shapes("lenet", 8, 3, 32, flatten="with_batch")
    assert counted.shape_of("flatten") == (1, 3200) and counted.refused_at == "fc1"
    assert counted.why.code == "shape_fc_batch_counted" and counted.why.values["got"] == 3200
    assert trace_shapes("lenet", 8, 3, 32).steps[-1].shape == (8, 10)
    # with one image both lines agree: the mistake hides until the batch grows
    assert trace_shapes("lenet", 1, 3, 32, flatten="with_batch").steps[-1].shape == (1, 10)


def test_six_by_six_holds_for_227_only():
    assert trace_shapes("alexnet", 2, 3, 227).shape_of("convnet[14]") == (2, 256, 6, 6)
    at_224 = trace_shapes("alexnet", 2, 3, 224)
    assert at_224.shape_of("convnet[14]") == (2, 256, 5, 5)
    assert (at_224.refused_at, at_224.why.values["expects"], at_224.why.values["got"]) == ("fcnet[1]", 9216, 6400)
    assert at_224.message == "mat1 and mat2 shapes cannot be multiplied (2x6400 and 9216x4096)"


def test_a_convolution_refuses_the_wrong_number_of_channels_and_too_small_maps():
    grey = trace_shapes("lenet", 2, 1, 32)
    assert grey.refused_at == "cn1" and grey.steps == ()
    assert grey.why.values == {"layer": "cn1", "expects": 3, "got": 1}
    assert "expected input[2, 1, 32, 32] to have 3 channels, but got 1 channels instead" in grey.message
    tiny = trace_shapes("lenet", 2, 3, 12)
    assert tiny.refused_at == "cn2" and tiny.why.code == "shape_kernel_too_big"
    assert "Kernel size can't be greater than actual input size" in tiny.message


def test_the_biggest_choice_costs_no_memory_and_little_time():
    start = time.perf_counter()
    trace = trace_shapes("alexnet", 64, 3, 512, remove_pool="pool3")
    assert trace.shape_of("convnet[13]") == (64, 256, 30, 30) and trace.refused_at == "fcnet[1]"
    assert time.perf_counter() - start < 2.0  # on the meta device: no 64 x 3 x 512 x 512 floats anywhere


@pytest.mark.parametrize(
    ("choice", "code"),
    [
        ({"batch": "x"}, "shape_not_whole"),
        ({"batch": 2.5}, "shape_not_whole"),
        ({"batch": True}, "shape_not_whole"),
        ({"batch": 0}, "shape_out_of_range"),
        ({"batch": 65}, "shape_out_of_range"),
        ({"channels": 5}, "shape_out_of_range"),
        ({"size": 7}, "shape_out_of_range"),
        ({"size": 513}, "shape_out_of_range"),
        ({"network": "vgg"}, "shape_unknown_choice"),
        ({"flatten": "x.size()"}, "shape_unknown_choice"),
        ({"remove_pool": "pool3"}, "shape_pool3_lenet"),
        ({"remove_pool": "pool4"}, "shape_unknown_choice"),
    ],
)
def test_choices_outside_the_lab_are_refused(choice, code):
    chosen = {"network": "lenet", "batch": 4, "channels": 3, "size": 32, **choice}
    with pytest.raises(ShapeChoiceError) as refused:
        trace_shapes(**chosen)
    assert refused.value.code == code


def test_numbers_may_come_as_text_or_floats():
    assert trace_shapes("lenet", "8", 3.0, " 32 ").steps[-1].shape == (8, 10)


def test_the_questions_answers_are_computed_from_the_models():
    fc1, at_224 = shapes.questions()
    assert fc1.options[fc1.answer].values["shape"] == str(trace_shapes(**vars(fc1.setting)).shape_of("flatten"))
    assert fc1.options[fc1.answer].values["shape"] == "(8, 400)"
    assert at_224.options[at_224.answer].values == {"layer": "fcnet[1]", "expects": 9216, "got": 6400}
    assert at_224.explanation.values["sides_224"] == "26 → 12 → 5"
    for question in (fc1, at_224):
        worded = [tell(None, option) for option in question.options]
        assert len(set(worded)) == len(worded)  # no two options alike


# --- the API, through the real server -------------------------------------------------------------


def test_trace_shapes_api_gives_every_shape_and_the_refusal(client):
    result = client.predict("lenet", 8, 3, 36, "note", "", api_name="/trace_shapes")
    assert [step["layer"] for step in result["steps"]] == ["cn1", "pool1", "cn2", "pool2", "flatten"]
    assert result["steps"][0]["shape"] == [8, 6, 32, 32] and result["steps"][-1]["shape"] == [8, 576]
    assert result["error"]["layer"] == "fc1"
    assert result["error"]["message"] == "mat1 and mat2 shapes cannot be multiplied (8x576 and 400x120)"
    assert result["error"]["explanation"].startswith("fc1 expects 400 features per image")
    assert "got 576" in result["error"]["explanation"]
    ok = client.predict("alexnet", 2, 3, 227, api_name="/trace_shapes")  # flatten, remove_pool: defaults
    assert ok["error"] is None and ok["steps"][-1] == {"layer": "fcnet[6]", "shape": [2, 1000]}


def test_trace_shapes_api_explains_in_korean(korean_client):
    result = korean_client.predict("alexnet", 1, 3, 224, "note", "", api_name="/trace_shapes")
    assert result["error"]["layer"] == "fcnet[1]"
    assert result["error"]["message"] == "mat1 and mat2 shapes cannot be multiplied (1x6400 and 9216x4096)"
    explanation = result["error"]["explanation"]
    assert HANGUL.search(explanation) and "9,216" in explanation and "6,400" in explanation


@pytest.mark.parametrize(
    ("inputs", "english", "korean"),
    [
        (("lenet", "x", 3, 32), "must be a whole number", "정수여야"),
        (("lenet", 0, 3, 32), "between 1 and 64", "1에서 64 사이"),
        (("lenet", 4, 3, 1000), "between 8 and 512", "8에서 512 사이"),
        (("lenet", 4, 3, 32, "note", "pool3"), "pool3 is AlexNet's", "pool3은 AlexNet에만"),
        (("resnet", 4, 3, 32), "must be one of 'lenet', 'alexnet'", "중 하나여야"),
    ],
)
def test_trace_shapes_api_refuses_what_the_lab_does_not_offer(client, korean_client, inputs, english, korean):
    with pytest.raises(AppError, match=re.escape(english)):
        client.predict(*inputs, api_name="/trace_shapes")
    with pytest.raises(AppError) as refused:
        korean_client.predict(*inputs, api_name="/trace_shapes")
    assert korean in str(refused.value) and HANGUL.search(str(refused.value))


# --- the page, in Chromium ------------------------------------------------------------------------


def choose_size(page, size: int) -> None:
    box = page.locator("#shape-size input[type=number]")
    box.fill(str(size))
    box.press("Enter")


@pytest.mark.parametrize(
    ("locale", "right", "says"), [("en-US", "Right.", "expects 400 features"), ("ko-KR", "맞아요", "특성 400개")]
)
def test_the_page_shows_the_shapes_and_the_refusal(browser, app_url, locale, right, says):
    page = open_tab(browser, app_url, "compare", "desktop", locale=locale)
    code = page.locator("#shape-code")
    wait_for_text(code, "(4, 6, 28, 28)")  # the default: 4 colour images of 32x32, cn1's output
    assert "(4, 10)" in code.inner_text()
    choose_size(page, 36)
    summary = wait_for_text(page.locator("#shape-summary"), "576")
    assert says in summary and "fc1" in summary
    assert page.locator("#shape-summary [aria-live=polite]").inner_text() == summary  # read aloud when it changes
    shown = wait_for_text(code.locator(".sl-error"), "mat1 and mat2 shapes cannot be multiplied (4x576 and 400x120)")
    assert says in shown
    assert code.locator(".sl-refused").inner_text().startswith("x = F.relu(self.fc1(x))")
    # the first question: answered, checked, explained, then shown in the lab
    page.locator("#shape-answer-1 label").filter(has_text="(8, 400)").click()
    page.locator("#shape-check-1").click()
    assert "(1, 3200)" in wait_for_text(page.locator("#shape-reveal-1"), right)
    page.locator("#shape-show-1").click()
    wait_for_text(code, "(8, 400)")
    choose_size(page, 36)  # the picture: a question answered, and PyTorch's refusal explained
    wait_for_text(code.locator(".sl-error"), "x576")
    save_screenshot(page, f"shape-lab-desktop-light{'-ko' if locale == 'ko-KR' else ''}", element="#shape-lab")
    assert page.console_errors == []


def test_the_page_answers_the_notes_question_on_a_phone(browser, app_url):
    """At 390 px: counting the first dimension, in Korean; the code wraps inside its box."""
    page = open_tab(browser, app_url, "compare", "phone", locale="ko-KR")
    code = page.locator("#shape-code")
    wait_for_text(code, "(4, 6, 28, 28)")
    page.locator("#shape-flatten label").nth(1).click()  # count every dimension: size = x.size()
    wait_for_text(page.locator("#shape-summary"), "배치까지")
    assert "size = x.size()" in code.locator(".sl-edited").inner_text()
    assert "(1, 1600)" in code.inner_text()
    fits = "(el) => el.scrollWidth <= el.clientWidth + 1"
    assert code.locator(".sl-code").evaluate(fits)
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")
    save_screenshot(page, "shape-lab-phone-light-ko", element="#shape-lab")
