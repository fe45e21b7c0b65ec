"""What a server says about itself (client/server.py), over HTTP to the stand-in, and
vLLM 0.32's own /metrics text as it was recorded from the real server."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.ports import closed_port
from tests.standin import Reply, StandinServer
from vllm_chat.client import server as insight
from vllm_chat.client.api import Client
from vllm_chat.client.errors import HTTPStatusError, ServerUnreachable

# GET /metrics of vLLM 0.32 (CPU build, the tiny model) after two chat requests of 132
# prompt tokens each, 5 tokens generated each; the second found 128 in the prefix cache.
VLLM_METRICS = Path(__file__).with_name("vllm-0.32.0-metrics.txt")

Factory = Callable[..., StandinServer]


def hello(text: str = "hello there") -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


# ---- /metrics --------------------------------------------------------------------------


def test_vllms_own_metrics_text_is_read() -> None:
    now = insight.parse_metrics(VLLM_METRICS.read_text(), taken=5.0)
    assert now == insight.Metrics(
        taken=5.0,
        running=0.0,
        waiting=0.0,
        kv_cache=0.0,
        prefix_queries=264.0,
        prefix_hits=128.0,
        prompt_tokens=264.0,
        generation_tokens=10.0,
    )
    assert now.hit_rate() == pytest.approx(128 / 264)


def test_the_stand_ins_metrics_count_what_it_served(server_factory: Factory) -> None:
    server = server_factory()
    client = Client(server.url)
    server.push(Reply(content="abcdefgh", cached_tokens=0), Reply(content="ab", cached_tokens=2))
    for _ in range(2):  # 11 characters: 2 prompt tokens; 2 and 1 deltas of 4 characters
        list(client.stream_chat({"model": "standin-model", "messages": hello()}))
    server.waiting, server.kv_cache_usage = 3, 0.25
    now = insight.metrics(client)
    assert (now.running, now.waiting, now.kv_cache) == (0.0, 3.0, 0.25)
    assert (now.prompt_tokens, now.generation_tokens) == (4.0, 3.0)
    assert (now.prefix_queries, now.prefix_hits, now.hit_rate()) == (4.0, 2.0, 0.5)


def test_both_generations_of_metric_names_give_the_same_figures(server_factory: Factory) -> None:
    figures = []
    for names in ("current", "older"):
        server = server_factory(metric_names=names)
        server.push(Reply(content="abcd", cached_tokens=1))
        client = Client(server.url)
        list(client.stream_chat({"model": "standin-model", "messages": hello()}))
        server.kv_cache_usage = 0.5
        text = client.call_root("GET", "/metrics")
        assert ("vllm:gpu_cache_usage_perc" in text) == (names == "older")
        assert ("vllm:gpu_prefix_cache_hits_total" in text) == (names == "older")
        figures.append(insight.parse_metrics(text, taken=1.0))
    assert figures[0] == figures[1]
    assert figures[0].kv_cache == 0.5 and figures[0].prefix_hits == 1.0


def test_engines_are_added_up_and_shares_averaged() -> None:
    text = (
        "# TYPE vllm:num_requests_running gauge\n"
        'vllm:num_requests_running{engine="0",model_name="m"} 2.0\n'
        'vllm:num_requests_running{engine="1",model_name="m"} 3.0\n'
        "# TYPE vllm:kv_cache_usage_perc gauge\n"
        'vllm:kv_cache_usage_perc{engine="0",model_name="m"} 0.2\n'
        'vllm:kv_cache_usage_perc{engine="1",model_name="m"} 0.4\n'
        "# TYPE vllm:gpu_prefix_cache_hit_rate gauge\n"
        'vllm:gpu_prefix_cache_hit_rate{model_name="m"} 0.75\n'
    )
    now = insight.parse_metrics(text, taken=0.0)
    assert now.running == 5.0
    assert now.kv_cache == pytest.approx(0.3)
    assert now.hit_rate() == 0.75  # vLLM's V0 engine gave the rate itself
    # What the server did not send is unknown, not zero.
    assert now.waiting is None and now.prompt_tokens is None and now.prefix_queries is None


@pytest.mark.parametrize(
    ("body", "said"),
    [
        ("<html><body>Proxy page</body></html>", "its /metrics is not Prometheus text"),
        ("hello world", "its /metrics is not Prometheus text"),
        ("", "its /metrics has no vLLM figures"),
        ("# TYPE python_info gauge\npython_info 1.0\n", "its /metrics has no vLLM figures"),
    ],
)
def test_metrics_that_are_not_vllms_say_so(server_factory: Factory, body: str, said: str) -> None:
    server = server_factory()
    server.metrics_body = body
    with pytest.raises(insight.MetricsError) as info:
        insight.metrics(Client(server.url))
    assert str(info.value) == said


def test_no_metrics_endpoint_is_named(server_factory: Factory) -> None:
    server = server_factory(without={"/metrics"})
    with pytest.raises(HTTPStatusError) as info:
        insight.metrics(Client(server.url))
    assert insight.no_endpoint(info.value)
    assert "has no /metrics endpoint (404 Not Found)" in str(info.value)


def test_rates_since_the_last_look() -> None:
    before = insight.Metrics(10.0, prompt_tokens=100, generation_tokens=50,
                             prefix_queries=100, prefix_hits=0)  # fmt: skip
    after = insight.Metrics(14.0, prompt_tokens=500, generation_tokens=250,
                            prefix_queries=500, prefix_hits=300)  # fmt: skip
    assert insight.rates(before, after) == insight.Rates(4.0, 100.0, 50.0, 0.75)
    restarted = insight.Metrics(15.0, prompt_tokens=20, generation_tokens=5)
    assert insight.rates(after, restarted) == insight.Rates(1.0, None, None, None)
    assert insight.rates(after, after) is None  # no time passed


# ---- models, version, health ---------------------------------------------------------------


def test_model_cards_name_a_lora_adapters_base(server_factory: Factory) -> None:
    server = server_factory(models=["base"], loras={"sql-lora": "base"}, max_model_len=2048)
    assert insight.model_cards(Client(server.url)) == [
        insight.ModelCard("base", "base", None, 2048),
        insight.ModelCard("sql-lora", "/adapters/sql-lora", "base", None),
    ]


def test_version_and_health(server_factory: Factory) -> None:
    client = Client(server_factory().url)
    assert insight.version(client) == "0.32.0"
    insight.health(client)  # no error: healthy
    lacking = Client(server_factory(without={"/version", "/health"}).url)
    for ask in (insight.version, insight.health):
        with pytest.raises(HTTPStatusError) as info:
            ask(lacking)
        assert insight.no_endpoint(info.value)


def test_a_server_that_is_down_is_unreachable() -> None:
    client = Client(f"http://127.0.0.1:{closed_port()}/v1")
    with pytest.raises(ServerUnreachable):
        insight.version(client)


# ---- /tokenize ---------------------------------------------------------------------------


def test_tokenize_text_asks_for_the_texts_own_tokens(server_factory: Factory) -> None:
    server = server_factory()
    tokens = insight.tokenize_text(Client(server.url), "standin-model", "Hello world, you")
    assert tokens == insight.Tokens(3, 4096, ["Hello", "Ġworld,", "Ġyou"])
    assert server.tokenize_requests == [
        {"model": "standin-model", "prompt": "Hello world, you",
         "add_special_tokens": False, "return_token_strs": True}
    ]  # fmt: skip


def test_tokenize_messages_goes_through_the_chat_template(server_factory: Factory) -> None:
    server = server_factory()
    client = Client(server.url)
    tools = [{"type": "function", "function": {"name": "f", "parameters": {}}}]
    kwargs = {"enable_thinking": False}
    tokens = insight.tokenize_messages(
        client, "standin-model", hello("hi"), chat_template_kwargs=kwargs, tools=tools
    )
    assert tokens.strs is not None and tokens.count == len(tokens.strs)
    assert "".join(tokens.strs).startswith("<|im_start|>userĊhi<|im_end|>Ċ<|im_start|>assistant")
    assert server.tokenize_requests == [
        {"model": "standin-model", "messages": hello("hi"), "add_generation_prompt": True,
         "return_token_strs": True, "chat_template_kwargs": kwargs, "tools": tools}
    ]  # fmt: skip
    counted = insight.tokenize_messages(client, "standin-model", hello("hi"), token_strs=False)
    assert (counted.count, counted.strs) == (tokens.count - 4, None)  # no closed <think>
    assert server.count_requests[0]["return_token_strs"] is False


def test_no_tokenize_is_a_missing_endpoint(server_factory: Factory) -> None:
    server = server_factory(serves_tokenize=False)
    with pytest.raises(HTTPStatusError) as info:
        insight.tokenize_text(Client(server.url), "standin-model", "hi")
    assert insight.no_endpoint(info.value)
    assert "has no /tokenize endpoint (404 Not Found)" in str(info.value)


def test_the_stand_ins_metrics_are_named_and_typed_as_vllms(server_factory: Factory) -> None:
    """Each family the stand-in writes is in vLLM 0.32's own text, of the same type."""
    text = Client(server_factory().url).call_root("GET", "/metrics")
    written = {line for line in text.splitlines() if line.startswith("# TYPE vllm:")}
    assert len(written) == 11  # 3 gauges, 4 counters and their `_created`
    assert written <= set(VLLM_METRICS.read_text().splitlines())
