"""GET /v2/models/{name}/status: a read-only JSON document the servable publishes itself.

A host extension with no OVMS counterpart (OVMS answers 404 there). Generic: the host
knows nothing of what the document says; it calls the node's `OvmsPythonModel.status()`
when the class defines one (any JSON-serialisable value) and answers 404 when it does not.
The node is held for the call as a request holds it, so a reload cannot finalize it midway.
Under real OVMS a servable has to serve such a document from its own port.
"""

from __future__ import annotations

import logging
import re

from .errors import HostError
from .rest import _MODEL, Request, Response, Route

log = logging.getLogger("ovms_host.servable_status")


def _status(req: Request, m: re.Match) -> Response:
    try:
        servable = req.registry.find(m["name"])
        if not servable.ready:
            raise HostError("MODEL_VERSION_NOT_LOADED_YET")
        _, node = servable.acquire()
    except HostError as e:
        return Response.error(e)
    try:
        provider = getattr(node.model, "status", None)
        if not callable(provider):
            return Response.json({"error": f"{m['name']} publishes no status (its "
                                           "OvmsPythonModel defines no status() method)"}, 404)
        try:
            return Response.json(provider())
        except Exception as e:  # noqa: BLE001 - a servable's bug is a 500, never a dead port
            log.exception("status() of %s raised", m["name"])
            return Response.json({"error": f"status() failed: {type(e).__name__}: {e}"}, 500)
    finally:
        node.release()


def servable_status_route() -> Route:
    return Route("GET", _MODEL + r"/status", _status)
