"""client/app.py in a real browser (Playwright + Debian chromium) against the fixture host."""
from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from probes.host import free_port

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "tests" / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is not installed")


@pytest.fixture(scope="module")
def page_args(chat_host):  # the fixture servable publishes no status: the panel says so
    return ["--status_url", f"{chat_host.rest_url}/v2/models/python_model/status"]


@pytest.fixture(scope="module")
def page_url(ovms_url, page_args, tmp_path_factory):
    """The chat page as a user starts it: `python3 client/app.py --web_url ... --ovms_url ...`."""
    port = free_port()
    log = tmp_path_factory.mktemp("page") / "app.log"
    # this checkout's client/ first (a worktree's page must not import another checkout's)
    env = dict(os.environ, GRADIO_ANALYTICS_ENABLED="False",
               PYTHONPATH=os.pathsep.join([str(REPO)] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, str(REPO / "client" / "app.py"), "--web_url",
                                 f"127.0.0.1:{port}", "--ovms_url", ovms_url, "--timeout", "20",
                                 *page_args],
                                env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, f"the page exited:\n{log.read_text()}"
            try:
                urllib.request.urlopen(url, timeout=2)
                break
            except OSError:
                assert time.monotonic() < deadline, f"the page did not start:\n{log.read_text()}"
                time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
    assert "Traceback" not in log.read_text(), log.read_text()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def chat(browser, page_url):
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    page.goto(page_url)
    page.locator("#question textarea").wait_for()
    yield Chat(page)
    page.close()


class Chat:
    """What a user does and sees on the page."""

    def __init__(self, page):
        self.page = page
        self.bot = page.locator('#chat [data-testid="bot"]')
        self.user = page.locator('#chat [data-testid="user"]')

    def ask(self, question: str) -> None:
        box = self.page.locator("#question textarea")
        box.fill(question)
        box.press("Enter")

    def last_answer(self) -> str:
        count = self.bot.count()
        return self.bot.nth(count - 1).inner_text() if count else ""

    def wait_answer(self, contains: str, answers: int | None = None, timeout: float = 15) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if (answers is None or self.bot.count() == answers) and contains in self.last_answer():
                return self.last_answer()
            time.sleep(0.1)
        raise AssertionError(f"no answer containing {contains!r}; last: {self.last_answer()!r}")


def test_answer_streams_with_sources_and_follow_up_sends_history(chat):
    chat.ask("slow hello")
    lengths = []
    deadline = time.monotonic() + 15
    while "Sources" not in chat.last_answer() and time.monotonic() < deadline:
        lengths.append(len(chat.last_answer()))
        time.sleep(0.1)
    growth = sorted(set(n for n in lengths if n > 1))
    assert len(growth) >= 3 and lengths == sorted(lengths), f"the answer did not grow: {lengths}"
    first = chat.wait_answer("Sources")
    assert first.startswith("Echo: slow hello | history turns: 0 | end")
    assert "page 3" in first and "/data/manual.pdf" in first
    link = chat.bot.nth(0).locator("a", has_text="Fixture guide")
    assert link.get_attribute("href") == "https://example.com/guide.html"

    chat.ask("and then?")
    assert chat.wait_answer("Sources", answers=2).startswith("Echo: and then? | history turns: 2 | end")
    assert [chat.user.nth(i).inner_text() for i in range(chat.user.count())] == ["slow hello", "and then?"]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    chat.page.screenshot(path=str(ARTIFACTS / "chat.png"), full_page=True)


def test_stop_cancels_generation_on_the_server(chat, markers):
    chat.ask("long:pagestop")
    assert markers.wait_count("pagestop", 3) >= 3
    chat.page.locator("#stop").click()
    answer = chat.wait_answer("Stopped.")
    assert " w1 w2" in answer or answer.startswith("w1 w2")
    markers.assert_stopped("pagestop")
    assert markers.count("pagestop") < 30


def test_clear_empties_the_chat_and_the_history(chat):
    chat.ask("before clearing")
    chat.wait_answer("Sources")
    chat.page.locator("#clear").click()
    chat.page.wait_for_function("document.querySelectorAll('#chat [data-testid=\"bot\"]').length === 0")
    assert chat.user.count() == 0
    chat.ask("after clearing")
    assert "history turns: 0" in chat.wait_answer("Sources", answers=1)


def test_server_error_is_a_readable_message_in_the_chat(chat):
    chat.ask("error on purpose")
    answer = chat.wait_answer("Error:")
    assert "fixture exploded on purpose" in answer
    assert "Traceback" not in answer


def test_the_knowledge_panel_says_why_there_is_no_status(chat):
    panel = chat.page.locator("#knowledge")
    chat.page.wait_for_function(
        "document.querySelector('#knowledge').innerText.includes('unavailable')", timeout=15000)
    assert "publishes no status" in panel.inner_text()
    assert chat.page.locator("#knowledge table").count() == 0


def test_model_markdown_cannot_load_images_or_inject_html(chat):
    chat.ask("markdown please")
    answer = chat.wait_answer("Sources")
    assert "[image: tracker]" in answer and "<b>raw</b>" in answer
    assert chat.page.locator("#chat img").count() == 0
    assert chat.bot.last.locator("b", has_text="raw").count() == 0
    assert chat.bot.last.locator("strong", has_text="bold").count() == 1
