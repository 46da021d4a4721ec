"""Use a real provider: OpenAI, Anthropic, or any OpenAI-compatible server.

    python examples/real_provider.py                      # OpenAI if OPENAI_API_KEY is set
    python examples/real_provider.py --provider anthropic # needs ANTHROPIC_API_KEY
    python examples/real_provider.py --base-url http://localhost:8000/v1 --model llama3
    python examples/real_provider.py --stream             # also stream one answer

Keys come from the environment. With --base-url (vLLM, Ollama, llama.cpp, ...) no key
is needed. Without a key or a base URL the example says so and uses the simulated
provider, so it always runs.
"""

import argparse
import os
import time

from ember.api.models import models
from ember.models import AnthropicProvider, OpenAIProvider, RetryPolicy
from ember.xcs import get_jit_stats, jit

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--provider", choices=["openai", "anthropic"], default="openai")
parser.add_argument("--base-url", help="an OpenAI-compatible server, e.g. http://localhost:8000/v1")
parser.add_argument("--model", help="model name (default: gpt-4o-mini / claude-3-5-haiku-latest)")
parser.add_argument("--max-concurrency", type=int, default=4)
parser.add_argument("--timeout", type=float, default=60.0, help="seconds per request")
parser.add_argument("--stream", action="store_true", help="also stream one answer")
args = parser.parse_args()

retry = RetryPolicy(max_attempts=4, initial_delay=0.5)  # honours Retry-After, capped at 60 s
if args.base_url:
    provider_name = "openai"
    models.register_provider(
        "openai",
        OpenAIProvider(
            base_url=args.base_url,
            api_key=os.environ.get("OPENAI_API_KEY") or "EMPTY",
            max_concurrency=args.max_concurrency,
            retry=retry,
            timeout=args.timeout,
        ),
    )
    model = args.model or "local-model"
elif args.provider == "anthropic" and os.environ.get("ANTHROPIC_API_KEY"):
    provider_name = "anthropic"
    models.register_provider(
        "anthropic",
        AnthropicProvider(max_concurrency=args.max_concurrency, retry=retry, timeout=args.timeout),
    )
    model = args.model or "claude-3-5-haiku-latest"
elif args.provider == "openai" and os.environ.get("OPENAI_API_KEY"):
    provider_name = "openai"
    models.register_provider(
        "openai",
        OpenAIProvider(max_concurrency=args.max_concurrency, retry=retry, timeout=args.timeout),
    )
    model = args.model or "gpt-4o-mini"
else:
    key = "ANTHROPIC_API_KEY" if args.provider == "anthropic" else "OPENAI_API_KEY"
    print(f"No {key} set and no --base-url given: using the simulated provider instead.")
    provider_name, model = "simulated", args.model or "stand-in"

ask = models.instance(f"{provider_name}/{model}", max_tokens=64)


@jit
def capitals(countries):
    return [ask(f"What is the capital of {country}? One word.") for country in countries]


start = time.perf_counter()
answers = capitals(["France", "Japan", "Kenya", "Peru"])
elapsed = time.perf_counter() - start
for answer in answers:
    label = " (simulated)" if answer.simulated else ""
    print(f"{answer.model_id}{label}: {answer.text.strip()}")
print(f"4 calls in {elapsed:.2f} s; tokens: {get_jit_stats(capitals)['tokens']}")

if args.stream:
    stream = ask.stream("Name three rivers of Africa, one line each.")
    for chunk in stream:
        print(chunk, end="", flush=True)
    print(f"\nstreamed: {stream.response.usage.total_tokens} tokens")
