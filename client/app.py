"""Gradio chat page for the RAG chatbot: streams answers, keeps the conversation, shows
sources, and its Stop button cancels the gRPC stream so the server stops generating. A
"Knowledge base" panel shows what is indexed (documents, state, last rebuild), read from the
servable's status JSON and refreshed every --status_every seconds.

    python3 client/app.py --web_url localhost:9001 --ovms_url localhost:9000
"""

import argparse
import logging
import os
import sys
import threading

from client.knowledge import default_status_url, panel_markdown
from client.render import safe_answer, sources_markdown
from client.stream import DEFAULT_IDLE_TIMEOUT, Answer, ClientError, Done, StreamClient

log = logging.getLogger("client.app")

STOPPED_NOTE = "*Stopped.*"
ERROR_PREFIX = "⚠️ "


class ActiveAnswers:
    """The answer each browser session is streaming, so Stop/Clear can cancel it."""

    def __init__(self):
        self._by_session: dict[str, Answer] = {}
        self._lock = threading.Lock()

    def start(self, session: str, answer: Answer) -> None:
        with self._lock:
            previous = self._by_session.get(session)
            self._by_session[session] = answer
        if previous is not None:
            previous.cancel()

    def end(self, session: str, answer: Answer) -> None:
        with self._lock:
            if self._by_session.get(session) is answer:
                del self._by_session[session]

    def cancel(self, session: str) -> None:
        with self._lock:
            answer = self._by_session.pop(session, None)
        if answer is not None:
            answer.cancel()


def chat_turns(client: StreamClient, active: ActiveAnswers, question: str, shown: list, history: list,
               session: str):
    """Generator behind the Send button: yields (chat messages, history) as the answer grows.

    `shown` is what the Chatbot displays (rendered, with sources and notes); `history` is the
    plain conversation sent to the server with the next question.
    """
    shown = shown + [{"role": "user", "content": question}, {"role": "assistant", "content": "…"}]
    yield shown, history
    answer = None
    try:
        answer = client.ask(question, history)
        active.start(session, answer)
        for event in answer:
            if isinstance(event, Done):
                break
            shown[-1] = {"role": "assistant", "content": safe_answer(answer.text)}
            yield shown, history
        shown[-1] = {"role": "assistant", "content": _finished_message(answer)}
        history = history + [{"role": "user", "content": question},
                             {"role": "assistant", "content": answer.text}]
    except ClientError as exc:
        shown[-1] = {"role": "assistant", "content": _error_message(answer, str(exc))}
    except Exception:  # never show a stack trace in the page
        log.exception("answering %r failed", question)
        shown[-1] = {"role": "assistant",
                     "content": _error_message(answer, "unexpected client error; see the page's log")}
    finally:
        if answer is not None:
            active.end(session, answer)
            answer.cancel()  # no-op when finished; stops the server if the page went away
    yield shown, history


def _finished_message(answer: Answer) -> str:
    text = safe_answer(answer.text)
    info = answer.end_info
    if info is None or info.finish_reason == "cancelled":
        return f"{text}\n\n{STOPPED_NOTE}".strip()
    notes = []
    if info.finish_reason == "length":
        notes.append("*(answer cut at the token limit)*")
    sources = sources_markdown(info)
    if sources:
        notes.append(sources)
    return "\n\n".join([text or "*(empty answer)*"] + notes)


def _error_message(answer: Answer | None, message: str) -> str:
    partial = safe_answer(answer.text) if answer is not None and answer.text else ""
    note = f"{ERROR_PREFIX}**Error:** {safe_answer(message)}"
    return f"{partial}\n\n{note}" if partial else note


def build_page(client: StreamClient, status_url: str | None = None, status_every: float = 10.0):
    import gradio as gr

    active = ActiveAnswers()

    def send(question, shown, history, request: gr.Request):
        question = (question or "").strip()
        if not question:
            yield gr.skip(), shown, shown, history
            return
        for new_shown, new_history in chat_turns(client, active, question, shown, history,
                                                 request.session_hash):
            yield "", new_shown, new_shown, new_history

    def stop(request: gr.Request):
        active.cancel(request.session_hash)

    def clear(request: gr.Request):
        active.cancel(request.session_hash)
        return [], [], []

    with gr.Blocks(title="RAG chatbot") as page:
        gr.Markdown("## RAG chatbot\nAnswers come from the documents indexed by the model server.")
        chatbot = gr.Chatbot(elem_id="chat", label="Conversation", height=520, sanitize_html=True,
                             render_markdown=True, allow_tags=False, feedback_options=None,
                             buttons=["copy", "copy_all"])
        shown = gr.State([])
        history = gr.State([])
        question = gr.Textbox(elem_id="question", show_label=False, placeholder="Ask a question…",
                              autofocus=True)
        with gr.Row():
            send_button = gr.Button("Send", variant="primary", elem_id="send")
            stop_button = gr.Button("Stop", variant="stop", elem_id="stop")
            clear_button = gr.Button("Clear", elem_id="clear")

        outputs = [question, chatbot, shown, history]
        sending = [trigger(send, [question, shown, history], outputs, concurrency_limit=16,
                           concurrency_id="send", show_progress="hidden")
                   for trigger in (question.submit, send_button.click)]
        stop_button.click(stop, None, None, queue=False)
        # Cancelling the send events too keeps a finishing answer from refilling a cleared chat.
        for clearing in (clear_button.click, chatbot.clear):  # the Chatbot's own trash icon too
            clearing(clear, None, [chatbot, shown, history], cancels=sending)

        with gr.Accordion("Knowledge base", open=True, elem_id="knowledge-panel"):
            knowledge = gr.Markdown("_Loading the knowledge-base status…_", elem_id="knowledge",
                                    sanitize_html=True)
            refresh_button = gr.Button("Refresh", size="sm", elem_id="knowledge-refresh")

        def knowledge_now():
            return panel_markdown(status_url)

        # its own queue lane: reading the status never waits behind an answer
        lane = dict(concurrency_limit=4, concurrency_id="knowledge", show_progress="hidden")
        page.load(knowledge_now, None, knowledge, **lane)
        refresh_button.click(knowledge_now, None, knowledge, **lane)
        if status_url and status_every > 0:
            gr.Timer(status_every).tick(knowledge_now, None, knowledge, **lane)
    return page


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Gradio chat page for the RAG chatbot served by OVMS.")
    parser.add_argument("--web_url", default="localhost:9001", help="host:port the page binds to (default: %(default)s)")
    parser.add_argument("--ovms_url", default="localhost:9000", help="OVMS gRPC address host:port (default: %(default)s)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_IDLE_TIMEOUT,
                        help="seconds without any response before giving up (default: %(default)s)")
    parser.add_argument("--status_url", default="",
                        help="the knowledge-base status JSON (default: the host's REST port, "
                             "http://<ovms host>:8000/v2/models/python_model/status; under real "
                             "OVMS the servable's http://<host>:<METRICS_PORT>/status; off: no panel data)")
    parser.add_argument("--status_every", type=float, default=10.0,
                        help="seconds between refreshes of the knowledge-base panel (0: only on "
                             "load and Refresh; default: %(default)s)")
    return parser.parse_args(argv)


def split_host_port(url: str) -> tuple[str, int]:
    host, sep, port = url.rpartition(":")
    if not sep or not port.isdigit():
        raise SystemExit(f"--web_url must be host:port, got {url!r}")
    return host or "0.0.0.0", int(port)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    host, port = split_host_port(args.web_url)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    client = StreamClient(args.ovms_url, idle_timeout=args.timeout)
    status_url = (None if args.status_url.lower() == "off"
                  else args.status_url or default_status_url(args.ovms_url))
    try:
        build_page(client, status_url, args.status_every).queue().launch(server_name=host, server_port=port, ssr_mode=False,
                                          footer_links=[])
    finally:
        client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
