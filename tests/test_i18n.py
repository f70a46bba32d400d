"""Every sentence of the UI exists in English and Korean, with the same placeholders."""

from __future__ import annotations

import json
import string

from tests.server import ROOT

TEXT = json.loads((ROOT / "assets" / "i18n.json").read_text(encoding="utf-8"))


def fields(text: str) -> set[tuple[str, str]]:
    return {(name, spec) for _, name, spec, _ in string.Formatter().parse(text) if name is not None}


def test_korean_has_every_english_key():
    assert set(TEXT) == {"en", "ko"}
    assert set(TEXT["ko"]) == set(TEXT["en"])


def test_placeholders_match_so_formatting_never_fails():
    for key, english in TEXT["en"].items():
        assert fields(TEXT["ko"][key]) == fields(english), key


def test_korean_is_really_translated():
    hangul = [key for key, text in TEXT["ko"].items() if any("\uac00" <= c <= "\ud7a3" for c in text)]
    assert len(hangul) >= 0.9 * len(TEXT["ko"])  # the rest are names and units (CPU, GPU)


def test_server_side_sentences_follow_the_browser_language():
    import app

    class Request:
        def __init__(self, language: str) -> None:
            self.headers = {"accept-language": language}

    english = app.say(Request("en-US,en;q=0.9"), "ft_stage_epoch", epoch=3, epochs=20)
    korean = app.say(Request("ko-KR,ko;q=0.9,en;q=0.8"), "ft_stage_epoch", epoch=3, epochs=20)
    assert english == TEXT["en"]["ft_stage_epoch"].format(epoch=3, epochs=20)
    assert korean == TEXT["ko"]["ft_stage_epoch"].format(epoch=3, epochs=20) and korean != english
    assert app.say(None, "photo_none") == TEXT["en"]["photo_none"]  # English by default
