"""Default values, in a module light enough for `--help` to import."""

DEFAULT_URL = "http://localhost:8000/v1"
# Long enough for a loaded server to produce its first token after a long prompt.
DEFAULT_READ_TIMEOUT = 600.0
DEFAULT_CONNECT_TIMEOUT = 10.0
# Request body keys vllm-chat sets itself; no setting may replace them.
RESERVED_BODY_KEYS = ("model", "messages", "stream", "stream_options")
# Secrets and transport settings: never request parameters, in any case or spelling.
# name (lower case, `_` for `-`) -> "key" or "url": what it would set (see sampling.misplaced).
NOT_REQUEST_KEYS = {"api_key": "key", "authorization": "key", "url": "url", "base_url": "url"}
# Where an API key came from, as messages name it (never the key itself).
KEY_ORIGINS = {
    "flag": "--api-key",
    "environment": "OPENAI_API_KEY",
    "config": "api_key in the config file",
    "typed": "/key",  # typed at the hidden prompt of /key or /connect --key
}
DEFAULT_CODE_THEME = "monokai"  # a Pygments style name
THINK_MODES = ("show", "hide", "collapse")  # what to do with a reasoning model's thinking
DEFAULT_THINK = "show"
# rich's own code themes, usable wherever a Pygments style name is.
ANSI_CODE_THEMES = ("ansi_dark", "ansi_light")
DEFAULT_TOP_LOGPROBS = 5  # alternatives asked for each token by --logprobs and /logprobs
