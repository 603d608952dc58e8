"""python -m gateway --ovms_url localhost:9000 --port 8001"""
import sys

from gateway.server import main

sys.exit(main())
