"""One request's path: parse it, admit it, retrieve, fit the prompt, stream the answer, end it."""
