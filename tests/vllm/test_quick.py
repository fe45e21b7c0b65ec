"""`vllm-chat -q` against the real vLLM server, in pipes: what a script sees."""

from __future__ import annotations

import json
import re
import subprocess

import requests

from tests.test_cli import run_cli
from tests.vllm.server import RealServer


def quick(vllm: RealServer, *args: str, key: bool = True) -> subprocess.CompletedProcess[bytes]:
    """`vllm-chat --url URL ARGS` with the server's key in OPENAI_API_KEY (unless key=False)."""
    env = vllm.env() if key else {**vllm.env(), "OPENAI_API_KEY": ""}
    # vLLM's CPU build on a loaded 2-core runner took over 30 s for 300 tokens with logprobs.
    return run_cli("--url", vllm.url, *args, env=env, timeout=120)


def seeded(seed: int, **extra: object) -> str:
    """An --extra-body that makes vLLM's sampling repeatable."""
    return json.dumps({"seed": seed, **extra})


def streamed_text(vllm: RealServer, body: dict[str, object]) -> str:
    """The answer vLLM streams for `body`, read straight from the server."""
    text = []
    for chunk in vllm.stream(body):
        for choice in chunk.get("choices") or []:  # type: ignore[attr-defined]
            text.append(choice["delta"].get("content") or "")
    return "".join(text)


def test_quick_prints_the_answer_and_exits_0(vllm: RealServer) -> None:
    done = quick(vllm, "-q", "hello", "--max-tokens", "12")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip(), "no answer printed"
    assert done.stdout.endswith(b"\n")


def test_the_printed_answer_is_exactly_what_vllm_streamed(vllm: RealServer) -> None:
    """Byte for byte, including the replacement characters vLLM's detokeniser emits for
    tokens that are parts of a UTF-8 sequence (found by trying seeds)."""
    prompt, tokens = "Écris un poème, s'il te plaît 🌍", 120
    for seed in range(40):
        body = {
            "messages": [{"role": "user", "content": prompt}],
            "max_tokens": tokens,
            "temperature": 1.0,
            "seed": seed,
        }
        expected = streamed_text(vllm, body)
        if "\ufffd" in expected:
            break
    else:
        raise AssertionError("no seed in 0-39 gave a replacement character; change the prompt")
    done = quick(
        vllm, "-q", prompt, "--max-tokens", str(tokens), "--temperature", "1",
        "--extra-body", seeded(seed),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode("utf-8") == expected + ("" if expected.endswith("\n") else "\n")


def test_stats_report_time_to_first_token_rate_and_vllm_usage(vllm: RealServer) -> None:
    # 300 tokens: about half a second of decoding.
    args = ("--max-tokens", "300", "--extra-body", '{"ignore_eos": true}', "--stats")
    done = quick(vllm, "-q", "hello", *args)
    assert done.returncode == 0, done.stderr
    stats = done.stderr.decode()
    assert re.search(r"TTFT \d+ ms", stats), stats
    assert re.search(r"\d+ prompt \+ 300 completion tokens", stats), stats
    # A rate only when the tokens came apart: vLLM's CPU build sometimes sends a tiny
    # model's whole answer in one burst, and then no rate is claimed (TurnStats).
    if "tokens/s" in stats:
        assert re.search(r"TTFT \d+ ms · \d+\.\d tokens/s · ", stats), stats


def test_an_unknown_model_gets_vllms_404_in_one_line(vllm: RealServer) -> None:
    done = quick(vllm, "-q", "hello", "--model-name", "no-such-model")
    assert done.returncode == 1
    lines = done.stderr.decode().strip().splitlines()
    assert len(lines) == 1, lines
    assert "The model `no-such-model` does not exist" in lines[0]
    assert vllm.model in lines[0]
    assert "the server has" not in lines[0]  # vLLM lists its models itself
    assert done.stdout == b""


def test_a_wrong_key_gets_vllms_401_and_no_key_is_printed(keyed_vllm: RealServer) -> None:
    done = quick(keyed_vllm, "-q", "hello", "--api-key", "wrong-key-42")
    assert done.returncode == 1
    error = done.stderr.decode()
    assert "rejected the key from --api-key" in error and "401" in error
    assert "wrong-key-42" not in error and keyed_vllm.api_key not in error  # type: ignore[operator]


def test_no_key_for_a_server_that_wants_one_says_how_to_give_it(keyed_vllm: RealServer) -> None:
    done = quick(keyed_vllm, "-q", "hello", key=False)
    assert done.returncode == 1
    assert "--api-key" in done.stderr.decode() and "401" in done.stderr.decode()


def test_the_token_limit_is_flagged_on_stderr(vllm: RealServer) -> None:
    done = quick(vllm, "-q", "hello", "--max-tokens", "5")
    assert done.returncode == 0, done.stderr
    assert "token limit" in done.stderr.decode() and "max_tokens 5" in done.stderr.decode()


def max_model_len(vllm: RealServer) -> int:
    listed = requests.get(f"{vllm.url}/models", headers=vllm.headers(), timeout=10).json()
    return int(next(m["max_model_len"] for m in listed["data"] if m["id"] == vllm.model))


def test_a_prompt_over_the_context_gets_vllms_400_and_a_hint(vllm: RealServer) -> None:
    window = max_model_len(vllm)
    done = quick(vllm, "-q", "word " * (window + 10))
    assert done.returncode == 1
    error = done.stderr.decode().strip()
    assert len(error.splitlines()) == 1, error
    assert f"maximum context length is {window} tokens" in error
    assert "--max-model-len" in error  # the client's hint
    assert "--max-tokens" not in error


def test_max_tokens_over_the_context_gets_vllms_400_before_any_answer(vllm: RealServer) -> None:
    window = max_model_len(vllm)
    done = quick(vllm, "-q", "hello", "--max-tokens", str(window + 1))
    assert done.returncode == 1
    assert done.stdout == b""
    error = done.stderr.decode()
    assert f"max_tokens={window + 1} cannot be greater than max_model_len={window}" in error
    assert "ask for fewer with --max-tokens N" in error  # the client's hint


def test_the_system_prompt_reaches_the_template(vllm: RealServer) -> None:
    system = "You are a terse assistant who answers in French."
    counts = []
    for extra in ([], ["--system-prompt", system]):
        done = quick(vllm, "-q", "hello", "--max-tokens", "2", "--stats", *extra)
        assert done.returncode == 0, done.stderr
        counts.append(int(re.search(r"(\d+) prompt", done.stderr.decode()).group(1)))  # type: ignore[union-attr]
    tokenized = requests.post(
        f"{vllm.root}/tokenize",
        json={
            "model": vllm.model,
            "messages": [
                {"role": "system", "content": system},
                {"role": "user", "content": "hello"},
            ],
            "add_generation_prompt": True,
        },
        headers=vllm.headers(),
        timeout=10,
    ).json()
    assert counts[1] == tokenized["count"] > counts[0]


def test_vllm_sampling_extras_with_a_seed_repeat_the_answer(vllm: RealServer) -> None:
    extras = {"top_k": 20, "min_p": 0.05, "repetition_penalty": 1.1}
    args = ("-q", "tell me a story", "--max-tokens", "40", "--temperature", "1.0")
    first, again, other = (
        quick(vllm, *args, "--extra-body", seeded(seed, **extras)) for seed in (7, 7, 8)
    )
    for done in (first, again, other):
        assert done.returncode == 0, done.stderr
    assert first.stdout == again.stdout
    assert first.stdout != other.stdout  # the seed did reach the sampler


def test_a_sampling_value_vllm_refuses_is_one_line(vllm: RealServer) -> None:
    # The client checks each value; only the server knows how they must agree.
    done = quick(vllm, "-q", "hello", "--max-tokens", "5", "--extra-body", '{"min_tokens": 10}')
    assert done.returncode == 1
    error = done.stderr.decode().strip()
    assert len(error.splitlines()) == 1, error
    assert "min_tokens must be less than or equal to max_tokens=5, got 10" in error
