"""Every sentence exists in English and Korean, and a visitor reads the server's sentences in theirs.

``nets/`` reports facts (codes and values); the UI words them from ``assets/i18n/*.json``. These
tests check the files (same keys, same placeholders, really translated), that every fact code
``nets/`` can produce has a sentence, and, through the real server, that a Korean visitor's
refusals are Korean from the first word to the last.
"""

from __future__ import annotations

import ast
import builtins
import re
import string
from pathlib import Path

import pytest
from gradio_client import handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from harness import zips
from harness.server import ROOT
from ui.text import LANGUAGE_COOKIE, TEXT, language, load_text, say

HANGUL = re.compile(r"[\uac00-\ud7a3]")
# An English sentence: two or more English words in a row (names, units and code aside).
ENGLISH_WORDS = re.compile(
    r"\b(?:the|is|are|and|not|of|a|an|to|in|with|this|your|image|zip|file)\b\s+[a-z]+", re.IGNORECASE
)


def fields(text: str) -> set[tuple[str, str]]:
    """A sentence's placeholders (a Korean particle after a name, ``name+을``, is the name's own spec)."""
    return {(name, spec.split("+")[0]) for _, name, spec, _ in string.Formatter().parse(text) if name is not None}


def test_korean_has_every_english_key():
    assert set(TEXT) == {"en", "ko"}
    assert set(TEXT["ko"]) == set(TEXT["en"])


def test_placeholders_match_so_formatting_never_fails():
    for key, english in load_text()["en"].items():
        assert fields(load_text()["ko"][key]) == fields(english), key


def test_a_key_lives_in_one_file(tmp_path):
    for name in ("a.json", "b.json"):
        (tmp_path / name).write_text('{"en": {"same": "x"}, "ko": {"same": "y"}}')
    with pytest.raises(ValueError, match="same"):
        load_text(tmp_path)


def test_korean_is_really_translated():
    hangul = [key for key, text in TEXT["ko"].items() if HANGUL.search(text)]
    untranslated = sorted(set(TEXT["ko"]) - set(hangul))
    # the rest are names, units, codes and empty phrases (CPU, GPU, "ko", "{layers}", "")
    assert all(not re.search(r"[a-z]{4,} [a-z]{4,}", TEXT["ko"][key]) for key in untranslated), untranslated


def codes_raised_in_nets() -> set[str]:
    """Every literal fact code in nets/: the first argument of fact(...), Fact(...), and of the
    refusal classes (SomethingError("code", ...))."""
    codes = set()
    for path in (ROOT / "nets").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
                name = getattr(node.func, "id", getattr(node.func, "attr", ""))
                refusal = name.endswith("Error") and not hasattr(builtins, name)  # DatasetError, not ValueError
                is_fact = name in ("fact", "Fact", "Refusal") or refusal
                if is_fact and isinstance(node.args[0].value, str):
                    codes.add(node.args[0].value)
    return codes


def test_every_fact_from_nets_has_a_sentence_in_both_languages():
    codes = codes_raised_in_nets()
    codes |= {f"unsafe_path_{problem}" for problem in ("backslash", "absolute", "drive", "climbs")}  # built
    codes -= {"unsafe_path_{problem}"}
    assert len(codes) > 40

    def worded(code: str, language: str) -> bool:  # a claim is worded in three parts
        return code in TEXT[language] or all(f"{code}_{part}" in TEXT[language] for part in ("title", "note", "exact"))

    missing = sorted(code for code in codes if not (worded(code, "en") and worded(code, "ko")))
    assert not missing, missing


class Request:
    def __init__(self, accept: str = "", cookie: str | None = None) -> None:
        self.headers = {"accept-language": accept}
        self.cookies = {LANGUAGE_COOKIE: cookie} if cookie else {}


def test_the_language_is_the_pages_choice_then_the_browsers_then_english():
    assert language(None) == "en"
    assert language(Request("ko-KR,ko;q=0.9,en;q=0.8")) == "ko"
    assert language(Request("en-US,en;q=0.9,ko;q=0.8")) == "en"
    assert language(Request("fr-FR,fr;q=0.9,ko;q=0.8")) == "en"  # a language we lack comes first: English
    assert language(Request("en-US", cookie="ko")) == "ko"  # chosen in the page's settings: that wins
    assert language(Request("ko", cookie="xx")) == "ko"  # a cookie naming no language of ours is ignored


def test_server_side_sentences_follow_the_visitors_language():
    english = say(Request("en-US,en;q=0.9"), "ft_stage_epoch", epoch=3, epochs=20)
    korean = say(Request("ko-KR,ko;q=0.9,en;q=0.8"), "ft_stage_epoch", epoch=3, epochs=20)
    assert english == TEXT["en"]["ft_stage_epoch"].format(epoch=3, epochs=20)
    assert korean == TEXT["ko"]["ft_stage_epoch"].format(epoch=3, epochs=20) and korean != english
    assert say(None, "photo_none") == TEXT["en"]["photo_none"]  # English by default


def test_strangers_names_are_escaped_for_where_they_are_shown():
    name = "<b>cats</b>_[x](y)"
    assert "&lt;b&gt;" in say(None, "zip_one_class", name=name)
    assert r"\[x\]\(y\)" in say(None, "zip_one_class", markup="markdown", name=name)


def korean_only(message: str) -> None:
    """A message a Korean visitor reads: Korean, with no English sentence left in it."""
    assert HANGUL.search(message), message
    files = r"[A-Za-z0-9_./-]+\.(?:zip|jpg|jpeg|png|webp|bmp|gif)"
    prose = re.sub(rf"'[^']*'|{files}", "", message)  # quoted names and file names are not sentences
    assert not ENGLISH_WORDS.search(prose), message


def test_a_korean_visitor_reads_refusals_in_korean(korean_client, tmp_path):
    """A refused hostile zip, a refused non-image photo and a refused non-image drawing."""
    bomb = tmp_path / "bomb.zip"
    bomb.write_bytes(zips.bomb_3gb())
    text = tmp_path / "holiday.jpg"
    text.write_text("Dear diary, today I renamed a text file.")
    checks = [
        ((handle_file(str(bomb)),), "/finetune"),
        ((handle_file(str(text)),), "/classify_photo"),
        (({"background": None, "layers": [], "composite": handle_file(str(text))},), "/predict_digit"),
    ]
    for inputs, endpoint in checks:
        with pytest.raises(AppError) as refused:
            korean_client.predict(*inputs, api_name=endpoint)
        korean_only(str(refused.value))


def test_a_korean_fine_tune_status_with_skipped_files_is_korean(korean_client, tmp_path):
    archive = tmp_path / "colours.zip"
    archive.write_bytes(zips.colour_dataset_zip("flat", ("red", "blue"), 8))
    outputs = korean_client.predict(handle_file(str(archive)), "head", 3, api_name="/finetune")
    status, skipped = outputs[0], outputs[2]
    korean_only(status)
    assert "broken" in str(skipped)  # the broken JPEG is listed, its reason in Korean
    for _, reason in skipped["value"]["data"] if "value" in skipped else skipped["data"]:
        korean_only(reason)


def test_nets_never_imports_gradio():
    """nets/ is the logic: every module imports in a fresh interpreter without gradio."""
    import subprocess
    import sys

    modules = sorted(
        ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for path in Path(ROOT / "nets").rglob("*.py")
    )
    script = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(sorted(m for m in sys.modules if m == 'gradio' or m.startswith('gradio.')))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]", out.stdout
    assert len(modules) >= 14


def test_a_korean_drawing_refusal_from_a_truncated_png_is_worded(korean_client, tmp_path):
    """A truncated PNG passes the header check but breaks while decoding: a clear message, not "Error"."""
    whole = tmp_path / "whole.png"
    Image.new("L", (400, 400), 255).save(whole)
    broken = tmp_path / "broken.png"
    broken.write_bytes(whole.read_bytes()[:-60])
    with pytest.raises(AppError) as refused:
        korean_client.predict(
            {"background": None, "layers": [], "composite": handle_file(str(broken))}, api_name="/predict_digit"
        )
    korean_only(str(refused.value))


def test_sizes_are_decimal_as_labelled_so_one_file_has_one_size():
    from ui.text import size_text

    assert size_text(218_000_000) == "218 MB"  # a whole classifier's file: what a file manager in MB shows
    assert size_text(100_000_000) == "100 MB" and size_text(1_000_000_000) == "1 GB"
    assert size_text(16_400) == "16.4 KB" and size_text(999) == "999 bytes"
    refusal = say(None, "zip_too_big", size=150_000_000, limit=100_000_000)
    assert refusal.startswith("The zip is 150 MB; the limit is 100 MB")


@pytest.mark.parametrize(
    "word, form, expected",
    [
        ("사과", "을", "를"),  # no final consonant
        ("연필", "를", "을"),  # a final consonant, whichever form is asked for
        ("고양이", "이", "가"),
        ("붓", "는", "은"),
        ("연필", "으로", "로"),  # a final ㄹ takes 로
        ("곰", "로", "으로"),
        ("고양이", "으로", "로"),
        ("class 7", "을", "을"),  # 칠: digits are read
        ("2", "은", "는"),  # 이
        ("paintbrush", "을", "을(를)"),  # a Latin ending cannot be read for sure: both forms
    ],
)
def test_a_korean_particle_follows_the_names_last_sound(word, form, expected):
    from ui.text import particle

    assert particle(word, form) == expected


def test_a_name_takes_its_particle_in_korean_and_none_in_english():
    from ui.text import say_in

    korean = say_in("ko", "ft_cell_right", markup="text", n=3, true="연필", guess="붓")
    assert "'붓'으로 답하려고" in korean and "(으)" not in korean
    assert "'고양이'로 답한" in say_in("ko", "ft_cell_wrong", markup="text", n=1, true="붓", guess="고양이")
    assert say_in("en", "ft_cell_right", markup="text", n=3, true="pencil", guess="brush").endswith("to say 'brush'.")
