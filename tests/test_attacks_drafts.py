"""Each address gets its own share of the drafts budget: a stranger's many drafts push out their own.

A stranger opened eight sessions and built a large draft in each: the drafts budget held, but an
idle visitor's draft (on another address) was deleted to make room. Here a real server, with a
4 MB drafts budget, is attacked so through the queue, as the page does.
"""

from __future__ import annotations

import pytest

from harness import attacks
from harness.attacks import noise_photos
from harness.light_client import Visitor
from harness.server import app_process

STRANGER, VICTIM = "198.18.12.12", "192.0.2.120"
DRAFT_BYTES = 4_000_000  # 1.5 GB on the Space: a quarter of it (1 MB here) per address


@pytest.fixture(scope="module")
def server(standin_weights, tmp_path_factory):
    temp = tmp_path_factory.mktemp("drafts")
    env = {
        "TORCH_HOME": str(standin_weights),
        "TMPDIR": str(temp),
        "GRADIO_TEMP_DIR": str(temp / "gradio"),
        "BUDGET_DRAFT_BYTES": str(DRAFT_BYTES),
    }
    with app_process(env, log=temp / "app.log") as (url, process):
        yield url


def build_draft(visitor: Visitor, photos: list[dict]) -> None:
    outcome = attacks.build_draft(visitor, photos)
    assert outcome.kind == "complete" and f"apples: {len(photos)}<" in outcome.data[1], outcome


def test_a_strangers_eight_drafts_push_out_their_own_not_an_idle_visitors(server):
    """A visitor builds a 5-image draft and waits; a stranger builds eight 5-image drafts (4.6 MB of
    the 4 MB budget). The visitor's draft is still there; the stranger's first drafts were deleted,
    and the stranger is told so. Before: the idle visitor's draft was the first to go."""
    url = server
    victim = Visitor(url, VICTIM)
    build_draft(victim, noise_photos(victim, 5, seed=1))
    stranger_photos = noise_photos(Visitor(url, STRANGER), 5, seed=2)
    strangers = [Visitor(url, STRANGER) for _ in range(8)]
    for stranger in strangers:
        build_draft(stranger, stranger_photos)
    shown = victim.join("show_class", ["apples"])
    assert shown.kind == "complete", shown
    assert len(shown.data[0]["value"]) == 5
    first = strangers[0].join("show_class", ["apples"])
    assert first.kind == "error" and "Your images were cleared" in first.message, first
    last = strangers[-1].join("show_class", ["apples"])
    assert last.kind == "complete" and len(last.data[0]["value"]) == 5
