"""A client whose base URL is written into the source. The docs are at https://docs.example.invalid/start.

# See also https://comment.example.invalid/ (a comment, not what the client is given)
"""

import openai

# https://another-comment.example.invalid/v1
client = openai.OpenAI(base_url="http://127.0.0.1:9/v1", api_key="gk-not-a-real-key-0000000000", max_retries=0,
                       timeout=2)
client.chat.completions.create(model="text-prime", messages=[{"role": "user", "content": "hi"}])
