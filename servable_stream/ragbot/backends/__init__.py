"""LLM backends behind one contract (contract.py): optimum-intel and openvino-genai."""
