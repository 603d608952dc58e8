"""An OVMS-compatible host for Python servables (MediaPipe graphs of one Python node).

It stands in for the OVMS binary where none exists: same config.json / graph.pbtxt /
model.py, same command-line flags, same KServe gRPC and REST APIs. It knows nothing about
what the servable does.
"""
