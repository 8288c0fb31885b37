"""A program that fails on an import before it makes any call."""

import gridctl_no_such_module_for_trace  # noqa: F401

print("never reached")
