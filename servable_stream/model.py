"""OVMS Python node: the thin adapter between pyovms Tensors and the RAG core.

Runs unchanged in OpenVINO Model Server. One instance serves every stream; the models
are loaded once in `initialize`. Core errors propagate as they are: each class carries
`grpc_status` (ragbot/errors.py) which the host maps to the gRPC code.
"""
import json
import logging

from pyovms import Tensor

from ragbot import metrics
from ragbot.errors import InvalidRequestError
from ragbot.request import parse_input
from ragbot.service import RagService
from ragbot.settings import Settings

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
log = logging.getLogger("ragbot.model")

INPUT = "pre_prompt"


class OvmsPythonModel:
    def initialize(self, kwargs):
        settings = Settings.from_env(kwargs["base_path"])
        log.info("starting the RAG service (model %s, device %s)", settings.selected_model, settings.device)
        self.service = RagService.start(settings)

    def execute(self, inputs):
        try:
            request = parse_input(*_prompt_tensor(inputs), max_bytes=self.service.settings.max_prompt_bytes)
        except InvalidRequestError as exc:
            metrics.record_request("invalid")
            log.info("request refused: outcome=invalid reason=%s", exc)
            raise
        answer = self.service.answer(request)
        try:
            for chunk in answer:
                if chunk:
                    yield [Tensor("completion", chunk.encode("utf-8"))]
            end_info = answer.end_info()
            yield [Tensor("end_signal", json.dumps(end_info).encode("utf-8"))]
        except GeneratorExit:  # the host closes the generator when the client cancels
            log.info("stream closed by the client: cancelling the answer")
            answer.cancel()
            raise
        finally:
            answer.close()

    def finalize(self):
        service = getattr(self, "service", None)
        if service is not None:
            service.close()


def _prompt_tensor(inputs):
    """(bytes, datatype, shape) of the pre_prompt input (OVMS also passes the loopback)."""
    named = [t for t in inputs if getattr(t, "name", INPUT) == INPUT]
    if not named:
        raise InvalidRequestError(f"the request has no {INPUT} input")
    t = named[0]
    return bytes(t), getattr(t, "datatype", None), getattr(t, "shape", None)
