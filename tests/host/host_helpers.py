"""Client-side helpers shared by the host tests (tritonclient streams, decoding)."""
import os
import queue
import time

import numpy as np
import tritonclient.grpc as grpcclient

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")


def config(name):
    """config.json of a fixture servable under tests/host/fixtures/."""
    return os.path.join(FIXTURES, name, "config.json")


def text_input(text: str, name="pre_prompt"):
    inp = grpcclient.InferInput(name, [1], "BYTES")
    inp.set_data_from_numpy(np.array([text.encode()], dtype=object))
    return inp


class StreamCollector:
    """Opens a stream on a client and records (receive time, result, error)."""

    def __init__(self, url):
        self.client = grpcclient.InferenceServerClient(url)
        self.events = queue.Queue()
        self.client.start_stream(lambda result, error: self.events.put(
            (time.monotonic(), result, error)))

    def send(self, text, **kw):
        self.client.async_stream_infer("python_model", [text_input(text)], **kw)

    def next(self, timeout=10):
        return self.events.get(timeout=timeout)

    def until_end(self, timeout=10):
        """Events up to and including the next end_signal (or error)."""
        out = []
        while True:
            ev = self.next(timeout)
            out.append(ev)
            if ev[2] is not None or "end_signal" in outputs_of(ev[1]):
                return out

    def close(self, cancel=False):
        self.client.stop_stream(cancel_requests=cancel)
        self.client.close()


def outputs_of(result):
    if result is None:
        return {}
    return {o.name: result.as_numpy(o.name).tobytes()
            for o in result.get_response().outputs}


def timestamp_of(result):
    return result.get_response().parameters["OVMS_MP_TIMESTAMP"].int64_param
