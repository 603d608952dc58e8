"""Which graphs the gateway lists and serves.

KServe v2 has no list-models call. With `ovms_rest_url`, the list is what OVMS's REST
GET /v1/config reports (every graph it loaded or is loading); otherwise it is the configured
`models` that the server knows (ModelReady answers; NOT_FOUND drops a name). Not-ready graphs
stay listed: a chat with one is a 503 until it loads. `python_model` comes first.

Each graph is listed twice: as itself (questions answered from the documents, the client's
own tasks as plain completions: request_kind.py) and as its plain twin `<name>-plain`
(`--plain_suffix`; every request a plain completion, no retrieval), for a client that wants
a model without the documents, such as Open WebUI's "Task Model".
"""

from __future__ import annotations

import httpx

from client.wire import MODEL_NAME
from gateway.errors import ModelNotFoundError, UnavailableError
from gateway.settings import GatewaySettings
from gateway.upstream import Upstream

__all__ = ["Catalog"]


def _ordered(names) -> list[str]:
    names = list(dict.fromkeys(names))
    return sorted(names, key=lambda n: n != MODEL_NAME)  # stable: python_model first


class Catalog:
    def __init__(self, settings: GatewaySettings, upstream: Upstream):
        self.settings = settings
        self.upstream = upstream
        self.default_model = settings.models[0]

    async def names(self) -> list[str]:
        if self.settings.ovms_rest_url:
            graphs = _ordered(await self._rest_config())
        else:
            graphs = _ordered([n for n in self.settings.models
                               if await self.upstream.model_ready(n) is not None])
        suffix = self.settings.plain_suffix
        return [name for graph in graphs for name in ((graph, graph + suffix) if suffix else (graph,))]

    async def _rest_config(self) -> list[str]:
        url = f"{self.settings.ovms_rest_url}/v1/config"
        try:
            async with httpx.AsyncClient(timeout=5.0, trust_env=False) as http:
                response = await http.get(url)
            response.raise_for_status()
            config = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise UnavailableError(f"cannot read the model list from {url}: {exc}") from None
        if not isinstance(config, dict):
            raise UnavailableError(f"{url} did not return a JSON object")
        return list(config)

    def target(self, model: str) -> tuple[str, bool]:
        """(the graph to ask, plain) for a requested model id: a graph's name, or its plain
        twin `<name><plain_suffix>`."""
        suffix = self.settings.plain_suffix
        if suffix and model.endswith(suffix) and model not in self.settings.models:
            return self.check(model[: -len(suffix)]), True
        return self.check(model), False

    def check(self, model: str) -> str:
        """A chat's model: one of the configured names, or (with a REST URL, where the server
        decides) any name, its NOT_FOUND then mapped to 404 like any upstream error."""
        if model in self.settings.models or self.settings.ovms_rest_url:
            return model
        raise ModelNotFoundError(f"the model {model!r} does not exist; available: "
                                 f"{', '.join(self.settings.models)}")
