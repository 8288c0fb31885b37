"""Offline lints: pure functions from text to findings. No network, no printing."""
