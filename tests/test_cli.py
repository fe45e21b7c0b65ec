"""The real `vllm-chat` command against the stand-in server: run in this process (`run_main`) for
its flags and answers, as a subprocess (`run_cli`) where the process itself is under test."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.inprocess import run_main
from tests.ports import closed_port
from tests.processes import argv, vllm_chat
from tests.standin import Reply, StandinServer, vllm_error
from vllm_chat import __version__

ROOT = Path(__file__).resolve().parent.parent


def run_cli(
    *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None, timeout: float = 30
) -> subprocess.CompletedProcess[bytes]:
    """`python -m vllm_chat ARGS` with stdout and stderr piped (so not a terminal)."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    feed: dict[str, object] = {"stdin": subprocess.DEVNULL} if stdin is None else {"input": stdin}
    return subprocess.run(
        argv(vllm_chat(*args)),
        capture_output=True,
        timeout=timeout,
        env=full_env,
        cwd=ROOT,
        **feed,  # type: ignore[arg-type]
    )


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    """`python -c CODE` with stdout and stderr piped."""
    return subprocess.run(
        argv([sys.executable, "-c", code]),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=30,
        env=dict(os.environ),
        cwd=ROOT,
    )


def dead_url() -> str:
    """A loopback URL where nothing listens (nor will, while the tests run)."""
    return f"http://127.0.0.1:{closed_port()}/v1"


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Poll `predicate` until it holds (a server thread catching up), or give up."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def user_message(server: StandinServer) -> str:
    assert len(server.requests) == 1
    messages = server.requests[0]["messages"]
    assert [m["role"] for m in messages] == ["user"]
    return messages[0]["content"]


# ---- single-shot mode: output and request --------------------------------------------


@pytest.mark.every_python
def test_quick_prints_only_the_raw_answer(server: StandinServer) -> None:
    result = run_cli("--url", server.url, "-q", "hi")
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"You said: hi\n"
    assert result.stderr == b""
    assert server.requests == [
        {
            "model": "standin-model",
            "messages": [{"role": "user", "content": "hi"}],
            "stream": True,
            "stream_options": {"include_usage": True},
        }
    ]


def test_quick_request_carries_system_prompt_and_sampling(server: StandinServer) -> None:
    result = run_main(
        "--url", server.url,
        "--system-prompt", "Be terse.",
        "--temperature", "0.3",
        "--top-p", "0.9",
        "--max-tokens", "50",
        "-q", "hi",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"You said: hi\n"
    assert server.requests == [
        {
            "model": "standin-model",
            "messages": [
                {"role": "system", "content": "Be terse."},
                {"role": "user", "content": "hi"},
            ],
            "temperature": 0.3,
            "top_p": 0.9,
            "max_tokens": 50,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
    ]


@pytest.mark.parametrize(
    "flag",
    [
        ["--model-name", "standin-model-large"],
        ["--model_name", "standin-model-large"],
        ["--model_name=standin-model-large"],
    ],
    ids=["dash", "underscore", "underscore-equals"],
)
def test_named_model_is_used_without_listing_models(server: StandinServer, flag: list[str]) -> None:
    result = run_main("--url", server.url, *flag, "-q", "hi")
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"You said: hi\n"
    assert [request["model"] for request in server.requests] == ["standin-model-large"]
    assert server.models_calls == 0


def test_openai_base_url_sets_the_server(server: StandinServer) -> None:
    result = run_main("-q", "hi", env={"OPENAI_BASE_URL": server.url})
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"You said: hi\n"
    assert user_message(server) == "hi"


def test_url_flag_beats_openai_base_url(server: StandinServer) -> None:
    result = run_main("--url", server.url, "-q", "hi", env={"OPENAI_BASE_URL": dead_url()})
    assert result.returncode == 0, result.stderr
    assert user_message(server) == "hi"


# ---- API keys ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flag", "env_key", "expected"),
    [
        ("flag-key-A", "env-key-B", "Bearer flag-key-A"),
        (None, "env-key-B", "Bearer env-key-B"),
        (None, None, "Bearer EMPTY"),
    ],
    ids=["flag-beats-env", "env", "none"],
)
def test_api_key_precedence(
    server: StandinServer, flag: str | None, env_key: str | None, expected: str
) -> None:
    args = ["--url", server.url, "-q", "hi"] + (["--api-key", flag] if flag else [])
    result = run_main(*args, env={"OPENAI_API_KEY": env_key} if env_key else None)
    assert result.returncode == 0, result.stderr
    # Both the model list and the chat request carry the key.
    assert len(server.headers) == 2
    assert [headers.get("Authorization") for headers in server.headers] == [expected] * 2


def test_right_key_is_accepted_by_a_protected_server(server_factory) -> None:
    protected = server_factory(api_key="s3cret")
    result = run_main("--url", protected.url, "--api-key", "s3cret", "-q", "hi")
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"You said: hi\n"


@pytest.mark.parametrize(
    ("how", "source"),
    [("flag", "--api-key"), ("env", "OPENAI_API_KEY")],
)
def test_rejected_key_says_where_it_came_from_but_not_what_it_is(
    server_factory, how: str, source: str
) -> None:
    protected = server_factory(api_key="s3cret")
    wrong = "wrong-key-Zq7x"
    args = ["--url", protected.url, "-q", "hi"]
    if how == "flag":
        result = run_main(*args, "--api-key", wrong)
    else:
        result = run_main(*args, env={"OPENAI_API_KEY": wrong})
    assert result.returncode == 1
    assert result.stdout == b""
    err = result.stderr.decode()
    assert "rejected" in err
    assert source in err
    assert wrong not in err
    assert "Traceback" not in err
    assert len(err.splitlines()) == 1


# ---- piped stdin ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "stdin", "expected"),
    [
        (["-q", "review this"], b"some diff\n", "review this\n\nsome diff"),
        (["-q", "-"], b"the whole\nmessage\n", "the whole\nmessage"),
        (["-q", "-"], b"  keep\r\n\n\tall this\t \r\n\n", "  keep\r\n\n\tall this\t "),
        ([], b"question from a pipe\n", "question from a pipe"),
        ([], "naïve\n\n".encode(), "naïve"),
    ],
    ids=["appended", "dash", "dash-keeps-the-rest", "no-q", "no-q-unicode"],
)
@pytest.mark.every_python
def test_piped_stdin_becomes_the_message(
    server: StandinServer, args: list[str], stdin: bytes, expected: str
) -> None:
    result = run_cli("--url", server.url, *args, stdin=stdin)
    assert result.returncode == 0, result.stderr
    assert user_message(server) == expected
    # The answer goes out as it came, plus a final newline (it lacks one).
    assert result.stdout == f"You said: {expected}\n".encode()


def test_echo_into_quick_dash_sends_the_line_without_its_newline(server: StandinServer) -> None:
    # The brief's case: `echo "echo: from stdin" | vllm-chat -q -` in a real shell pipe.
    command = f"echo 'echo: from stdin' | {sys.executable} -m vllm_chat --url {server.url} -q -"
    result = subprocess.run(
        argv(["/bin/sh", "-c", command]), capture_output=True, timeout=30, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr
    assert user_message(server) == "echo: from stdin"
    assert result.stdout == b"You said: echo: from stdin\n"


@pytest.mark.parametrize(
    ("args", "stdin"),
    [(["-q", "-"], b""), ([], b""), (["-q", "-"], b"  \n\n"), (["-q", "   "], None)],
    ids=["dash-empty", "no-q-empty", "dash-blank", "blank-q"],
)
def test_empty_message_is_a_usage_error(
    server: StandinServer, args: list[str], stdin: bytes | None
) -> None:
    result = run_main("--url", server.url, *args, stdin=stdin)
    assert result.returncode == 2
    assert result.stdout == b""
    err = result.stderr.decode()
    assert len(err.splitlines()) == 1
    assert "empty" in err
    assert "Traceback" not in err
    assert server.requests == []


# ---- what the answer looks like on a pipe -------------------------------------------------


def test_stats_go_to_stderr_and_leave_stdout_alone(server: StandinServer) -> None:
    result = run_main("--url", server.url, "--stats", "-q", "hi")
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"You said: hi\n"
    lines = [line for line in result.stderr.decode().splitlines() if "TTFT" in line]
    assert len(lines) == 1
    line = lines[0]
    # "You said: hi" arrives in 3 deltas of 4 characters at once: far too quick for a
    # decode rate to mean anything, so none is claimed; the end-to-end time is there.
    assert "tokens/s" not in line, line
    assert re.fullmatch(r"TTFT \d+ ms · \d+\.\d+ s · \d+ prompt \+ 3 completion tokens", line), line


def test_stats_give_a_decode_rate_measured_over_a_real_window(server: StandinServer) -> None:
    # 30 deltas, 20 ms apart: about 0.6 s of decoding in 30 separate reads.
    server.push(Reply(content="abcd" * 30, chunk_chars=4, delay=0.02))
    result = run_main("--url", server.url, "--stats", "-q", "hi")
    assert result.returncode == 0, result.stderr
    line = result.stderr.decode().strip()
    found = re.fullmatch(
        r"TTFT \d+ ms · (\d+\.\d) tokens/s · \d+\.\d+ s · \d+ prompt \+ 30 completion tokens", line
    )
    assert found, line
    # 29 tokens after the first over at least 29 pauses of 20 ms: at most 50 tokens/s.
    assert 0 < float(found.group(1)) <= 50.0, line


def test_token_limit_is_reported_on_stderr(server: StandinServer) -> None:
    # The stand-in sends one 4-character delta per token: max_tokens 1 leaves "You ".
    result = run_main("--url", server.url, "--max-tokens", "1", "-q", "hi")
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"You \n"
    assert result.stderr == b"the answer stopped at the token limit (max_tokens 1)\n"


@pytest.mark.parametrize("named", [False, True], ids=["first-model", "named-model"])
def test_an_answer_cut_by_the_context_window_names_the_window(server_factory, named: bool) -> None:
    # No max_tokens sent: vLLM lets the answer fill the context window, then says "length".
    server = server_factory(max_model_len=12)
    server.push(Reply(content="abcd" * 40, finish_reason="length"))  # 1 + 40 tokens > 12
    flags = ["--model-name", "standin-model"] if named else []
    result = run_main("--url", server.url, *flags, "-q", "hi")
    assert result.returncode == 0, result.stderr
    assert "max_tokens" not in server.requests[0]
    assert result.stderr.decode() == (
        "the answer stopped at the end of the model's context window "
        "(12 tokens, prompt and answer)\n"
    )


def test_a_length_stop_below_the_context_window_is_the_servers_own_limit(
    server: StandinServer,
) -> None:
    server.push(Reply(content="abcd" * 3, finish_reason="length"))  # 1 + 3 of 4096 tokens
    result = run_main("--url", server.url, "-q", "hi")
    assert result.returncode == 0, result.stderr
    err = result.stderr.decode()
    assert err.startswith("the answer stopped at a limit the server set (no max_tokens was sent;")
    assert "max_tokens)" not in err


# ---- empty answers ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "said"),
    [
        (Reply(content=""), "(empty answer)"),
        (
            Reply(content="", finish_reason="content_filter"),
            "(empty answer; finish reason: content_filter)",
        ),
        (Reply(reasoning="mulling it over", content=""), "(no answer after the reasoning)"),
        (Reply(content="<think>all thought</think>"), "(no answer after the reasoning)"),
        (
            Reply(reasoning="a long think", chunk_chars=2),
            "(no answer after the reasoning: it stopped at the token limit (max_tokens 2))",
        ),
    ],
    ids=["stop", "content-filter", "reasoning-only", "think-tags-only", "length-while-thinking"],
)
def test_an_empty_answer_says_so_on_stderr_and_exits_0(
    server: StandinServer, reply: Reply, said: str
) -> None:
    server.push(reply)
    limit = ["--max-tokens", "2"] if "max_tokens 2" in said else []
    result = run_main("--url", server.url, *limit, "-q", "hi")
    assert result.returncode == 0, result.stderr
    assert result.stdout == b""
    assert result.stderr.decode() == said + "\n"


def test_reasoning_stays_off_a_piped_stdout(server: StandinServer) -> None:
    result = run_main("--url", server.url, "-q", "please think")
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"Here is my considered answer.\n"
    assert b"step by step" not in result.stderr


def test_non_ascii_answer_is_byte_exact(server: StandinServer) -> None:
    server.push(Reply(content="héllo 世界 🎉", chunk_chars=1, split_bytes=True))
    result = run_main("--url", server.url, "-q", "hi")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "héllo 世界 🎉\n".encode()


# ---- failures and exit codes ------------------------------------------------------------


@pytest.mark.every_python
def test_unreachable_server_exits_1_with_one_line() -> None:
    url = dead_url()
    result = run_cli("--url", url, "-q", "hi")
    assert result.returncode == 1
    assert result.stdout == b""
    err = result.stderr.decode()
    assert len(err.splitlines()) == 1, err
    assert url in err
    assert "nothing listens on port" in err and "vllm serve" in err
    assert "Traceback" not in err


def test_unknown_model_exits_1_with_the_servers_message(server: StandinServer) -> None:
    result = run_main("--url", server.url, "--model-name", "nosuch", "-q", "hi")
    assert result.returncode == 1
    assert result.stdout == b""
    err = result.stderr.decode()
    models = "standin-model, standin-model-large"
    assert f"The model `nosuch` does not exist; the server has: {models}" in err
    assert "Traceback" not in err


def test_cut_off_stream_keeps_the_partial_answer_and_exits_1(server: StandinServer) -> None:
    server.push(Reply(content="abcdefghijklmnop", chunk_chars=4, cut_after=2))
    result = run_main("--url", server.url, "-q", "hi")
    assert result.returncode == 1
    assert result.stdout.startswith(b"abcdefgh")
    assert b"ijkl" not in result.stdout
    err = result.stderr.decode()
    assert "connection was lost" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "mentions"),
    [
        (["--max-tokens", "abc"], "--max-tokens"),
        (["--max-tokens", "0"], "--max-tokens"),
        (["--temperature", "x"], "--temperature"),
        (["--url", "localhost:8000"], "http://"),
        (["--bogus"], "--bogus"),
    ],
    ids=["max-tokens-abc", "max-tokens-0", "temperature-x", "url-no-scheme", "bogus"],
)
def test_bad_flags_exit_2_with_one_error_line(args: list[str], mentions: str) -> None:
    result = run_main(*args, "-q", "hi")
    assert result.returncode == 2
    assert result.stdout == b""
    err = result.stderr.decode()
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if "error:" in line]
    assert len(errors) == 1, err
    assert mentions in errors[0]


def test_openai_base_url_without_a_scheme_exits_2() -> None:
    result = run_main("-q", "hi", env={"OPENAI_BASE_URL": "localhost:8000/v1"})
    assert result.returncode == 2
    err = result.stderr.decode()
    assert "OPENAI_BASE_URL must start with http://" in err
    assert "Traceback" not in err


def test_a_reader_that_goes_away_ends_the_command_quietly(server: StandinServer) -> None:
    server.push(Reply(content="line\n" * 20000, chunk_chars=50))
    command = argv(vllm_chat("--url", server.url, "-q", "hi"))
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, cwd=ROOT
    ) as child:
        assert child.stdout is not None and child.stderr is not None
        assert child.stdout.read(5) == b"line\n"[:5]
        child.stdout.close()  # as `| head -1` does
        err = child.stderr.read().decode()
        assert child.wait(timeout=30) == 141  # as a filter killed by SIGPIPE
    assert err == "", err


def test_into_a_pipe_what_came_before_a_pause_is_written_during_it(
    server: StandinServer,
) -> None:
    """Writes to a pipe are batched (and the reader rests between them), yet the first
    line reaches the reader while the server pauses for a minute; nothing waits for it."""
    server.push(Reply(content="the first line\nthe rest\n", chunk_chars=15, delay=60))
    command = argv(vllm_chat("--url", server.url, "-q", "hi"))
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL
    ) as child:
        assert child.stdout is not None
        lines: list[bytes] = []
        reader = threading.Thread(target=lambda: lines.append(child.stdout.readline()))
        reader.start()
        reader.join(timeout=20)  # a guard: the line is there long before, or never
        child.kill()
    assert lines == [b"the first line\n"]


@pytest.mark.every_python
@pytest.mark.parametrize("streams", ["stdout", "stdout-and-stderr"])
def test_quick_into_head_exits_141_and_prints_nothing_else(
    server: StandinServer, streams: str
) -> None:
    # A long answer, streamed in 4-character pieces, into a real `head -1`; paced, so
    # that the server is still sending when the reader goes (about 15 s in all).
    long_answer = "the first line\n" + "and more words\n" * 2000
    server.push(Reply(content=long_answer, chunk_chars=4, delay=0.002))
    both = " 2>&1" if streams == "stdout-and-stderr" else ""
    command = (
        f"{sys.executable} -m vllm_chat --url {server.url} -q 'a long question'{both} | head -1;"
        ' echo "status ${PIPESTATUS[0]}" >&2'
    )
    result = subprocess.run(
        argv(["bash", "-c", command]), capture_output=True, timeout=30, cwd=ROOT
    )
    assert result.stdout == b"the first line\n"
    assert result.stderr == b"status 141\n"  # nothing from vllm-chat itself
    assert wait_for(lambda: server.aborted == 1)  # the server was told to stop


@pytest.mark.parametrize("where", ["flag", "environment"])
def test_a_key_with_a_line_end_inside_is_refused_without_showing_it(
    server: StandinServer, where: str
) -> None:
    key = "sk-TOPSECRET\r\nX-Injected: 1"
    flag = ["--api-key", key] if where == "flag" else []
    env = {"OPENAI_API_KEY": key} if where == "environment" else {}
    result = run_main("--url", server.url, *flag, "-q", "hi", env=env)
    assert result.returncode == 2
    err = result.stderr.decode()
    assert "control characters" in err and "TOPSECRET" not in err, err
    assert server.requests == []


def test_a_key_read_with_its_line_end_is_sent_without_it(server_factory) -> None:
    server = server_factory(api_key="sk-good")
    result = run_main("--url", server.url, "-q", "hi", env={"OPENAI_API_KEY": "sk-good\r\n"})
    assert result.returncode == 0, result.stderr
    assert server.headers[-1]["Authorization"] == "Bearer sk-good"


# ---- help and version -------------------------------------------------------------------

FLAGS = [
    "--url", "--model-name", "--api-key", "--system-prompt", "-q", "--quick", "--stats",
    "--temperature", "--top-p", "--max-tokens", "--history-file", "--no-history", "--timeout",
    "--connect-timeout", "--version", "--config", "--vi", "--no-vi", "--no-stats", "--extra-body",
    "--load", "--think", "--code-theme",
]  # fmt: skip


@pytest.mark.every_python
def test_help_lists_every_flag() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    out = result.stdout.decode()
    words = set(re.findall(r"(?<![\w-])--?[a-z][\w-]*", out))
    missing = [flag for flag in FLAGS if flag not in words]
    assert not missing, out


def test_version() -> None:
    result = run_main("--version")
    assert result.returncode == 0
    assert result.stdout == f"vllm-chat {__version__}\n".encode()


# ---- start-up weight --------------------------------------------------------------------

HEAVY = ("requests", "rich", "prompt_toolkit")


@pytest.mark.parametrize("flag", ["--help", "--version"])
def test_help_and_version_import_no_heavy_library(flag: str) -> None:
    code = (
        "import sys\n"
        "from vllm_chat.cli import main\n"
        "try:\n"
        f"    main([{flag!r}])\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print('LOADED', [m for m in {HEAVY!r} if m in sys.modules])\n"
    )
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "LOADED []"


def test_quick_to_a_pipe_imports_neither_rich_nor_prompt_toolkit(server: StandinServer) -> None:
    code = (
        "import sys\n"
        "from vllm_chat.cli import main\n"
        f"code = main(['--url', {server.url!r}, '-q', 'hi'])\n"
        "print('LOADED', [m for m in ('rich', 'prompt_toolkit') if m in sys.modules],\n"
        "      file=sys.stderr)\n"
        "sys.exit(code)\n"
    )
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "You said: hi\n"
    assert result.stderr.splitlines()[-1] == "LOADED []"


def test_quick_context_error_hints_flags_not_repl_commands(server: StandinServer) -> None:
    # The chat's /undo and /reset do not exist in -q: its hint names what -q can change.
    message = (
        "This model's maximum context length is 4096 tokens. However, you requested "
        "5000 tokens (4000 in the messages, 1000 in the completion)."
    )
    server.push(Reply(status=400, error_body=vllm_error(message, 400)))
    result = run_main("--url", server.url, "-q", "hi")
    assert result.returncode == 1
    line = result.stderr.decode()
    assert "maximum context length is 4096 tokens" in line
    assert "--max-model-len" in line
    assert "/undo" not in line and "/reset" not in line


def test_max_tokens_over_the_context_hints_asking_for_fewer(server: StandinServer) -> None:
    # vLLM 0.32's refusal names max_tokens: the answer's limit is what to change.
    result = run_main("--url", server.url, "--max-tokens", "5000", "-q", "hi")
    assert result.returncode == 1
    line = result.stderr.decode().strip()
    assert "max_tokens=5000 cannot be greater than max_model_len=4096" in line
    assert line.endswith("(ask for fewer with --max-tokens N, or leave it out)")
    assert server.requests[-1]["max_tokens"] == 5000


def test_every_mode_hint_has_a_line_for_each_mode() -> None:
    from vllm_chat.client.hints import MODE_HINTS, MODES, hint

    for name, by_mode in MODE_HINTS.items():
        assert set(by_mode) == set(MODES), name
        assert len({hint(name, mode=mode) for mode in MODES}) == len(MODES), name


def test_the_think_probe_goes_out_beside_the_chat_request(server_factory) -> None:
    """The chat request does not wait for /tokenize; its answer's text does (a template
    that opens <think> makes it start as thinking)."""
    server = server_factory(template_opens_think=True)
    server.tokenize_gate = threading.Event()
    server.push(Reply(content="musing\n</think>\n\nThe answer."))
    command = argv(vllm_chat("--url", server.url, "-q", "hi"))
    with subprocess.Popen(
        command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT
    ) as child:
        try:
            server.wait_for_requests(1, timeout=20)  # the chat request, /tokenize unanswered
            deadline = time.monotonic() + 20  # the probe's request may reach the server second
            while not server.tokenize_requests and time.monotonic() < deadline:
                time.sleep(0.01)
            assert len(server.tokenize_requests) == 1 and child.poll() is None
        finally:
            server.tokenize_gate.set()
        out, err = child.communicate(timeout=30)
    assert child.returncode == 0, err
    assert out == b"The answer.\n"  # the thinking split off, as the probe said
