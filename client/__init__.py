"""Clients for the RAG chatbot served by OVMS: the shared stream module, a terminal
client and a Gradio page. Speaks the wire contract only (no OpenVINO, no server code)."""
