"""What the page shows for model text, sources and errors (no browser, no gradio)."""
from __future__ import annotations

from client.app import ActiveAnswers, chat_turns
from client.render import safe_answer, sources_markdown
from client.stream import StreamClient
from client.wire import EndInfo, Source


def test_images_and_html_are_neutralised_outside_code():
    text = 'a ![t](http://x/p.png) ![r][1] <img src="http://x"> `<b>` b'
    assert safe_answer(text) == 'a [image: t] [image: r] &lt;img src="http://x"> `<b>` b'


def test_sources_link_urls_and_show_pdf_pages():
    info = EndInfo(sources=[Source("https://e.com/a (b).html", "Guide [1]", 0.9),
                            Source("/d/m.pdf", "Manual", 0.4, page=3)])
    assert sources_markdown(info).splitlines()[2:] == [
        "1. [Guide \\[1\\]](https://e.com/a%20%28b%29.html) · score 0.90",
        "2. Manual (`/d/m.pdf`), page 3 · score 0.40",
    ]
    assert sources_markdown(EndInfo()) == ""


def test_unreachable_server_becomes_a_chat_message(closed_port_url):
    with StreamClient(closed_port_url, idle_timeout=10) as client:
        *_, (shown, history) = chat_turns(client, ActiveAnswers(), "hi", [], [], "session")
    assert history == []
    assert shown[0] == {"role": "user", "content": "hi"}
    assert f"cannot reach the model server at {closed_port_url}" in shown[1]["content"]
    assert shown[1]["content"].startswith("⚠️ **Error:**")
