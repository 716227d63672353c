"""Benchmarks of quart_llmstream against a hand-written endpoint and the in-process event loop."""
