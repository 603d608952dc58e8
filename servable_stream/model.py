"""OVMS Python node: the thin adapter between pyovms Tensors and the RAG core.

Runs unchanged in OpenVINO Model Server. One instance serves every stream; the models
are loaded once in `initialize`. Core errors propagate as they are: each class carries
`grpc_status` (ragbot/errors.py) which the host maps to the gRPC code.
"""
import json
import logging

from pyovms import Tensor

from ragbot import RagService, Settings

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
log = logging.getLogger("ragbot.model")

INPUT = "pre_prompt"


class OvmsPythonModel:
    def initialize(self, kwargs):
        settings = Settings.from_env(kwargs["base_path"])
        log.info("starting the RAG service (model %s, device %s)", settings.selected_model, settings.device)
        self.service = RagService.start(settings)

    def execute(self, inputs):
        request = self.service.request_from_wire(*_prompt_tensor(inputs))
        answer = self.service.answer(request)
        try:
            for chunk in answer:
                if chunk:
                    yield [Tensor("completion", chunk.encode("utf-8"))]
            yield [Tensor("end_signal", json.dumps(answer.end.to_wire()).encode("utf-8"))]
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
    """(bytes, datatype, shape) of the pre_prompt input (OVMS also passes the loopback);
    (None, None, None) when it is missing."""
    named = [t for t in inputs if getattr(t, "name", INPUT) == INPUT]
    if not named:
        return None, None, None
    t = named[0]
    return bytes(t), getattr(t, "datatype", None), getattr(t, "shape", None)
