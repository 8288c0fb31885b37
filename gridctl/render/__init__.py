"""Human text, one module per command that composes its own lines."""
