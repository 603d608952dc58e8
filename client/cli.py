"""Terminal client: ask the chatbot, print the answer as it streams, then its sources.

    python3 client/cli.py --ovms_url localhost:9000 "What is OpenVINO?"
    python3 client/cli.py --ovms_url localhost:9000 --history      # interactive session
    python3 client/cli.py - < question.txt                          # the question from stdin
    python3 client/cli.py --raw '{"question": "Hi", "max_new_tokens": 8}'   # pre_prompt as is

A failed answer (bad request, busy server, model failure) is printed as `error: ...` on
stderr, after any text that arrived, and the exit code is 2.
"""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from client.stream import (
    DEFAULT_IDLE_TIMEOUT,
    ClientError,
    Done,
    EndInfo,
    ServerUnreachableError,
    StreamClient,
)

EXIT_CLIENT_ERROR = 2


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Ask the RAG chatbot served by OVMS over gRPC streaming.")
    parser.add_argument("question", nargs="?",
                        help="question to ask, '-' to read it from stdin (with --history: the first one)")
    parser.add_argument("--ovms_url", default="localhost:9000", help="OVMS gRPC address host:port (default: %(default)s)")
    parser.add_argument("--history", action="store_true",
                        help="keep a session: read further questions from stdin, sending the conversation each turn")
    parser.add_argument("--max_new_tokens", type=int, default=None, help="limit the answer length")
    parser.add_argument("--temperature", type=float, default=None, help="sampling temperature")
    parser.add_argument("--raw", action="store_true",
                        help="send the question as the raw pre_prompt (plain text or your own JSON, "
                             "as the seed's client does), without history or options")
    parser.add_argument("--timeout", type=float, default=DEFAULT_IDLE_TIMEOUT,
                        help="seconds without any response before giving up (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.question is None and not args.history:
        parser.error("give a question, or --history for an interactive session")
    if args.raw and args.history:
        parser.error("--raw sends one pre_prompt as is; it cannot keep a --history session")
    if args.question == "-":
        if args.history:
            parser.error("with --history the questions come from stdin already; give the first one")
        args.question = sys.stdin.read()
    return args


def format_sources(end_info: EndInfo) -> str:
    lines = []
    for number, source in enumerate(end_info.sources_cited_first(), start=1):
        where = " > ".join(p for p in (source.title, source.section) if p)
        title = f" - {where}" if where else ""
        page = f" (page {source.page})" if source.page is not None else ""
        score = f" [score {source.score:.3f}]" if source.score is not None else ""
        cited = " (cited)" if source.cited else ""
        if source.cited and (source.number or number) in end_info.unsupported_citations:
            cited += " (unsupported: it does not hold what the answer cites it for)"
        lines.append(f"  [{source.number or number}] {source.source}{page}{title}{score}{cited}")
    if end_info.invalid_citations:
        lines.append("  the answer cites " + ", ".join(f"[{n}]" for n in end_info.invalid_citations)
                     + ", which is not one of these sources")
    return "Sources:\n" + "\n".join(lines) if lines else "Sources: none"


def ask_and_print(client: StreamClient, question: str, history: list[dict], args, out: TextIO) -> str:
    """Stream one answer to `out`; returns the answer text."""
    if getattr(args, "raw", False):
        answer = client.send(question.encode("utf-8"))
    else:
        answer = client.ask(question, history, args.max_new_tokens, args.temperature)
    try:
        for event in answer:
            if isinstance(event, Done):
                out.write("\n")
                if event.end_info.finish_reason == "length":
                    out.write("(answer cut at the token limit)\n")
                out.write(format_sources(event.end_info) + "\n")
            else:
                out.write(event)
            out.flush()
    except KeyboardInterrupt:
        answer.cancel()
        out.write("\n(stopped)\n")
    return answer.text


def run_session(client: StreamClient, args, out: TextIO) -> None:
    history: list[dict] = []
    question = args.question
    while True:
        if not question:
            out.write("> ")
            out.flush()
            line = sys.stdin.readline()
            if not line:
                return
            question = line.strip()
            if not question:
                continue
        try:
            text = ask_and_print(client, question, history, args, out)
        except ServerUnreachableError:
            raise
        except ClientError as exc:  # one failed turn does not end the session
            print(f"\nerror: {exc}", file=sys.stderr)
            question = None
            continue
        history += [{"role": "user", "content": question}, {"role": "assistant", "content": text}]
        question = None


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with StreamClient(args.ovms_url, idle_timeout=args.timeout) as client:
        try:
            if args.history:
                run_session(client, args, sys.stdout)
            else:
                ask_and_print(client, args.question, [], args, sys.stdout)
        except ClientError as exc:
            sys.stdout.flush()
            print(f"\nerror: {exc}", file=sys.stderr)
            return EXIT_CLIENT_ERROR
        except KeyboardInterrupt:
            return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
