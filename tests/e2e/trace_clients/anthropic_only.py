"""The anthropic SDK, with no ANTHROPIC_BASE_URL of its own (the test sets only OPENAI_BASE_URL)."""

import anthropic

client = anthropic.Anthropic(max_retries=0, timeout=5)
reply = client.messages.create(model="text-prime", max_tokens=16, messages=[{"role": "user", "content": "hi"}])
print("reply", reply.content[0].text)
