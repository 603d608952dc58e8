"""One KServe gRPC stream collector (tritonclient), for tests, benchmarks and the evaluation.

    with KServeStream(host.grpc_url) as s:
        s.send(prompt_input({"question": "What is a zorblat?", "max_new_tokens": 8}))
        last = s.finish()              # Event("end", {...end_signal...}, at)
        s.text, s.arrivals             # the streamed completion, each chunk's arrival time

    answer = ask(host.grpc_url, {"question": ...})   # one request on its own stream

Events are decoded as the servable's wire contract defines them: "chunk" (a completion text),
"end" (the end_signal JSON), "fail" (an end_signal reporting an error in-band: the servable's
way to refuse a request) and "error" (an error_message on the stream or the RPC's final status:
the host's way). `raw=True` keeps the undecoded (time, result, error) triples instead, for the
host tests whose fixture servables speak other outputs.
"""
from __future__ import annotations

import json
import queue
import time
from typing import Any, NamedTuple

import numpy as np
import tritonclient.grpc as grpcclient

MODEL = "python_model"
TERMINAL = ("end", "fail", "error")


class Event(NamedTuple):
    kind: str  # chunk | end | fail | error
    payload: Any  # str for chunk/error, the end_signal dict for end/fail
    at: float  # time.perf_counter() at arrival


def prompt_input(payload: str | bytes | dict, raw: bool = False, name: str = "pre_prompt",
                 datatype: str = "BYTES", shape=(1,)) -> grpcclient.InferInput:
    """The `pre_prompt` tensor: a dict is sent as its JSON; `raw=True` sends the bytes as
    raw_input_contents (the seed's client), otherwise as one length-prefixed BYTES element."""
    if isinstance(payload, dict):
        payload = json.dumps(payload)
    data = payload.encode() if isinstance(payload, str) else payload
    inp = grpcclient.InferInput(name, list(shape), datatype)
    if raw:
        inp._raw_content = data
    else:
        inp.set_data_from_numpy(np.array([data], dtype=np.object_))
    return inp


def chunks(events) -> list[str]:
    """The completion texts among decoded events."""
    return [e.payload for e in events if e.kind == "chunk"]


def arrivals(events) -> list[float]:
    """When each completion chunk arrived (perf_counter)."""
    return [e.at for e in events if e.kind == "chunk"]


def decode(result, error, at: float) -> tuple[Event, int | None]:
    """(event, OVMS_MP_TIMESTAMP or None) of one stream callback."""
    if error is not None:
        return Event("error", str(error), at), None
    response = result.get_response()
    ts = response.parameters["OVMS_MP_TIMESTAMP"].int64_param \
        if "OVMS_MP_TIMESTAMP" in response.parameters else None
    end = result.as_numpy("end_signal")
    if end is not None:
        info = json.loads(end.tobytes().decode())
        return Event("fail" if "error" in info else "end", info, at), ts
    completion = result.as_numpy("completion")
    text = completion.tobytes().decode() if completion is not None else ""
    return Event("chunk", text, at), ts


class KServeStream:
    """A gRPC stream to a host; requests are sent on it and its events collected in order."""

    def __init__(self, url: str, model: str = MODEL, raw: bool = False, inputs=None,
                 client: grpcclient.InferenceServerClient | None = None):
        """`client`: an open connection to reuse (kept open on close); else one of its own."""
        self.model, self.raw, self._own_client = model, raw, client is None
        self.events: queue.Queue = queue.Queue()
        self.got: list = []  # events taken so far (decoded, or raw triples)
        self.timestamps: list[int | None] = []  # OVMS_MP_TIMESTAMP of each decoded event
        self.client = client or grpcclient.InferenceServerClient(url)
        self.client.start_stream(callback=self._on)
        self.started = time.perf_counter()
        if inputs is not None:
            self.send(inputs)

    def _on(self, result, error) -> None:
        self.events.put((time.perf_counter(), result, error))

    def send(self, inputs, model: str | None = None, **kwargs) -> "KServeStream":
        """Send one request (an InferInput, a list of them, or a payload for prompt_input) to
        `model` (default: the stream's); kwargs go to tritonclient (e.g. parameters=...)."""
        if not isinstance(inputs, (list, tuple)):
            inputs = [inputs if isinstance(inputs, grpcclient.InferInput) else prompt_input(inputs)]
        self.started = time.perf_counter()
        self.client.async_stream_infer(model_name=model or self.model, inputs=list(inputs), **kwargs)
        return self

    def next(self, timeout: float = 60):
        at, result, error = self.events.get(timeout=timeout)
        if self.raw:
            ev = (at, result, error)
        else:
            ev, ts = decode(result, error, at)
            self.timestamps.append(ts)
        self.got.append(ev)
        return ev

    def finish(self, timeout: float = 60):
        """Events until end, fail or error (a raw stream: until an end_signal or an error);
        returns the last one."""
        while True:
            ev = self.next(timeout)
            if self.raw:
                at, result, error = ev
                if error is not None or (result is not None and result.as_numpy("end_signal") is not None):
                    return ev
            elif ev.kind in TERMINAL:
                return ev

    def drain(self) -> list:
        """Whatever has arrived and was not taken yet (raw triples)."""
        out = []
        while not self.events.empty():
            out.append(self.events.get())
        return out

    @property
    def text(self) -> str:
        return "".join(chunks(self.got))

    @property
    def arrivals(self) -> list[float]:
        return arrivals(self.got)

    def half_close(self) -> None:
        """Close the request side; returns when the RPC has ended (its status is an event)."""
        self.client.stop_stream(cancel_requests=False)

    def close(self, cancel: bool = False) -> None:
        self.client.stop_stream(cancel_requests=cancel)
        if self._own_client:
            self.client.close()

    def __enter__(self) -> "KServeStream":
        return self

    def __exit__(self, *exc) -> None:
        self.close(cancel=exc[0] is not None)


class Answer(NamedTuple):
    """One request's whole stream."""
    events: list  # Event, in arrival order
    started: float  # perf_counter when the request was sent
    timestamps: list

    @property
    def last(self) -> Event:
        return self.events[-1]

    @property
    def end(self) -> dict:
        """The end_signal (end or fail); AssertionError with the event if the RPC failed."""
        assert self.last.kind in ("end", "fail"), self.last
        return self.last.payload

    @property
    def text(self) -> str:
        return "".join(chunks(self.events))

    @property
    def chunks(self) -> list[str]:
        return chunks(self.events)

    @property
    def arrivals(self) -> list[float]:
        return arrivals(self.events)

    @property
    def ttft_s(self) -> float | None:
        times = arrivals(self.events)
        return times[0] - self.started if times else None


def ask(url: str, payload, timeout: float = 120, model: str = MODEL) -> Answer:
    """Send one request on a new stream and collect it to its end (or error)."""
    with KServeStream(url, model=model) as s:
        s.send(payload)
        s.finish(timeout)
        return Answer(list(s.got), s.started, list(s.timestamps))
