"""OVMS Python node: the thin adapter between pyovms Tensors and the RAG core.

Runs unchanged in OpenVINO Model Server. One instance serves every stream; the models
are loaded once in `initialize`. `execute` always returns a generator and nothing a request
causes escapes it: OVMS turns an exception in `execute` into a silent graph failure, so
errors are answered in-band, in `end_signal` (ragbot/answering/respond.py).
"""
import logging

from pyovms import Tensor

from ragbot import RagService, Settings, respond

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
log = logging.getLogger("ragbot.model")


class OvmsPythonModel:
    def initialize(self, kwargs):
        settings = Settings.from_env(kwargs["base_path"])
        log.info("starting the RAG service (model %s, device %s)", settings.selected_model, settings.device)
        self.service = RagService.start(settings)

    def execute(self, inputs):
        return self._steps(inputs)

    def _steps(self, inputs):
        for name, data in respond(self.service, inputs):
            yield [Tensor(name, data)]

    def status(self):
        """The knowledge base as JSON; the embedded host serves it at GET
        /v2/models/<name>/status (under real OVMS: METRICS_PORT's GET /status)."""
        return self.service.status()

    def finalize(self):
        service = getattr(self, "service", None)
        if service is not None:
            service.close()
