"""The real `vllm-chat` command, run as a subprocess against the stand-in server."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.standin import Reply, StandinServer
from vllm_chat import __version__

ROOT = Path(__file__).resolve().parent.parent


def run_cli(
    *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    """`python -m vllm_chat ARGS` with stdout and stderr piped (so not a terminal)."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    feed: dict[str, object] = {"stdin": subprocess.DEVNULL} if stdin is None else {"input": stdin}
    return subprocess.run(
        [sys.executable, "-m", "vllm_chat", *args],
        capture_output=True,
        timeout=30,
        env=full_env,
        cwd=ROOT,
        **feed,  # type: ignore[arg-type]
    )


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    """`python -c CODE` with stdout and stderr piped."""
    return subprocess.run(
        [sys.executable, "-c", code],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=30,
        env=dict(os.environ),
        cwd=ROOT,
    )


def dead_url() -> str:
    """A loopback URL where nothing listens: a port bound and closed again."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def user_message(server: StandinServer) -> str:
    assert len(server.requests) == 1
    messages = server.requests[0]["messages"]
    assert [m["role"] for m in messages] == ["user"]
    return messages[0]["content"]


# ---- single-shot mode: output and request --------------------------------------------


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
    result = run_cli(
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
    result = run_cli("--url", server.url, *flag, "-q", "hi")
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"You said: hi\n"
    assert [request["model"] for request in server.requests] == ["standin-model-large"]
    assert server.models_calls == 0


def test_openai_base_url_sets_the_server(server: StandinServer) -> None:
    result = run_cli("-q", "hi", env={"OPENAI_BASE_URL": server.url})
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"You said: hi\n"
    assert user_message(server) == "hi"


def test_url_flag_beats_openai_base_url(server: StandinServer) -> None:
    result = run_cli("--url", server.url, "-q", "hi", env={"OPENAI_BASE_URL": dead_url()})
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
    result = run_cli(*args, env={"OPENAI_API_KEY": env_key} if env_key else None)
    assert result.returncode == 0, result.stderr
    # Both the model list and the chat request carry the key.
    assert len(server.headers) == 2
    assert [headers.get("Authorization") for headers in server.headers] == [expected] * 2


def test_right_key_is_accepted_by_a_protected_server(server_factory) -> None:
    protected = server_factory(api_key="s3cret")
    result = run_cli("--url", protected.url, "--api-key", "s3cret", "-q", "hi")
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
        result = run_cli(*args, "--api-key", wrong)
    else:
        result = run_cli(*args, env={"OPENAI_API_KEY": wrong})
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
        (["-q", "review this"], b"some diff", "review this\n\nsome diff"),
        (["-q", "-"], b"the whole\nmessage\n", "the whole\nmessage\n"),
        ([], b"question from a pipe", "question from a pipe"),
    ],
    ids=["appended", "dash", "no-q"],
)
def test_piped_stdin_becomes_the_message(
    server: StandinServer, args: list[str], stdin: bytes, expected: str
) -> None:
    result = run_cli("--url", server.url, *args, stdin=stdin)
    assert result.returncode == 0, result.stderr
    assert user_message(server) == expected
    answer = f"You said: {expected}"
    # The answer goes out as it came, plus a final newline only when it lacks one.
    assert result.stdout == (answer if answer.endswith("\n") else answer + "\n").encode()


@pytest.mark.parametrize(
    ("args", "stdin"),
    [(["-q", "-"], b""), ([], b""), (["-q", "-"], b"  \n\n"), (["-q", "   "], None)],
    ids=["dash-empty", "no-q-empty", "dash-blank", "blank-q"],
)
def test_empty_message_is_a_usage_error(
    server: StandinServer, args: list[str], stdin: bytes | None
) -> None:
    result = run_cli("--url", server.url, *args, stdin=stdin)
    assert result.returncode == 2
    assert result.stdout == b""
    err = result.stderr.decode()
    assert len(err.splitlines()) == 1
    assert "empty" in err
    assert "Traceback" not in err
    assert server.requests == []


# ---- what the answer looks like on a pipe -------------------------------------------------


def test_stats_go_to_stderr_and_leave_stdout_alone(server: StandinServer) -> None:
    result = run_cli("--url", server.url, "--stats", "-q", "hi")
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"You said: hi\n"
    lines = [line for line in result.stderr.decode().splitlines() if "TTFT" in line]
    assert len(lines) == 1
    line = lines[0]
    assert "tokens/s" in line
    # "You said: hi" arrives in 3 deltas of 4 characters; usage reports them.
    assert re.search(r"\b\d+ prompt \+ 3 completion tokens\b", line), line


def test_token_limit_is_reported_on_stderr(server: StandinServer) -> None:
    # The stand-in sends one 4-character delta per token: max_tokens 1 leaves "You ".
    result = run_cli("--url", server.url, "--max-tokens", "1", "-q", "hi")
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"You \n"
    assert "token limit" in result.stderr.decode()


def test_reasoning_stays_off_a_piped_stdout(server: StandinServer) -> None:
    result = run_cli("--url", server.url, "-q", "please think")
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"Here is my considered answer.\n"
    assert b"step by step" not in result.stderr


def test_non_ascii_answer_is_byte_exact(server: StandinServer) -> None:
    server.push(Reply(content="héllo 世界 🎉", chunk_chars=1, split_bytes=True))
    result = run_cli("--url", server.url, "-q", "hi")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "héllo 世界 🎉\n".encode()


# ---- failures and exit codes ------------------------------------------------------------


def test_unreachable_server_exits_1_with_one_line() -> None:
    url = dead_url()
    result = run_cli("--url", url, "-q", "hi")
    assert result.returncode == 1
    assert result.stdout == b""
    err = result.stderr.decode()
    assert len(err.splitlines()) == 1, err
    assert url in err
    assert "Traceback" not in err


def test_unknown_model_exits_1_with_the_servers_message(server: StandinServer) -> None:
    result = run_cli("--url", server.url, "--model-name", "nosuch", "-q", "hi")
    assert result.returncode == 1
    assert result.stdout == b""
    err = result.stderr.decode()
    assert "The model `nosuch` does not exist." in err
    assert "Traceback" not in err


def test_cut_off_stream_keeps_the_partial_answer_and_exits_1(server: StandinServer) -> None:
    server.push(Reply(content="abcdefghijklmnop", chunk_chars=4, cut_after=2))
    result = run_cli("--url", server.url, "-q", "hi")
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
    result = run_cli(*args, "-q", "hi")
    assert result.returncode == 2
    assert result.stdout == b""
    err = result.stderr.decode()
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if "error:" in line]
    assert len(errors) == 1, err
    assert mentions in errors[0]


def test_openai_base_url_without_a_scheme_exits_2() -> None:
    result = run_cli("-q", "hi", env={"OPENAI_BASE_URL": "localhost:8000/v1"})
    assert result.returncode == 2
    err = result.stderr.decode()
    assert "OPENAI_BASE_URL must start with http://" in err
    assert "Traceback" not in err


def test_a_reader_that_goes_away_ends_the_command_quietly(server: StandinServer) -> None:
    server.push(Reply(content="line\n" * 20000, chunk_chars=50))
    command = [sys.executable, "-m", "vllm_chat", "--url", server.url, "-q", "hi"]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, cwd=ROOT
    ) as child:
        assert child.stdout is not None and child.stderr is not None
        assert child.stdout.read(5) == b"line\n"[:5]
        child.stdout.close()  # as `| head -1` does
        err = child.stderr.read().decode()
        assert child.wait(timeout=30) == 1
    assert "Traceback" not in err and "BrokenPipe" not in err, err


@pytest.mark.parametrize("where", ["flag", "environment"])
def test_a_key_with_a_line_end_inside_is_refused_without_showing_it(
    server: StandinServer, where: str
) -> None:
    key = "sk-TOPSECRET\r\nX-Injected: 1"
    flag = ["--api-key", key] if where == "flag" else []
    env = {"OPENAI_API_KEY": key} if where == "environment" else {}
    result = run_cli("--url", server.url, *flag, "-q", "hi", env=env)
    assert result.returncode == 2
    err = result.stderr.decode()
    assert "control characters" in err and "TOPSECRET" not in err, err
    assert server.requests == []


def test_a_key_read_with_its_line_end_is_sent_without_it(server_factory) -> None:
    server = server_factory(api_key="sk-good")
    result = run_cli("--url", server.url, "-q", "hi", env={"OPENAI_API_KEY": "sk-good\r\n"})
    assert result.returncode == 0, result.stderr
    assert server.headers[-1]["Authorization"] == "Bearer sk-good"


# ---- help and version -------------------------------------------------------------------

FLAGS = [
    "--url", "--model-name", "--api-key", "--system-prompt", "-q", "--quick", "--stats",
    "--temperature", "--top-p", "--max-tokens", "--history-file", "--no-history", "--timeout",
    "--connect-timeout", "--version", "--config", "--vi", "--no-vi", "--no-stats", "--extra-body",
    "--load", "--think", "--code-theme",
]  # fmt: skip


def test_help_lists_every_flag() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    out = result.stdout.decode()
    words = set(re.findall(r"(?<![\w-])--?[a-z][\w-]*", out))
    missing = [flag for flag in FLAGS if flag not in words]
    assert not missing, out


def test_version() -> None:
    result = run_cli("--version")
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
