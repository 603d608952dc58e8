"""Client-side helpers shared by the host tests (tritonclient streams, decoding)."""
import json
import os
import urllib.error
import urllib.request

import numpy as np
import tritonclient.grpc as grpcclient

from probes.kserve import KServeStream

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")


def config(name):
    """config.json of a fixture servable under tests/host/fixtures/."""
    return os.path.join(FIXTURES, name, "config.json")


def text_input(text: str, name="pre_prompt"):
    inp = grpcclient.InferInput(name, [1], "BYTES")
    inp.set_data_from_numpy(np.array([text.encode()], dtype=object))
    return inp


class StreamCollector(KServeStream):
    """The shared KServe stream collector, raw: events are (receive time, result, error),
    since the fixture servables speak other outputs than the RAG servable.

    An error with a status (`ended(ev)`) is the RPC's final status; one without is an
    `error_message` response on a stream that goes on."""

    def __init__(self, url):
        super().__init__(url, raw=True)

    def send_inputs(self, inputs, model="python_model", **kw):
        self.send(list(inputs), model=model, **kw)

    def next(self, timeout=10):
        return super().next(timeout)

    def until_end(self, timeout=10):
        """Events up to and including the next end_signal (or error)."""
        start = len(self.got)
        self.finish(timeout)
        return self.got[start:]


def ended(ev) -> bool:
    """The event is the RPC's final status (not an error_message on a live stream)."""
    return ev[2] is not None and ev[2].status() is not None


def outputs_of(result):
    if result is None:
        return {}
    return {o.name: result.as_numpy(o.name).tobytes()
            for o in result.get_response().outputs}


def timestamp_of(result):
    return result.get_response().parameters["OVMS_MP_TIMESTAMP"].int64_param


def http(host, path, body=None):
    req = urllib.request.Request(host.rest_url + path, data=body,
                                 method="POST" if body is not None else "GET")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def http_error(host, path, body=None):
    status, raw = http(host, path, body)
    return status, (json.loads(raw).get("error") if raw else None)
