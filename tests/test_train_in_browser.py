"""The train tab trains LeNet in the visitor's browser: the real app in Chromium.

The tab's default run (average pooling, ReLU, 2 epochs on 10,000 images, tested on all 2,000 test
images) sends nothing to the server's queue, upload or call routes from pressing Train to the
result, reaches at least 96%, and its weights, handed over by the page in the web weights format,
score the same in PyTorch, and it learns as the server's training of the same subset does (within
1.5 points); the digit tab answers a drawing while it trains, and the trained LeNet
answers there beside the shipped one afterwards.
"""

from __future__ import annotations

from harness.browser import open_tab, prediction
from harness.lenet_reference import pytorch_accuracy
from nets.data.mnist import training_data
from nets.data.mnist_web import WEB_DATA_FILE, read_web_data
from nets.training.visitor_lenet import LeNetSettings, train

WORK_ROUTES = ("/gradio_api/queue", "/gradio_api/upload", "/gradio_api/call", "/gradio_api/run")


def test_the_default_run_trains_in_the_browser_with_no_server_work(browser, app_url):
    page = open_tab(browser, app_url, "train")
    assert page.locator("#train-epochs input[type=number]").input_value() == "2"  # the defaults, pinned
    assert page.locator("#train-images input[type=number]").input_value() == "10000"
    page.wait_for_function("window.trainLab && window.trainLab.dataReady()", timeout=120_000)  # fetched on opening
    work: list[str] = []
    page.on("request", lambda r: work.append(r.url) if any(route in r.url for route in WORK_ROUTES) else None)

    page.locator("#train-start").click()
    page.wait_for_function("window.trainLab.running()", timeout=10_000)
    page.get_by_role("tab").first.click()  # the digit tab answers while LeNet trains
    page.locator("#digit-lab .dl-example[data-digit='7']").click()
    assert prediction(page) == "7"
    assert page.evaluate("window.trainLab.running()")
    page.get_by_role("tab").nth(1).click()

    page.wait_for_function(
        "document.querySelector('#train-status')?.dataset.testAccuracy !== undefined", timeout=240_000, polling=200
    )
    accuracy = float(page.locator("#train-status").get_attribute("data-test-accuracy"))
    status = page.locator("#train-status").inner_text()
    assert work == [], work  # nothing for the server to do, from pressing Train to the result
    assert accuracy >= 0.96, status
    assert f"{accuracy:.1%}" in status and "2,000" in status
    assert page.locator("#train-accuracy svg circle").count() == 4  # train and test, 2 epochs
    assert page.locator("#train-history tbody tr").count() == 2
    assert page.locator("#train-kernels rect").count() == 6 * 25 + 6  # six 5x5 kernels, framed
    assert "average" in page.locator("#train-runs").inner_text()  # in words, as the server showed them

    weights = page.evaluate("window.trainLab.weights()")
    assert (weights["pooling"], weights["activation"]) == ("avg", "relu")
    test = read_web_data(WEB_DATA_FILE.read_bytes())  # the 2,000 test images the page used
    scored = pytorch_accuracy(weights, test["test_images"], test["test_labels"])
    assert abs(scored - accuracy) <= 0.001  # the page's accuracy within 0.1 point
    *_, server = train(LeNetSettings(), training_data("subset"))  # the same default run in PyTorch
    print(f"\ndefault run: browser {accuracy:.2%}, server {server.test_acc:.2%}")
    assert server.test_acc >= 0.96 and abs(accuracy - server.test_acc) <= 0.015

    page.locator("#train-draw").click()  # the trained LeNet answers beside the shipped one
    page.locator("#digit-lab .dl-example[data-digit='7']").click()
    page.wait_for_function("!document.querySelector('#digit-mine').hidden", timeout=10_000)
    assert "relu" in page.locator("#digit-mine").inner_text()
    assert not page.console_errors, page.console_errors
    page.close()
