"""Reads its base URL from the environment; https://docs.example.invalid/v1 is only documentation.

It stops before its first call (exit 4) without saying why.
"""

import os
import sys

# https://comment.example.invalid/v1
base = os.environ.get("OPENAI_BASE_URL")
sys.exit(4)
