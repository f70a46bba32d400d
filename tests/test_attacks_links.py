"""A teacher's link with thousands of unknown parameters makes a short notice, not a 13 KB one."""

from __future__ import annotations

import pytest

from harness.light_client import Visitor
from harness.server import app_process


@pytest.fixture(scope="module")
def server(standin_weights, tmp_path_factory):
    temp = tmp_path_factory.mktemp("links")
    env = {"TORCH_HOME": str(standin_weights), "TMPDIR": str(temp), "GRADIO_TEMP_DIR": str(temp / "gradio")}
    with app_process(env, log=temp / "app.log") as (url, _):
        yield url


def test_two_thousand_unknown_link_parameters_make_a_short_notice(server):
    """2,000 unknown parameters (one 300 characters long): the notice names three, counts the rest
    (under 300 characters; before, every name: 13,256), and the page still opens on the asked tab."""
    query = "tab=photo&" + "&".join(f"z{i}" for i in range(1999)) + "&" + "w" * 300
    outcome = Visitor(server, "192.0.2.9").join("restore_view", [], query=query)
    assert outcome.kind == "complete", outcome
    notices = [text for level, text in outcome.messages if level == "warning"]
    assert len(notices) == 1
    assert outcome.data[0].get("selected") == "photo", outcome.data[0]
    assert len(notices[0]) < 300, len(notices[0])
    assert "'z0', 'z1', 'z2' and 1,997 more" in notices[0]
