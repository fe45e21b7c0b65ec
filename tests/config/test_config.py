"""The config file and the flags that came with it: what reaches the server, and the warnings."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.inprocess import run_main
from tests.standin import Reply, StandinServer
from tests.test_cli import dead_url, run_python
from vllm_chat import app, cli
from vllm_chat.config import file as config
from vllm_chat.config import resolve
from vllm_chat.config.settings import Settings
from vllm_chat.render.text import status_line

STREAM = {"stream": True, "stream_options": {"include_usage": True}}


def config_path() -> Path:
    """The default file (the autouse fixture points XDG_CONFIG_HOME at a temp dir)."""
    return Path(os.environ["XDG_CONFIG_HOME"]) / "vllm-chat" / "config.toml"


def write_config(text: str, path: Path | None = None, mode: int = 0o600) -> Path:
    """Write a config file (the default one unless `path`) with permissions `mode`."""
    path = path or config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


def settings_for(*argv: str) -> Settings:
    """Settings as `vllm-chat ARGV` would build them, config file included."""
    args = cli.build_parser().parse_args(list(argv))
    return resolve.resolve(args, warn=lambda text: status_line(text, kind="warn"))


def ok(result: subprocess.CompletedProcess[bytes]) -> str:
    """Stderr of a run that answered "hi" normally."""
    err = result.stderr.decode()
    assert result.returncode == 0, err
    assert result.stdout == b"You said: hi\n"
    assert "Traceback" not in err
    return err


# ---- every key reaches the request or the settings ------------------------------------


def test_request_keys_from_the_file_reach_the_request_body(server: StandinServer) -> None:
    write_config(
        f"""
url = "{server.url}"
model_name = "standin-model-large"
system_prompt = "Be terse."
temperature = 0.25
top_p = 0.9
max_tokens = 50

[sampling]
top_k = 20
min_p = 0.05
repetition_penalty = 1.1
seed = 1
stop = ["###"]
chat_template_kwargs = {{enable_thinking = false}}
"""
    )
    result = run_main("-q", "hi")
    assert ok(result) == ""
    assert server.models_calls == 0  # the named model is used as it is
    assert server.requests == [
        {
            "model": "standin-model-large",
            "messages": [
                {"role": "system", "content": "Be terse."},
                {"role": "user", "content": "hi"},
            ],
            "top_k": 20,
            "min_p": 0.05,
            "repetition_penalty": 1.1,
            "seed": 1,
            "stop": ["###"],
            "chat_template_kwargs": {"enable_thinking": False},
            "temperature": 0.25,
            "top_p": 0.9,
            "max_tokens": 50,
            **STREAM,
        }
    ]


def test_api_key_from_the_file_is_sent_and_never_shown(server: StandinServer) -> None:
    write_config(f'url = "{server.url}"\napi_key = "cfg-key-Qx81"\n')
    result = run_main("-q", "hi")
    assert ok(result) == ""  # a 0600 file draws no warning
    assert [headers.get("Authorization") for headers in server.headers] == [
        "Bearer cfg-key-Qx81"
    ] * 2


def test_a_key_in_a_file_others_can_read_draws_a_chmod_warning(server: StandinServer) -> None:
    path = write_config(f'url = "{server.url}"\napi_key = "cfg-key-Qx81"\n', mode=0o644)
    result = run_main("-q", "hi")
    err = ok(result)
    warnings = err.splitlines()
    assert len(warnings) == 1, err
    assert "chmod 600" in warnings[0] and str(path) in warnings[0]
    assert b"cfg-key-Qx81" not in result.stdout + result.stderr
    assert server.headers[-1]["Authorization"] == "Bearer cfg-key-Qx81"


def test_a_rejected_key_from_the_file_is_not_shown(server_factory) -> None:
    protected = server_factory(api_key="s3cret")
    write_config(f'url = "{protected.url}"\napi_key = "wrong-key-Zq7x"\n')
    result = run_main("-q", "hi")
    assert result.returncode == 1
    err = result.stderr.decode()
    assert "rejected the key from api_key in the config file" in err
    assert "wrong-key-Zq7x" not in err
    assert len(err.splitlines()) == 1, err


def test_a_key_from_the_file_sent_in_clear_is_named_by_its_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "my.toml"
    settings = Settings(
        url="http://gpu-box.example:8000/v1",
        api_key="cfg-key-Qx81",
        api_key_source="config",
        config_file=path,
    )
    app.make_chat(settings).client.close()  # no request: the warning comes first
    err = capsys.readouterr().err
    assert f"api_key in {path}" in err and "unencrypted" in err
    assert "cfg-key-Qx81" not in err


def test_stats_from_the_file_prints_stats(server: StandinServer) -> None:
    write_config(f'url = "{server.url}"\nstats = true\n')
    assert "TTFT" in ok(run_main("-q", "hi"))
    assert "TTFT" not in ok(run_main("--no-stats", "-q", "hi"))


def test_timeout_from_the_file_gives_up_on_a_silent_server(server: StandinServer) -> None:
    write_config(f'url = "{server.url}"\ntimeout = 0.3\n')
    server.push(Reply(content="late", hang=1.5))
    result = run_main("-q", "hi")
    assert result.returncode == 1
    assert "no data from the server for 0.3 s" in result.stderr.decode()


def test_settings_keys_from_the_file_reach_the_settings(tmp_path: Path) -> None:
    write_config(
        f"""
connect_timeout = 3
timeout = 42
history_file = "{tmp_path / "hist"}"
vi = true
code_theme = "dracula"
think = "collapse"
"""
    )
    settings = settings_for()
    assert settings.connect_timeout == 3.0
    assert settings.timeout == 42.0
    assert settings.history_file == tmp_path / "hist"
    assert settings.vi is True
    assert settings.code_theme == "dracula"
    assert settings.think == "collapse"
    assert settings.config_file == config_path()


def test_history_file_in_the_file_expands_the_home_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", "/home/someone")
    write_config('history_file = "~/chat-history"\n')
    assert settings_for().history_file == Path("/home/someone/chat-history")


def test_no_history_from_the_file_and_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    write_config("no_history = true\n")
    assert settings_for().history_file is None
    monkeypatch.setenv("VLLM_CHAT_NO_HISTORY", "0")  # the environment beats the file
    assert settings_for().history_file is not None
    write_config("no_history = false\n")
    monkeypatch.setenv("VLLM_CHAT_NO_HISTORY", "1")
    assert settings_for().history_file is None


def test_flags_beat_the_file_for_settings() -> None:
    write_config('vi = true\nthink = "hide"\ncode_theme = "dracula"\nconnect_timeout = 3\n')
    settings = settings_for(
        "--no-vi", "--think", "show", "--code-theme", "monokai", "--connect-timeout", "7"
    )
    assert (settings.vi, settings.think, settings.code_theme) == (False, "show", "monokai")
    assert settings.connect_timeout == 7.0


def test_defaults_without_a_file() -> None:
    settings = settings_for()
    assert (settings.vi, settings.think, settings.code_theme) == (False, "show", "monokai")
    assert settings.load is None and settings.config_file is None
    assert settings.api_key_source == "none"


def test_new_flags_reach_the_settings(tmp_path: Path) -> None:
    settings = settings_for(
        "--vi", "--think", "hide", "--code-theme", "ansi_dark", "--load", str(tmp_path / "c.json")
    )
    assert settings.vi is True
    assert settings.think == "hide"
    assert settings.code_theme == "ansi_dark"
    assert settings.load == str(tmp_path / "c.json")


# ---- precedence: defaults < file < environment < flags -----------------------------------


@pytest.mark.parametrize("winner", ["file", "env", "flag"])
def test_url_precedence(server: StandinServer, winner: str) -> None:
    urls = {source: dead_url() for source in ("file", "env", "flag")}
    urls[winner] = server.url
    write_config(f'url = "{urls["file"]}"\n')
    env = {"OPENAI_BASE_URL": urls["env"]} if winner != "file" else {}
    flags = ["--url", urls["flag"]] if winner == "flag" else []
    ok(run_main(*flags, "-q", "hi", env=env))
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    ("env_key", "flag_key", "expected"),
    [
        (None, None, "Bearer file-key"),
        ("env-key", None, "Bearer env-key"),
        ("env-key", "flag-key", "Bearer flag-key"),
    ],
    ids=["file", "env-beats-file", "flag-beats-both"],
)
def test_api_key_precedence(
    server: StandinServer, env_key: str | None, flag_key: str | None, expected: str
) -> None:
    write_config(f'url = "{server.url}"\napi_key = "file-key"\n')
    flags = ["--api-key", flag_key] if flag_key else []
    ok(run_main(*flags, "-q", "hi", env={"OPENAI_API_KEY": env_key} if env_key else None))
    assert [headers.get("Authorization") for headers in server.headers] == [expected] * 2


def test_api_key_source_names_where_the_key_came_from(monkeypatch: pytest.MonkeyPatch) -> None:
    write_config('api_key = "file-key"\n')
    assert settings_for().api_key_source == "config"
    monkeypatch.setenv("OPENAI_API_KEY", "env-key")
    assert settings_for().api_key_source == "environment"
    assert settings_for("--api-key", "k").api_key_source == "flag"


def test_model_name_flag_beats_the_file(server: StandinServer) -> None:
    write_config(f'url = "{server.url}"\nmodel_name = "nosuch"\n')
    ok(run_main("--model-name", "standin-model-large", "-q", "hi"))
    assert [request["model"] for request in server.requests] == ["standin-model-large"]


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ([], 0.4),
        (["--extra-body", '{"temperature": 0.6}'], 0.6),
        (["--extra-body", '{"temperature": 0.6}', "--temperature", "0.8"], 0.8),
    ],
    ids=["file-top-level-beats-sampling-table", "extra-body-beats-file", "flag-beats-all"],
)
def test_temperature_precedence(server: StandinServer, flags: list[str], expected: float) -> None:
    write_config(f'url = "{server.url}"\ntemperature = 0.4\n[sampling]\ntemperature = 0.2\n')
    ok(run_main(*flags, "-q", "hi"))
    assert server.requests[0]["temperature"] == expected


# ---- --config ---------------------------------------------------------------------------------


def test_config_flag_reads_another_file(server: StandinServer, tmp_path: Path) -> None:
    write_config(f'url = "{dead_url()}"\nsystem_prompt = "from the default file"\n')
    other = write_config(f'url = "{server.url}"\n', path=tmp_path / "other.toml")
    ok(run_main("--config", str(other), "-q", "hi"))
    assert server.requests[0]["messages"] == [{"role": "user", "content": "hi"}]


@pytest.mark.parametrize("problem", ["missing", "directory", "bad-toml", "unreadable"])
def test_config_flag_with_an_unusable_file_exits_2_with_one_line(
    server: StandinServer, tmp_path: Path, problem: str
) -> None:
    path = tmp_path / "named.toml"
    if problem == "directory":
        path.mkdir()
    elif problem == "bad-toml":
        write_config('url = "x"\ntemperature = \n', path=path)
    elif problem == "unreadable":  # "Not a directory": unreadable even for root
        (tmp_path / "a-file").write_text("")
        path = tmp_path / "a-file" / "named.toml"
    result = run_main("--url", server.url, "--config", str(path), "-q", "hi")
    assert result.returncode == 2
    assert result.stdout == b""
    err = result.stderr.decode()
    assert len(err.splitlines()) == 1, err
    assert "error:" in err and str(path) in err
    if problem == "bad-toml":
        assert "line 2" in err
    assert server.requests == []


def test_a_missing_default_file_is_fine(server: StandinServer) -> None:
    assert not config_path().exists()
    assert ok(run_main("--url", server.url, "-q", "hi")) == ""


# ---- a bad file costs a warning, never the session ----------------------------------------


def test_a_file_that_is_not_toml_is_skipped_with_a_warning(server: StandinServer) -> None:
    path = write_config(f'url = "{server.url}"\nsystem_prompt = "Be terse."\nstats = tru\n')
    result = run_main("--url", server.url, "-q", "hi")
    err = ok(result)
    assert len(err.splitlines()) == 1, err
    assert str(path) in err and "line 3" in err
    # Nothing from a broken file is used, not even its good lines.
    assert server.requests[0]["messages"] == [{"role": "user", "content": "hi"}]


@pytest.mark.parametrize("problem", ["directory", "not-utf8", "unreadable"])
def test_an_unusable_default_file_is_skipped_with_a_warning(
    server: StandinServer, problem: str
) -> None:
    path = config_path()
    if problem == "directory":
        path.mkdir(parents=True)
    elif problem == "not-utf8":
        path.parent.mkdir(parents=True)
        path.write_bytes(b'system_prompt = "caf\xe9"\n')
    else:  # "Not a directory": unreadable even for root
        path.parent.parent.mkdir(parents=True, exist_ok=True)
        path.parent.write_text("")
    result = run_main("--url", server.url, "-q", "hi")
    err = ok(result)
    assert len(err.splitlines()) == 1, err
    assert str(path) in err
    assert server.requests[0]["messages"] == [{"role": "user", "content": "hi"}]


@pytest.mark.parametrize(
    ("line", "key", "expected"),
    [
        ("model_name = 3", "model_name", "a non-empty string"),
        ("system_prompt = 1", "system_prompt", "a string"),
        ('stats = "yes"', "stats", "true or false"),
        ("timeout = -1", "timeout", "above 0"),
        ('connect_timeout = "5"', "connect_timeout", "above 0"),
        ("history_file = 1", "history_file", "a path"),
        ("no_history = 1", "no_history", "true or false"),
        ('vi = "on"', "vi", "true or false"),
        ("code_theme = 1", "code_theme", "Pygments style"),
        ('think = "maybe"', "think", '"collapse"'),
        ('url = "localhost:8000"', "url", "http://"),
        ("sampling = 1", "sampling", "a table"),
    ],
)
def test_a_key_of_the_wrong_type_is_ignored_with_a_warning(
    server: StandinServer, line: str, key: str, expected: str
) -> None:
    path = write_config(f"{line}\n")
    result = run_main("--url", server.url, "-q", "hi")
    err = ok(result)
    assert len(err.splitlines()) == 1, err
    assert str(path) in err and key in err and expected in err
    body = server.requests[0]
    assert body["messages"] == [{"role": "user", "content": "hi"}]
    assert set(body) == {"model", "messages", "stream", "stream_options"}


def test_an_api_key_of_the_wrong_type_is_not_shown(server: StandinServer) -> None:
    write_config("api_key = 123456789\n")
    err = ok(run_main("--url", server.url, "-q", "hi"))
    assert "api_key" in err and "a non-empty string" in err
    assert "123456789" not in err
    assert server.headers[-1]["Authorization"] == "Bearer EMPTY"


@pytest.mark.parametrize(
    ("line", "hint"),
    [
        ("tempreature = 0.5", "did you mean 'temperature'?"),
        ('model-name = "m"', "did you mean 'model_name'?"),
        ('model = "m"', "did you mean 'model_name'?"),
        ("xyzzy = 1", "unknown key 'xyzzy'"),
    ],
)
def test_an_unknown_key_is_ignored_with_a_suggestion(
    server: StandinServer, line: str, hint: str
) -> None:
    path = write_config(f'{line}\nsystem_prompt = "Be terse."\n')
    err = ok(run_main("--url", server.url, "-q", "hi"))
    assert len(err.splitlines()) == 1, err
    assert str(path) in err and hint in err
    # The good keys still count.
    assert server.requests[0]["messages"][0] == {"role": "system", "content": "Be terse."}


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ('temperature = "hot"', 'temperature must be a number from 0 to 2, got "hot"'),
        ("temperature = nan", "temperature must be a number from 0 to 2, got NaN"),
        ("temperature = -1", "temperature must be a number from 0 to 2, got -1"),
        ("top_p = true", "top_p must be a number above 0 and at most 1, got true"),
        ("top_p = 2", "top_p must be a number above 0 and at most 1, got 2"),
        ("max_tokens = 0", "max_tokens must be a whole number of at least 1, got 0"),
        ("max_tokens = 2.5", "max_tokens must be a whole number of at least 1, got 2.5"),
        ("[sampling]\nmin_p = inf", "sampling.min_p must be a number from 0 to 1, got Infinity"),
        ("[sampling]\ntop_k = -2", "sampling.top_k must be a whole number, at least 1"),
        ("[sampling]\nseed = 1979-05-27", "sampling.seed must be a whole number (64-bit)"),
        ("[sampling]\nstop = [1]", "sampling.stop must be a non-empty string or a list of them"),
        ("[sampling]\nmy_extra = nan", "sampling.my_extra must be a JSON value (NaN is not"),
        ('[sampling]\napi_key = "sk-123456"', "put api_key at the top of the file"),
        ('[sampling]\nAuthorization = "Bearer sk-123456"', "Authorization is not a request"),
        ('[sampling]\nbase_url = "http://x/v1"', "put url at the top of the file"),
    ],
)
def test_a_sampling_value_vllm_would_refuse_exits_2_naming_file_and_key(
    server: StandinServer, line: str, says: str
) -> None:
    path = write_config(f"{line}\n")
    result = run_main("--url", server.url, "-q", "hi")
    assert result.returncode == 2
    assert result.stdout == b""
    err = result.stderr.decode()
    assert err.splitlines() == [err.strip()], err  # one line
    assert err.startswith(f"vllm-chat: error: {path}: ") and says in err, err
    assert "sk-123456" not in err
    assert server.requests == [] and server.models_calls == 0


@pytest.mark.parametrize(
    ("entry", "mentions"),
    [
        ("stream = false", "sampling.stream"),
        ('model = "other"', "sampling.model"),
    ],
)
def test_a_sampling_entry_that_cannot_be_sent_is_ignored(
    server: StandinServer, entry: str, mentions: str
) -> None:
    write_config(f"[sampling]\n{entry}\ntop_k = 20\n")
    err = ok(run_main("--url", server.url, "-q", "hi"))
    assert len(err.splitlines()) == 1, err
    assert mentions in err
    assert server.requests[0] == {
        "model": "standin-model",
        "messages": [{"role": "user", "content": "hi"}],
        "top_k": 20,
        **STREAM,
    }


def test_an_unknown_code_theme_in_the_file_falls_back_to_the_default() -> None:
    write_config('code_theme = "monokay"\n')
    assert settings_for().code_theme == "monokai"


def test_an_unknown_code_theme_in_the_file_warns(server: StandinServer) -> None:
    write_config('code_theme = "monokay"\n')
    err = ok(run_main("--url", server.url, "-q", "hi"))
    assert "code_theme" in err and "did you mean 'monokai'?" in err


# ---- --extra-body ------------------------------------------------------------------------


def test_extra_body_is_merged_into_the_request(server: StandinServer) -> None:
    write_config(f'url = "{server.url}"\n[sampling]\nchat_template_kwargs = {{a = 1, b = 2}}\n')
    extra = '{"top_k": 20, "chat_template_kwargs": {"b": 3, "enable_thinking": false}}'
    ok(run_main("--extra-body", extra, "--top-p", "0.5", "-q", "hi"))
    assert server.requests[0] == {
        "model": "standin-model",
        "messages": [{"role": "user", "content": "hi"}],
        "chat_template_kwargs": {"a": 1, "b": 3, "enable_thinking": False},
        "top_k": 20,
        "top_p": 0.5,
        **STREAM,
    }


@pytest.mark.parametrize(
    ("value", "mentions"),
    [
        ('{"top_k": ', "not valid JSON"),
        ("[1, 2]", "JSON object"),
        ('"text"', "JSON object"),
        ('{"min_p": NaN}', "NaN"),
        ('{"messages": []}', "'messages'"),
        ('{"stream": false}', "'stream'"),
        ('{"temperature": 5}', "temperature must be a number from 0 to 2, got 5"),
        ('{"max_tokens": 0}', "max_tokens must be a whole number of at least 1, got 0"),
        ('{"top_k": true}', "top_k must be a whole number"),
        ('{"stop": ""}', "stop must be a non-empty string"),
        ('{"api_key": "sk-123456"}', "api_key is not a request parameter"),
        ('{"API_KEY": "sk-123456"}', "--api-key sets the key"),
        ('{"Authorization": "Bearer sk-123456"}', "--api-key sets the key"),
        ('{"base_url": "http://x/v1"}', "--url sets the server"),
    ],
    ids=[
        "truncated", "array", "string", "nan", "messages", "stream", "temperature-5",
        "max-tokens-0", "top-k-true", "stop-empty", "api-key", "api-key-upper", "authorization",
        "base-url",
    ],
)  # fmt: skip
def test_bad_extra_body_exits_2_with_one_error_line(
    server: StandinServer, value: str, mentions: str
) -> None:
    result = run_main("--url", server.url, "--extra-body", value, "-q", "hi")
    assert result.returncode == 2
    assert result.stdout == b""
    err = result.stderr.decode()
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if "error:" in line]
    assert len(errors) == 1, err
    assert "--extra-body" in errors[0] and mentions in errors[0]
    assert "sk-123456" not in err
    assert server.requests == []


# ---- flags with a fixed set of values ---------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "mentions"),
    [
        (["--code-theme", "monokay"], "did you mean 'monokai'?"),
        (["--think", "sometimes"], "--think"),
        (["--temperature", "nan"], "--temperature: must be a number from 0 to 2, got nan"),
        (["--temperature", "-1"], "--temperature: must be a number from 0 to 2, got -1"),
        (["--temperature", "2.5"], "--temperature: must be a number from 0 to 2, got 2.5"),
        (["--top-p", "2"], "--top-p: must be a number above 0 and at most 1, got 2"),
        (["--top-p", "0"], "--top-p: must be a number above 0 and at most 1, got 0"),
        (["--max-tokens", "0"], "--max-tokens: must be a whole number of at least 1, got 0"),
    ],
    ids=["code-theme", "think", "temperature-nan", "temperature-neg", "temperature-2.5",
         "top-p-2", "top-p-0", "max-tokens-0"],
)  # fmt: skip
def test_bad_new_flag_values_exit_2(server: StandinServer, args: list[str], mentions: str) -> None:
    result = run_main("--url", server.url, *args, "-q", "hi")
    assert result.returncode == 2
    errors = [line for line in result.stderr.decode().splitlines() if "error:" in line]
    assert len(errors) == 1 and mentions in errors[0], result.stderr
    assert server.requests == []


# ---- start-up weight ----------------------------------------------------------------------


@pytest.mark.parametrize("flag", ["--help", "--version"])
def test_help_and_version_read_no_config(flag: str) -> None:
    write_config("this is not toml\n")
    code = (
        "import sys\n"
        "from vllm_chat.cli import main\n"
        "try:\n"
        f"    main([{flag!r}])\n"
        "except SystemExit:\n"
        "    pass\n"
        "names = ('tomllib', 'tomli', 'vllm_chat.config.file')\n"
        "print('LOADED', [m for m in names if m in sys.modules])\n"
    )
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "LOADED []"
    assert "TOML" not in result.stderr


def test_quick_to_a_pipe_with_a_config_imports_neither_rich_nor_prompt_toolkit(
    server: StandinServer,
) -> None:
    write_config(f'url = "{server.url}"\ncode_theme = "dracula"\nvi = true\nstats = true\n')
    code = (
        "import sys\n"
        "from vllm_chat.cli import main\n"
        "code = main(['-q', 'hi'])\n"
        "print('LOADED', [m for m in ('rich', 'prompt_toolkit') if m in sys.modules],\n"
        "      file=sys.stderr)\n"
        "sys.exit(code)\n"
    )
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "You said: hi\n"
    assert result.stderr.splitlines()[-1] == "LOADED []"


# ---- the README's example --------------------------------------------------------------------


def test_the_readme_documents_every_key_and_its_example_loads_cleanly() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `\[?(\w+)\]?` \|", section, re.MULTILINE))
    assert documented == set(config.KEYS)
    example = re.search(r"```toml\n(.*?)```", section, re.DOTALL)
    assert example is not None
    warnings: list[str] = []
    path = write_config(example.group(1))
    loaded = config.load(path, explicit=True, warn=warnings.append)
    assert warnings == []
    assert set(loaded.values) | {"api_key", "sampling"} == set(config.KEYS)
    assert loaded.sampling["chat_template_kwargs"] == {"enable_thinking": False}
