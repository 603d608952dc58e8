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
        "- [1] [Guide \\[1\\]](https://e.com/a%20%28b%29.html) · score 0.90",
        "- [2] Manual (`/d/m.pdf`), page 3 · score 0.40",
    ]
    assert sources_markdown(EndInfo()) == ""


def test_cited_sources_come_first_with_their_numbers_and_a_bad_citation_is_flagged():
    info = EndInfo(sources=[Source("a.md", "Alpha", 0.9, number=1),
                            Source("b.md", "Beta", 0.5, section="Care", cited=True, number=2)],
                   invalid_citations=(7,))
    lines = sources_markdown(info).splitlines()
    assert lines[2:4] == ["- [2] Beta › Care (`b.md`) · score 0.50 · **cited**",
                          "- [1] Alpha (`a.md`) · score 0.90"]
    assert "cites [7], which is not one of these sources" in lines[-1]


def test_unsupported_and_server_attributed_citations_are_said_so():
    info = EndInfo(sources=[Source("a.md", "Alpha", 0.9, cited=True, number=1),
                            Source("b.md", "Beta", 0.5, cited=True, number=2)],
                   unsupported_citations=(2,), attributed_citations=(1,))
    assert sources_markdown(info).splitlines()[2:] == [
        "- [1] Alpha (`a.md`) · score 0.90 · **cited** _(by the server: the answer named no source)_",
        "- [2] Beta (`b.md`) · score 0.50 · **cited** · ⚠ _does not hold what the answer cites it for_",
    ]
    from client.wire import decode_end_info
    end = decode_end_info(b'{"sources": [], "unsupported_citations": [2], "attributed_citations": [1]}')
    assert (end.unsupported_citations, end.attributed_citations) == ((2,), (1,))


def test_unreachable_server_becomes_a_chat_message(closed_port_url):
    with StreamClient(closed_port_url, idle_timeout=10) as client:
        *_, (shown, history) = chat_turns(client, ActiveAnswers(), "hi", [], [], "session")
    assert history == []
    assert shown[0] == {"role": "user", "content": "hi"}
    assert f"cannot reach the model server at {closed_port_url}" in shown[1]["content"]
    assert shown[1]["content"].startswith("⚠️ **Error:**")


def test_a_withheld_answer_says_which_figure_no_source_held():
    from client.wire import decode_end_info

    end = decode_end_info(b'{"sources": [{"source": "a.md", "title": "Alpha", "score": 0.9}],'
                          b' "answer": "The documents do not say.", "withheld_figures": ["2004", 7]}')
    assert end.withheld_figures == ("2004",)
    assert sources_markdown(end).splitlines()[-1] == (
        "_The model's answer stated 2004, which none of these sources holds, so it was withheld._")
