"""METRICS_PORT's server (ragbot/ops_port.py, the servable's own port in real OVMS): a scraper
that hangs up mid-request leaves no traceback on stderr, and the next scrape is answered."""
from __future__ import annotations

import threading
import urllib.request

from ragbot import ops_port

from tests.local_http import hang_up_mid_request


def test_a_client_hanging_up_is_no_traceback_and_the_port_serves_on(capfd):
    server = ops_port.make_server("127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        hang_up_mid_request(port, sent=b"GET /metr")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            assert r.status == 200 and b"# HELP" in r.read()
    finally:
        server.shutdown()
        server.server_close()
    err = capfd.readouterr().err
    assert "Traceback" not in err and "Exception occurred" not in err
