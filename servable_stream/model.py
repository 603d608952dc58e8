"""OVMS Python node: the thin adapter between pyovms Tensors and the RAG core.

Runs unchanged in OpenVINO Model Server. One instance serves every stream; the models
are loaded once in `initialize`. Core errors propagate as they are: each class carries
`grpc_status` (ragbot/errors.py) which the host maps to the gRPC code.
"""
import json
import logging

from pyovms import Tensor

from ragbot.request import parse_pre_prompt
from ragbot.service import RagService
from ragbot.settings import Settings

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
log = logging.getLogger("ragbot.model")


class OvmsPythonModel:
    def initialize(self, kwargs):
        settings = Settings.from_env(kwargs["base_path"])
        log.info("starting the RAG service (model %s, device %s)", settings.selected_model, settings.device)
        self.service = RagService.start(settings)

    def execute(self, inputs):
        request = parse_pre_prompt(bytes(inputs[0]))
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
