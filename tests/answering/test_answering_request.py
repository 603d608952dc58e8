import json

import pytest
from ragbot.answering.request import ChatRequest, parse_pre_prompt
from ragbot.errors import InvalidRequestError


def prefixed(data: bytes) -> bytes:
    return len(data).to_bytes(4, "little") + data


@pytest.mark.parametrize("wrap", [lambda b: b, prefixed], ids=["raw", "length-prefixed"])
def test_plain_text_question(wrap):
    assert parse_pre_prompt(wrap("  What is OVMS? \n".encode())) == ChatRequest("What is OVMS?")


@pytest.mark.parametrize("wrap", [lambda b: b, prefixed], ids=["raw", "length-prefixed"])
def test_json_request(wrap):
    body = {
        "question": "Und danach? ünïcødé",
        "history": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}],
        "max_new_tokens": 12,
        "temperature": 0.5,
    }
    req = parse_pre_prompt(wrap(json.dumps(body).encode()))
    assert req == ChatRequest("Und danach? ünïcødé", [("user", "hi"), ("assistant", "hello")], 12, 0.5)


def test_ignore_eos_and_closed_book_flags():
    req = parse_pre_prompt(b'{"question": "q", "ignore_eos": true, "retrieval": false}')
    assert (req.ignore_eos, req.retrieval) == (True, False)
    assert (parse_pre_prompt(b"q").ignore_eos, parse_pre_prompt(b"q").retrieval) == (False, True)


def test_json_minimal_and_bytes_like_input():
    req = parse_pre_prompt(memoryview(b'{"question": "q"}'))
    assert req == ChatRequest("q", [], None, None)


def test_text_that_happens_to_look_like_a_prefix_is_kept():
    # 4 bytes whose LE value != len-4 are part of the text
    assert parse_pre_prompt(b"abcdefgh").question == "abcdefgh"


@pytest.mark.parametrize(
    "buf, fragment",
    [
        (b"\xff\xfe bad", "UTF-8"),
        (b"", "empty"),
        (b"   \n", "empty"),
        (prefixed(b""), "empty"),
        (b'{"question": "q",', "malformed"),
        (b'{"history": []}', "question"),
        (b'{"question": "  "}', "question"),
        (b'{"question": 3}', "question"),
        (b'{"question": "q", "history": {}}', "history"),
        (b'{"question": "q", "history": ["x"]}', r"history\[0\]"),
        (b'{"question": "q", "history": [{"role": "system", "content": "x"}]}', "role"),
        (b'{"question": "q", "history": [{"role": "user", "content": 1}]}', "content"),
        (b'{"question": "q", "max_new_tokens": 0}', "max_new_tokens"),
        (b'{"question": "q", "max_new_tokens": "5"}', "max_new_tokens"),
        (b'{"question": "q", "max_new_tokens": true}', "max_new_tokens"),
        (b'{"question": "q", "temperature": "hot"}', "temperature"),
        (b'{"question": "q", "temperature": -1}', "temperature"),
        (b'{"question": "q", "max_tokens": 5}', "max_tokens"),
        (b'{"question": "q", "ignore_eos": 1}', "ignore_eos"),
        (b'{"question": "q", "retrieval": "no"}', "retrieval"),
    ],
)
def test_invalid_requests_name_the_problem(buf, fragment):
    with pytest.raises(InvalidRequestError, match=fragment) as info:
        parse_pre_prompt(buf)
    assert info.value.grpc_status == "INVALID_ARGUMENT"


def test_loop_guard_and_renumbering_flags():
    req = parse_pre_prompt(b'{"question": "q", "loop_guard": false, "renumber_citations": true, '
                           b'"background": true}')
    assert (req.loop_guard, req.renumber_citations, req.background) == (False, True, True)
    plain = parse_pre_prompt(b"q")
    assert (plain.loop_guard, plain.renumber_citations, plain.background) == (True, False, False)
    for bad in (b'{"question": "q", "loop_guard": 0}', b'{"question": "q", "renumber_citations": "yes"}'):
        with pytest.raises(InvalidRequestError):
            parse_pre_prompt(bad)
