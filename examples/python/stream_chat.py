#!/usr/bin/env python3
"""Streams a chat completion from ModelGate and prints it as it arrives.

    pip install ./clients/python
    python examples/python/stream_chat.py "Tell me about foxes"   # $MODELGATE_ADDRESS or /tmp/modelgate.sock
"""

import sys

import modelgate

prompt = " ".join(sys.argv[1:]) or "Hello!"
with modelgate.Client() as client:
    stream = client.chat_stream(model="mock", messages=[{"role": "user", "content": prompt}], timeout=60)
    for chunk in stream:
        print(chunk.text, end="", flush=True)
    print(f"\n[{stream.usage.output_tokens} tokens]" if stream.usage else "")
