"""/server, /tokens and the toolbar's count, typed into a real Repl against the stand-in."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from tests.ports import closed_port
from tests.repl.test_power import error_lines, run_repl
from tests.repl.test_repl import CTRL_D, new_chat
from tests.standin import Reply, StandinServer
from tests.test_cli import run_python
from vllm_chat.repl.prompt import Repl

Factory = Callable[..., StandinServer]


def wait_until(done: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


# ---- /server -----------------------------------------------------------------------------


def test_server_shows_version_health_models_and_live_figures(
    server_factory: Factory, capsys: pytest.CaptureFixture[str]
) -> None:
    server = server_factory(loras={"sql-lora": "standin-model"}, max_model_len=2048)
    server.push(Reply(content="one two", cached_tokens=0), Reply(content="x", cached_tokens=2))
    server.waiting, server.kv_cache_usage = 2, 0.125
    run_repl(new_chat(server.url), "/server\rhello there\rhello again\r/server\r" + CTRL_D)
    out = capsys.readouterr().out
    root = server.url.removesuffix("/v1")
    first, second = out.split("one two", 1)[0], out.rsplit("\nx\n", 1)[1]
    assert first.splitlines() == [
        f"server        {root} · vLLM 0.32.0 · healthy",
        "models          standin-model · max_model_len 2,048",
        "                standin-model-large · max_model_len 2,048",
        "                sql-lora · LoRA adapter of standin-model · max_model_len 2,048"
        " · root /adapters/sql-lora",
        "requests      0 running · 2 waiting",
        "KV cache      12.5% in use",
        "throughput    first look: /server again shows tokens/s since this one",
    ]  # no prefix-cache line: nothing was looked up in it yet
    lines = second.splitlines()
    assert lines[1] == "models        * standin-model · max_model_len 2,048"  # the one in use
    # Prompts of 2 and 7 tokens (the second with the first exchange), 2 of them found in
    # the cache the second time; answers of 2 and 1 deltas.
    assert lines[-2] == (
        "prefix cache  22.2% hit since the server started (2 of 9 prompt tokens)"
        " · 22.2% since the last look"
    )
    assert lines[-1].startswith("throughput    ")
    assert lines[-1].endswith(" s") and " prompt + " in lines[-1]
    words = lines[-1].replace(",", "").split()
    prompt_rate, generation_rate = float(words[1]), float(words[4])
    assert prompt_rate > 0 and prompt_rate == pytest.approx(generation_rate * 3, abs=0.25)  # 9, 3
    assert error_lines(capsys.readouterr().err) == []


def test_older_metric_names_show_the_same(server_factory: Factory, capsys) -> None:
    shown = []
    for names in ("current", "older"):
        server = server_factory(metric_names=names)
        server.push(Reply(content="abc", cached_tokens=1))
        server.kv_cache_usage = 0.5
        run_repl(new_chat(server.url), "hi there!\r/server\r" + CTRL_D)
        shown.append(capsys.readouterr().out.splitlines()[-4:])
    assert shown[0] == shown[1]
    assert shown[0][1:] == [
        "KV cache      50.0% in use",
        "prefix cache  50.0% hit since the server started (1 of 2 prompt tokens)",
        "throughput    first look: /server again shows tokens/s since this one",
    ]


def test_missing_figures_are_left_out_not_shown_as_zero(server_factory: Factory, capsys) -> None:
    server = server_factory()
    server.metrics_body = (
        "# TYPE vllm:num_requests_running gauge\n"
        'vllm:num_requests_running{engine="0",model_name="standin-model"} 3.0\n'
    )
    run_repl(new_chat(server.url), "/server\r" + CTRL_D)
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1] == "requests      3 running"
    assert not any(line.startswith(("KV cache", "prefix", "throughput")) for line in lines)


@pytest.mark.parametrize(
    ("setup", "said"),
    [
        (dict(without={"/metrics"}), "has no /metrics endpoint (404 Not Found)"),
        (dict(), "its /metrics is not Prometheus text"),
    ],
)
def test_a_metrics_failure_is_one_line_and_the_rest_is_shown(
    server_factory: Factory, capsys, setup: dict[str, object], said: str
) -> None:
    server = server_factory(**setup)
    if not setup:
        server.metrics_body = "<html><body>Login</body></html>"
    run_repl(new_chat(server.url), "/server\r" + CTRL_D)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].endswith("· vLLM 0.32.0 · healthy")
    assert lines[1].startswith("models ") and "standin-model" in lines[1]
    assert lines[-1].startswith("metrics       ") and said in lines[-1]
    assert len(lines) == 4


def test_a_server_that_is_not_vllm_says_what_it_lacks(server_factory: Factory, capsys) -> None:
    server = server_factory(without={"/version", "/health", "/metrics"})
    run_repl(new_chat(server.url), "/server\r" + CTRL_D)
    out, err = capsys.readouterr()
    assert out.splitlines()[0].endswith(" · no /version (not vLLM?) · no /health")
    assert error_lines(err) == []


def test_server_down_is_one_line(capsys) -> None:
    url = f"http://127.0.0.1:{closed_port()}/v1"
    run_repl(new_chat(url, model="m"), "/server\r" + CTRL_D)
    out, err = capsys.readouterr()
    assert out == ""
    assert error_lines(err) == [error_lines(err)[0]]
    assert "cannot reach the server" in err and "Traceback" not in err


def test_an_unhealthy_server_is_shown_so(server: StandinServer, capsys) -> None:
    server.health_status = 503  # vLLM's /health once its engine died
    run_repl(new_chat(server.url), "/server\r" + CTRL_D)
    assert capsys.readouterr().out.splitlines()[0].endswith("· vLLM 0.32.0 · unhealthy (503)")


# ---- /tokens -----------------------------------------------------------------------------


def test_tokens_of_a_text(server: StandinServer, capsys) -> None:
    run_repl(new_chat(server.url), "/tokens Hello world, you\r" + CTRL_D)
    assert capsys.readouterr().out.splitlines() == ["Hello│Ġworld,│Ġyou", "3 tokens"]
    assert server.tokenize_requests[-1] == {
        "model": "standin-model", "prompt": "Hello world, you",
        "add_special_tokens": False, "return_token_strs": True,
    }  # fmt: skip
    assert server.requests == []  # nothing was sent to the model


def test_tokens_of_the_conversation_through_the_chat_template(
    server_factory: Factory, capsys
) -> None:
    server = server_factory(max_model_len=64)
    chat = new_chat(server.url, system_prompt="Be brief")
    keys = '/set chat_template_kwargs {"enable_thinking": false}\rhi\r/tokens\r' + CTRL_D
    run_repl(chat, keys)
    lines = capsys.readouterr().out.splitlines()
    template = (
        "<|im_start|>│system│Ċ│Be│Ġbrief│<|im_end|>│Ċ│<|im_start|>│user│Ċ│hi│<|im_end|>│Ċ│"
        "<|im_start|>│assistant│Ċ│You│Ġsaid:│Ġhi│<|im_end|>│Ċ│"
        "<|im_start|>│assistant│Ċ│<think>│ĊĊ│</think>│ĊĊ"
    )
    assert lines[-2] == template
    count = template.count("│") + 1
    assert lines[-1] == (
        f"the next request's prompt: {count} tokens through the chat template, "
        f"of max_model_len 64: {64 - count} left for the answer"
    )
    asked = server.tokenize_requests[-1]
    assert asked["messages"] == chat.conversation.request_messages()
    assert asked["chat_template_kwargs"] == {"enable_thinking": False}
    assert asked["add_generation_prompt"] is True


def test_tokens_over_the_context_says_by_how_much(server_factory: Factory, capsys) -> None:
    server = server_factory(max_model_len=8)
    run_repl(new_chat(server.url), "one two three four five\r/tokens\r" + CTRL_D)
    last = capsys.readouterr().out.splitlines()[-1]
    assert last == (
        "the next request's prompt: 25 tokens through the chat template, "
        "of max_model_len 8: 17 too many"
    )


def test_tokens_with_nothing_said_yet(server: StandinServer, capsys) -> None:
    run_repl(new_chat(server.url), "/tokens\r" + CTRL_D)
    assert capsys.readouterr().out == (
        "nothing in the conversation yet: /tokens TEXT shows how TEXT is split\n"
    )
    assert server.tokenize_requests == []


def test_tokens_on_a_server_without_tokenize_is_one_line(server_factory: Factory, capsys) -> None:
    server = server_factory(serves_tokenize=False)  # llama.cpp's, or OpenAI's
    run_repl(new_chat(server.url), "/tokens hello\rstill here\r" + CTRL_D)
    out, err = capsys.readouterr()
    root = server.url.removesuffix("/v1")
    assert error_lines(err) == [
        f"error: the server at {root} has no /tokenize endpoint (404 Not Found); "
        "not vLLM, or behind a proxy that passes on only /v1?"
    ]
    assert "You said: still here" in out  # the session goes on


# ---- the toolbar -------------------------------------------------------------------------


def test_the_toolbar_counts_the_conversation_after_it_changes(server: StandinServer) -> None:
    repl = run_repl(new_chat(server.url), "hello there\rsecond\r/undo\r" + CTRL_D)
    # After /undo the last answer's usage is gone; the count comes from /tokenize.
    assert repl.chat.context_tokens is None
    wait_until(lambda: "19 / 4,096 tokens" in repl.toolbar(), "the count in the toolbar")
    # Counts of the states in between (two exchanges, before /undo) may come in later.
    wait_until(lambda: not repl.context_count._busy, "the counting thread to rest")
    messages = repl.chat.conversation.request_messages()
    asked = [body for body in server.count_requests if body["messages"] == messages]
    assert asked and asked[-1] == {
        "model": "standin-model", "messages": messages,
        "add_generation_prompt": True, "return_token_strs": False,
    }  # fmt: skip
    counted = len(server.count_requests)
    repl.context_count.changed()  # nothing changed since: not asked again
    assert len(server.count_requests) == counted


def test_the_toolbar_never_waits_for_the_count(server_factory: Factory) -> None:
    server = server_factory()
    repl = run_repl(new_chat(server.url), "hello there\r" + CTRL_D)
    wait_until(lambda: repl.context_count.count() is not None, "the first count")
    server.stop()  # the next count fails: the last answer's usage stands
    repl.chat.conversation.add_user("more")
    repl.context_count.changed()
    assert repl.context_count.count() is None
    assert repl.toolbar().startswith(" standin-model · 8 / 4,096 tokens")


def test_a_server_without_tokenize_is_asked_to_count_once(server_factory: Factory) -> None:
    server = server_factory(serves_tokenize=False)
    repl = run_repl(new_chat(server.url), "one\r/undo\rtwo\rthree\r" + CTRL_D)
    wait_until(lambda: len(server.count_requests) >= 1, "the count")
    repl.context_count.changed()
    time.sleep(0.2)  # give a wrong second request the time to arrive
    assert len(server.count_requests) == 1
    assert " tokens" in repl.toolbar()  # the usage of the last answer


def test_stats_and_toolbar_show_cached_prompt_tokens(server: StandinServer, capsys) -> None:
    server.push(
        Reply(content="First answer", cached_tokens=0), Reply(content="ok", cached_tokens=4)
    )
    repl: Repl = run_repl(new_chat(server.url, stats=True), "hello there\rand more\r" + CTRL_D)
    stats = [line for line in capsys.readouterr().err.splitlines() if "prompt" in line]
    assert stats[0].endswith("2 prompt + 3 completion tokens, 0 cached")
    assert stats[1].endswith("7 prompt + 1 completion tokens, 4 cached")
    assert " · 4 cached" in repl.toolbar()


def test_no_cached_figure_when_the_server_sends_none(server: StandinServer, capsys) -> None:
    repl = run_repl(new_chat(server.url, stats=True), "hello there\r" + CTRL_D)
    assert capsys.readouterr().err.rstrip().endswith("2 prompt + 6 completion tokens")
    assert "cached" not in repl.toolbar()


def test_prometheus_client_is_imported_only_when_metrics_are_read(server: StandinServer) -> None:
    code = (
        "import sys\n"
        "from prompt_toolkit.input import create_pipe_input\n"
        "from prompt_toolkit.output import DummyOutput\n"
        "from vllm_chat.cli import main\n"
        "from vllm_chat.repl.prompt import Repl\n"
        "from tests.repl.test_repl import new_chat\n"
        f"main(['--url', {server.url!r}, '-q', 'hi'])\n"
        "seen = ['prometheus_client' in sys.modules]\n"
        "for line in ('/tokens hi', '/server'):\n"
        "    with create_pipe_input() as keys:\n"
        "        keys.send_text(line + '\\r\\x04')\n"
        f"        Repl(new_chat({server.url!r}), history_file=None, input=keys,\n"
        "             output=DummyOutput()).run()\n"
        "    seen.append('prometheus_client' in sys.modules)\n"
        "print('LOADED', seen, file=sys.stderr)\n"
    )
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines()[-1] == "LOADED [False, False, True]"
