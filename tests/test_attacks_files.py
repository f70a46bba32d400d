"""A path written for one visitor is never another visitor's input.

Gradio accepts as an input any file it serves: anyone's upload, a draft's images, a model's
download (the scratch folders are served as they are). A stranger who learnt such a path could
send it to ``/classify_photo`` as theirs. Here a real server is attacked so.
"""

from __future__ import annotations

import pytest

from harness.attacks import file_data, noise_photos
from harness.light_client import Visitor
from harness.server import ROOT, app_process
from tests.test_attacks_drafts import build_draft

STRANGER, VICTIM = "198.18.13.13", "192.0.2.130"


@pytest.fixture(scope="module")
def server(standin_weights, tmp_path_factory):
    temp = tmp_path_factory.mktemp("files")
    env = {"TORCH_HOME": str(standin_weights), "TMPDIR": str(temp), "GRADIO_TEMP_DIR": str(temp / "gradio")}
    with app_process(env, log=temp / "app.log") as (url, process):
        yield url


def test_another_visitors_upload_is_refused_as_my_photo(server):
    """A visitor's upload, named by a stranger on another address: refused 403 in the stranger's
    language before anything is decoded; the visitor's own call is answered. Before: classified."""
    victim = Visitor(server, VICTIM)
    photo = victim.upload("holiday.jpg", (ROOT / "assets" / "photos" / "cat.jpg").read_bytes() + b"victim")
    stranger = Visitor(server, STRANGER)
    refused = stranger.call("classify_photo", [photo])
    assert (refused.kind, refused.status) == ("refused", 403), refused
    assert "belongs to another visitor" in refused.message
    korean = Visitor(server, STRANGER, headers_extra={"Accept-Language": "ko"}).call("classify_photo", [photo])
    assert "다른 방문자의 파일" in korean.message
    own = victim.call("classify_photo", [photo])
    assert own.kind == "complete" and len(own.data[0]["confidences"]) == 5, own


def test_another_sessions_draft_image_is_refused_as_my_photo(server):
    """A draft's image (a path in the scratch folder the builder shows its owner): refused from a
    stranger, and from another session of the same address; its owner may use it."""
    victim = Visitor(server, VICTIM)
    build_draft(victim, noise_photos(victim, 5, seed=3))
    gallery = victim.join("show_class", ["apples"]).data[0]["value"]
    image = file_data(gallery[0]["image"]["path"], "draft.jpg")
    assert "classic-cnns-drafts-" in image["path"]
    for other in (Visitor(server, STRANGER), Visitor(server, VICTIM)):
        refused = other.call("classify_photo", [image])
        assert (refused.kind, refused.status) == ("refused", 403), refused
    own = victim.call("classify_photo", [image])
    assert own.kind == "complete", own
