"""GPT API: an OpenAI-compatible inference platform over llama.cpp."""

__version__ = "0.1.0"
