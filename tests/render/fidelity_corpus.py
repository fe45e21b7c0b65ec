"""Markdown answers as a language model writes them, for the fidelity tests (issue 10).

`DOCUMENTS` holds `(id, text)` pairs; the id's prefix names the class a document
stands for (`html-`, `think-`, `table-`, `crlf-`, `link-`, `code-`, `emoji-`, and
`list-`, `quote-`, `heading-`, `math-`, `entity-`, `escape-`, `break-`, `long-`,
`emph-`, `mixed-` for the rest). Most are several blocks long, as real answers are.
"""

# Answers hold long lines on purpose (tables, code, URLs): E501 does not apply.
# ruff: noqa: E501

from __future__ import annotations

import hashlib

__all__ = ["DOCUMENTS", "by_id"]

DOCUMENTS: list[tuple[str, str]] = []


def _doc(doc_id: str, text: str) -> None:
    if any(doc_id == known for known, _ in DOCUMENTS):
        raise ValueError(f"duplicate document id {doc_id!r}")
    DOCUMENTS.append((doc_id, text))


def _crlf(text: str) -> str:
    return text.replace("\n", "\r\n")


def by_id(doc_id: str) -> str:
    for known, text in DOCUMENTS:
        if known == doc_id:
            return text
    raise KeyError(doc_id)


def _hexdigest(seed: str, length: int) -> str:
    out = ""
    counter = 0
    while len(out) < length:
        out += hashlib.sha256(f"{seed}{counter}".encode()).hexdigest()
        counter += 1
    return out[:length]


# A 300-character word (no spaces) and a 300-character URL.
TOKEN_300 = "sha256:" + _hexdigest("token", 293)
_URL_HEAD, _URL_TAIL = "https://storage.example.com/artifacts/", "?v=2&dl=1"
URL_300 = _URL_HEAD + _hexdigest("url", 300 - len(_URL_HEAD) - len(_URL_TAIL)) + _URL_TAIL
assert len(TOKEN_300) == 300 and len(URL_300) == 300

# ---------------------------------------------------------------------------------------
# HTML-looking text in prose
# ---------------------------------------------------------------------------------------

_doc(
    "html-generics-java",
    """\
In Java you would declare the parameter as `List<String>`, but in prose people often
just write Use List<String> or Vec<T> and expect the reader to understand. The same goes
for Map<K, V>, which maps keys of type K to values of type V.

A bounded type parameter looks like this: <T extends Comparable<T>>. It means that T
must be comparable with itself, so that `Collections.sort` can order the elements.

```java
public static <T extends Comparable<T>> T max(List<T> items) {
    T best = items.get(0);
    for (T item : items) {
        if (item.compareTo(best) > 0) {
            best = item;
        }
    }
    return best;
}
```

Key points:

- Map<K, V> is an interface; HashMap<K, V> and TreeMap<K, V> implement it.
- List<String> cannot hold an Integer, the compiler rejects it.
- Wildcards such as List<? extends Number> accept subtypes.
""",
)

_doc(
    "html-inline-tags",
    """\
Some renderers treat anything in angle brackets as a tag, so a sentence such as a <b> c
may lose the middle letter entirely. Similarly, line<br>break is how many people write a
forced line break in GitHub comments, and it should still show both words.

Here are a few more cases where the text looks like HTML:

1. The comparison a <b and b> c reads oddly but is valid prose.
2. A placeholder such as <name> or <your-api-key> in instructions.
3. An email address in brackets like <support@example.com>.

If you paste <placeholder> values into a shell, remember to remove the brackets,
otherwise the shell treats < as input redirection.
""",
)

_doc(
    "html-kbd",
    """\
## Keyboard shortcuts

To stop a running command press <kbd>Ctrl</kbd>+<kbd>C</kbd>. To send end-of-file,
which closes the REPL, press <kbd>Ctrl</kbd>+<kbd>D</kbd> on an empty line.

| Action | Shortcut |
|--------|----------|
| Copy | <kbd>Ctrl</kbd>+<kbd>Shift</kbd>+<kbd>C</kbd> |
| Paste | <kbd>Ctrl</kbd>+<kbd>Shift</kbd>+<kbd>V</kbd> |
| Search history | <kbd>Ctrl</kbd>+<kbd>R</kbd> |
| Clear screen | <kbd>Ctrl</kbd>+<kbd>L</kbd> |

On macOS use <kbd>Cmd</kbd> instead of <kbd>Ctrl</kbd> for copy and paste, but keep
<kbd>Ctrl</kbd>+<kbd>C</kbd> for interrupting a process.
""",
)

_doc(
    "html-script-xss",
    """\
### What is cross-site scripting?

Cross-site scripting (XSS) happens when user input is inserted into a page without
escaping. The classic proof of concept is to submit <script>alert(1)</script> as a
comment; if the page shows an alert box, it is vulnerable.

```html
<p>Hello, <script>alert(document.cookie)</script>!</p>
```

To prevent it:

- Escape `<`, `>`, `&`, `"` and `'` when writing user data into HTML.
- Set a Content-Security-Policy header that forbids inline scripts.
- Never build HTML by concatenating strings such as "<div>" + name + "</div>".

An attribute payload like <img src=x onerror=alert(1)> is just as dangerous as a
script tag, so filtering only the word script is not enough.
""",
)

_doc(
    "html-div-note",
    """\
Here is how you can highlight a note in GitHub-flavoured Markdown:

<div class="note">
Notes written as raw HTML blocks keep their content on screen too.
This second line belongs to the same block.
</div>

After the block, ordinary Markdown continues. You can also use a blockquote with a
bold first word:

> **Note**
> Blockquotes are the portable way to write callouts.

Both approaches render on GitHub, but only the blockquote works everywhere.
""",
)

_doc(
    "html-details",
    """\
You can hide long output behind a disclosure widget:

<details><summary>Full stack trace</summary>
Traceback (most recent call last): the worker crashed while loading weights.
RuntimeError: CUDA out of memory while allocating the key value cache.
</details>

The summary line is always visible and the rest expands when clicked. In a terminal
there is nothing to click, so the whole content should simply be shown.

1. Put the summary on the same line as `<details>`.
2. Leave a blank line before Markdown content inside the block.
3. Close it with `</details>`.
""",
)

_doc(
    "html-comment",
    """\
The configuration file supports comments in the usual HTML form:

<!-- comment -->
maxRetries: 5
timeoutSeconds: 30
backoffFactor: 2

Each key above is read at start-up. A comment such as <!-- TODO: tune this --> can
also sit inside a line of prose.

<!-- generated by the deployment script -->
replicas: 3
gpuMemoryUtilization: 0.9

Change the values and restart the service to apply them.
""",
)

_doc(
    "html-rust-generics",
    """\
In Rust, a function that may fail usually returns Result<T, Box<dyn Error>>. When you
need a growable array you reach for Vec<T>, and for a map HashMap<String, Vec<u8>>.

The borrow checker also shows up in signatures: fn longest<'a>(x: &'a str, y: &'a str)
-> &'a str says the result lives as long as both inputs.

```rust
use std::collections::HashMap;

fn group(words: Vec<String>) -> HashMap<usize, Vec<String>> {
    let mut groups: HashMap<usize, Vec<String>> = HashMap::new();
    for word in words {
        groups.entry(word.len()).or_default().push(word);
    }
    groups
}
```

Summary:

- Option<T> is either Some(T) or None.
- Arc<Mutex<T>> shares mutable state between threads.
- Rc<RefCell<T>> does the same within one thread.
""",
)

_doc(
    "html-cpp-templates",
    """\
C++ templates are written with angle brackets as well. A vector of integers is
std::vector<int>, and a function template starts with template <typename T>.

When templates nest, older compilers needed a space: std::vector<std::vector<int> >.
Since C++11 you can write std::vector<std::vector<int>> without it.

```cpp
#include <vector>
#include <iostream>

template <typename T>
T sum(const std::vector<T>& values) {
    T total{};
    for (const auto& v : values) total += v;
    return total;
}

int main() {
    std::vector<int> xs{1, 2, 3};
    std::cout << sum(xs) << std::endl;
}
```

The `#include <vector>` line pulls in the header; without it std::vector<int> is unknown.
""",
)

_doc(
    "html-typescript",
    """\
TypeScript generics look the same as Java ones. A function that fetches users might
return Promise<Array<User>>, or more idiomatically Promise<User[]>.

```ts
async function loadUsers(): Promise<User[]> {
  const response = await fetch("/api/users");
  return (await response.json()) as User[];
}
```

Utility types help too:

- Partial<User> makes every field optional.
- Record<string, number> is a dictionary from strings to numbers.
- ReturnType<typeof loadUsers> is Promise<User[]>.

In JSX files the syntax <T,> is needed for arrow function generics, because <T> alone
would be parsed as an element.
""",
)

_doc(
    "html-table-generics",
    """\
Here is a comparison of collection types across languages:

| Language | List type | Map type | Notes |
|----------|-----------|----------|-------|
| Java | List<String> | Map<K, V> | interfaces, several implementations |
| Rust | Vec<T> | HashMap<K, V> | owned, growable |
| C++ | std::vector<T> | std::map<K, V> | ordered map is a tree |
| C# | List<T> | Dictionary<TKey, TValue> | in System.Collections.Generic |

All four use angle brackets for type parameters. The <b>bold</b> tag in a cell and a
bare <br> should not swallow the text around them.
""",
)

_doc(
    "html-br-list",
    """\
Steps to reset your password:

- Open the settings page.<br>It is under your avatar in the top right corner.
- Choose **Security**.<br>Then click *Change password*.
- Enter the old password<br/>and the new one twice.

If the form shows an error such as <span class="error">Password too short</span>,
choose a longer password. The minimum is twelve characters.

<p align="center">Thank you for keeping your account safe.</p>
""",
)

# ---------------------------------------------------------------------------------------
# <think> and </think> after the answer started
# ---------------------------------------------------------------------------------------

_doc(
    "think-template-fence",
    """\
Qwen3 and DeepSeek-R1 wrap their reasoning in special tags. The chat template inserts
the opening tag for you, so the raw completion looks like this:

```text
<|im_start|>assistant
<think>
The user asks for the capital of France. That is Paris.
</think>

The capital of France is Paris.
<|im_end|>
```

When vLLM runs without a reasoning parser, everything between the tags arrives in the
content field. A client then has to split it:

1. Look for the opening tag at the very start of the content.
2. Everything up to the closing tag is reasoning.
3. The rest is the answer.

With `--reasoning-parser deepseek_r1` the server does the split and sends the thinking
in a separate field instead.
""",
)

_doc(
    "think-midline",
    """\
The reasoning block is delimited by two tags. The tag </think> closes it, and the text
after it is what the user should see. Models trained this way emit <think> first and
then their chain of thought.

Some practical consequences:

- A parser must not treat a </think> in the middle of a sentence as the end of anything.
- Stripping <think>...</think> with a regular expression is fragile when the answer
  itself talks about the tags, as this one does.
- Streaming clients see the tag split across deltas, for example `</thi` then `nk>`.

So the safest approach is to let the server's reasoning parser do the work.
""",
)

_doc(
    "think-line-start-prose",
    """\
Here is how the raw output of a reasoning model is laid out, line by line. First
comes the opening tag on a line of its own:
<think>
Then the model writes its reasoning, possibly over many lines. It ends with
</think>
and after a blank line the visible answer begins.

In other words, a client that strips everything up to the first closing tag would
delete the whole explanation above, which is why vllm-chat only looks for it at the
very start of an answer.

1. Opening tag at the start: reasoning.
2. Closing tag later, in prose: just text.
""",
)

_doc(
    "think-jinja",
    """\
The relevant part of the chat template is short. It appends the generation prompt and,
when thinking is enabled, opens the reasoning block:

```jinja
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\\n' }}
    {%- if enable_thinking is defined and enable_thinking is false %}
<think>

</think>

    {%- endif %}
{%- endif %}
```

So with `enable_thinking=false` the template writes an empty think block and the model
answers directly. Pass it with `--chat-template-kwargs '{"enable_thinking": false}'` or
in the request body under `chat_template_kwargs`.
""",
)

_doc(
    "think-python-split",
    """\
You can separate the reasoning yourself in a few lines of Python:

```python
def split_reasoning(text: str) -> tuple[str, str]:
    \"\"\"Return (reasoning, answer) from a raw completion.\"\"\"
    marker = "</think>"
    if marker not in text:
        return "", text
    reasoning, _, answer = text.partition(marker)
    return reasoning.removeprefix("<think>").strip(), answer.strip()


SAMPLE = \"\"\"
<think>
short reasoning
</think>
final answer
\"\"\"
```

Call `split_reasoning(SAMPLE)` and you get `("short reasoning", "final answer")`.
Note that this only works when the tags appear once; an answer that quotes </think>
would be cut in the wrong place.
""",
)

_doc(
    "think-list-items",
    """\
Reasoning models differ in how they mark their thoughts:

- DeepSeek-R1 writes <think> ... </think> around the reasoning.
- Qwen3 does the same, but its template may open the block itself.
- Some fine-tunes use <reasoning> and </reasoning> instead.
- Others emit <|begin_of_thought|> and <|end_of_thought|>.

When you build a prompt by hand, do not forget the closing tag:
</think>
must appear before the answer, or the client shows the whole reply as thinking.

| Model | Opening | Closing |
|-------|---------|---------|
| DeepSeek-R1 | `<think>` | `</think>` |
| Qwen3 | template | `</think>` |
""",
)

_doc(
    "think-crlf-fence",
    _crlf(
        """\
Here is a minimal raw completion with reasoning, as a test fixture:

```
<think>
I should greet the user.
</think>
Hello! How can I help?
```

The parser test feeds it in small pieces and checks that only "Hello! How can I help?"
is kept as the answer. Remember that the tag </think> can arrive split across two
network packets.
"""
    ),
)

_doc(
    "think-quote",
    """\
From the model card:

> The model first thinks inside a block that starts with <think> and ends with
> </think>, and then gives its final answer.
>
> Do not include the reasoning in multi-turn conversation history.

That last sentence matters for clients: when the conversation is sent back to the
server, the assistant message should hold the answer only.

**Tip:** if your answers start with a stray </think>, your template already opened the
block and you should not add another one.
""",
)

# ---------------------------------------------------------------------------------------
# Wide tables
# ---------------------------------------------------------------------------------------

_doc(
    "table-long-words",
    """\
Here is a summary of the localisation terms you asked about:

| Term | Abbreviation | Meaning |
|------|--------------|---------|
| internationalization | i18n | designing software so it can be adapted to languages |
| localization | l10n | adapting it to one language and region |
| globalization | g11n | both of the above, plus business processes |
| accessibility | a11y | making it usable by people with disabilities |

The abbreviations count the letters between the first and the last: internationalization
has eighteen of them.
""",
)

_doc(
    "table-identifiers",
    """\
The configuration keys, their types and defaults:

| Key | Type | Default | Description |
|:----|:----:|--------:|-------------|
| `extraordinarily_long_identifier_with_many_parts` | bool | `false` | enables the experimental path |
| `max_num_batched_tokens` | int | `8192` | tokens per scheduler step |
| `gpu_memory_utilization` | float | `0.9` | fraction of GPU memory to use |
| `enable_prefix_caching` | bool | `true` | reuse the KV cache of shared prefixes |
| `tensor_parallel_size` | int | `1` | number of GPUs per replica |

Set them on the command line with dashes instead of underscores, for example
`--max-num-batched-tokens 16384`.
""",
)

_doc(
    "table-two-columns-many-rows",
    """\
HTTP status codes you will meet when talking to an inference server:

| Code | Meaning |
|------|---------|
| 200 | OK, the stream follows |
| 400 | Bad request, for example an unknown parameter |
| 401 | Unauthorized, the API key is missing or wrong |
| 403 | Forbidden, the key has no access to this model |
| 404 | Not found, wrong path or model name |
| 408 | Request timeout |
| 413 | Payload too large, the prompt is too long |
| 422 | Unprocessable entity, a field has the wrong type |
| 429 | Too many requests, slow down |
| 500 | Internal server error |
| 502 | Bad gateway, the proxy could not reach the server |
| 503 | Service unavailable, the model is still loading |
| 504 | Gateway timeout, the proxy gave up waiting |
| 507 | Insufficient storage |

Retry on 429, 502, 503 and 504 with exponential backoff; the others need a fix on the
client side.
""",
)

_doc(
    "table-eight-columns",
    """\
Benchmark results on a single A100 80GB, batch size 32:

| Model | Params | Precision | TTFT ms | ITL ms | Throughput | Memory GB | Notes |
|:------|-------:|:---------:|--------:|-------:|-----------:|----------:|:------|
| Llama-3.1-8B-Instruct | 8B | bf16 | 45 | 12 | 4210 | 16.1 | baseline |
| Llama-3.1-8B-Instruct | 8B | fp8 | 38 | 9 | 5630 | 8.9 | dynamic scaling |
| Mistral-7B-Instruct-v0.3 | 7B | bf16 | 41 | 11 | 4480 | 14.5 | sliding window |
| Qwen2.5-14B-Instruct | 14B | bf16 | 77 | 19 | 2550 | 29.6 | long context |
| Qwen2.5-14B-Instruct | 14B | awq | 69 | 16 | 3010 | 10.2 | int4 weights |
| Phi-3-medium-128k | 14B | bf16 | 81 | 21 | 2390 | 28.0 | extraordinarily_long_context |
| Gemma-2-9B-it | 9B | bf16 | 52 | 14 | 3700 | 18.7 | soft capping |
| Mixtral-8x7B-Instruct | 47B | fp8 | 112 | 24 | 1980 | 48.3 | mixture of experts |
| DeepSeek-V2-Lite | 16B | bf16 | 95 | 22 | 2200 | 31.4 | multi-head latent attention |
| Yi-1.5-9B-Chat | 9B | bf16 | 50 | 13 | 3810 | 17.9 | bilingual |

Throughput is in output tokens per second over the whole batch. The fp8 rows used
`--quantization fp8`, the awq row a pre-quantized checkpoint.
""",
)

_doc(
    "table-escaped-pipes",
    r"""Shell operators that contain a pipe character need escaping inside a table:

| Operator | Example | Effect |
|----------|---------|--------|
| `\|` | `ls \| wc -l` | sends the output of one command into another |
| `\|\|` | `make \|\| echo failed` | runs the second command if the first fails |
| `\|&` | `cmd \|& tee log` | pipes both stdout and stderr |
| `&&` | `make && make install` | runs the second only on success |
| `;` | `cd /tmp; ls` | runs both regardless |

Outside a table you can write the pipe as is: `ls | wc -l`. Inside a table, an
unescaped pipe would start a new cell, so write \| instead.
""",
)

_doc(
    "table-centered-alignment",
    """\
Feature support by client:

| Feature | curl | Python SDK | vllm-chat | Web UI |
|:-------:|:----:|:----------:|:---------:|:------:|
| Streaming | yes | yes | yes | yes |
| Reasoning field | manual | yes | yes | partial |
| Images | base64 | yes | yes | yes |
| Tool calls | manual | yes | no | yes |
| Markdown rendering | no | no | yes | yes |
| History | no | no | yes | yes |

Everything in the middle column assumes version 1.40 or later of the SDK.
""",
)

_doc(
    "table-inline-code-cells",
    """\
The most useful `git` commands for day-to-day work:

| Command | What it does | Example |
|---------|--------------|---------|
| `git status` | shows changed and untracked files | `git status --short` |
| `git diff --staged` | shows what the next commit contains | `git diff --staged -- src/` |
| `git log --oneline --graph` | draws the history as a graph | `git log --oneline --graph --all` |
| `git stash push -m "wip"` | shelves uncommitted changes | `git stash list` |
| `git rebase -i HEAD~3` | rewrites the last three commits | reorder, squash, reword |
| `git bisect start` | binary search for a bad commit | `git bisect good v1.2` |
| `git restore --source=HEAD~1 file.py` | brings back an old version | undo a change |

Use `git reflog` if a rebase goes wrong; it remembers every position of HEAD.
""",
)

_doc(
    "table-twenty-rows",
    """\
Environment variables that vLLM reads:

| Variable | Default | Purpose |
|----------|---------|---------|
| `VLLM_HOST_IP` | auto | address other nodes use to reach this one |
| `VLLM_PORT` | 8000 | port of the API server |
| `VLLM_USE_MODELSCOPE` | 0 | download models from ModelScope |
| `VLLM_LOGGING_LEVEL` | INFO | log verbosity |
| `VLLM_TRACE_FUNCTION` | 0 | trace every function call, very slow |
| `VLLM_ATTENTION_BACKEND` | auto | FLASH_ATTN, XFORMERS, FLASHINFER |
| `VLLM_WORKER_MULTIPROC_METHOD` | fork | spawn or fork |
| `VLLM_CACHE_ROOT` | ~/.cache/vllm | compiled kernels and more |
| `VLLM_CONFIG_ROOT` | ~/.config/vllm | configuration files |
| `VLLM_ALLOW_LONG_MAX_MODEL_LEN` | 0 | allow a context beyond the model's own |
| `VLLM_RPC_TIMEOUT` | 10000 | milliseconds for internal calls |
| `VLLM_ENGINE_ITERATION_TIMEOUT_S` | 60 | seconds before a step is declared hung |
| `VLLM_API_KEY` | unset | key the server requires |
| `VLLM_DO_NOT_TRACK` | 0 | disable usage statistics |
| `VLLM_NO_USAGE_STATS` | 0 | same as above |
| `VLLM_USE_V1` | 1 | use the V1 engine |
| `VLLM_ENABLE_V1_MULTIPROCESSING` | 1 | engine core in its own process |
| `VLLM_SERVER_DEV_MODE` | 0 | extra debugging endpoints |
| `CUDA_VISIBLE_DEVICES` | all | which GPUs to use |
| `HF_TOKEN` | unset | token for gated models |

Most of them never need changing; `VLLM_LOGGING_LEVEL=DEBUG` is the one you will use
when something goes wrong.
""",
)

_doc(
    "table-three-columns-prose",
    """\
A quick comparison of the three approaches:

| Approach | Advantages | Disadvantages |
|----------|------------|---------------|
| Fine-tuning | Highest quality on the target task, the model internalises the style | Needs labelled data, GPU time and care to avoid catastrophic forgetting |
| Retrieval-augmented generation | Knowledge stays up to date, answers cite sources | Quality depends on the retriever, adds latency for every query |
| Prompt engineering | No training at all, fast to iterate | Limited by the context window, brittle across model versions |

In practice teams start with prompt engineering, add retrieval when the model lacks
knowledge, and fine-tune only when both are not enough.
""",
)

_doc(
    "table-six-columns-mixed",
    """\
The GPU options for serving a 70B model:

| GPU | Memory | Bandwidth | FP16 TFLOPS | Price per hour | Fits 70B in fp16? |
|-----|-------:|----------:|------------:|---------------:|:-----------------:|
| A10G | 24 GB | 600 GB/s | 125 | $1.00 | no |
| L40S | 48 GB | 864 GB/s | 362 | $1.80 | no |
| A100 | 80 GB | 2039 GB/s | 312 | $3.70 | with 2 GPUs |
| H100 SXM | 80 GB | 3350 GB/s | 989 | $4.50 | with 2 GPUs |
| H200 | 141 GB | 4800 GB/s | 989 | $6.00 | yes |
| MI300X | 192 GB | 5300 GB/s | 1307 | $5.00 | yes |

A 70B model in fp16 needs about 140 GB for the weights alone, plus the KV cache, so
plan for tensor parallelism or quantization.
""",
)


def _wide_table(doc_id: str, columns: int, rows: int, intro: str) -> None:
    header = ["Name", "internationalization", "Status", "Owner", "Region", "Version", "Notes"]
    header = ["Component", *header][:columns]
    lines = [intro, "", "| " + " | ".join(header) + " |"]
    aligns = [":---", ":---:", "---:", "---", ":---:", "---", "---:", ":---"]
    lines.append("|" + "|".join(aligns[i % len(aligns)] for i in range(columns)) + "|")
    for row in range(rows):
        cells = [
            f"`service_{row:02d}_extraordinarily_long_identifier_with_many_parts`",
            f"module{row}",
            "supported" if row % 3 else "deprecated",
            f"team-{'abcdefgh'[row % 8]}",
            ["eu-west-1", "us-east-2", "ap-south-1"][row % 3],
            f"v{row // 4}.{row % 4}.{row * 7 % 10}",
            "internationalization pending" if row % 2 else "ok",
            f"r{row}",
        ][:columns]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Rows marked deprecated will be removed in the next major release."]
    _doc(doc_id, "\n".join(lines) + "\n")


_wide_table("table-generated-2x12", 2, 12, "The services and their modules:")
_wide_table("table-generated-5x16", 5, 16, "Here is the inventory of services you asked for:")
_wide_table("table-generated-8x18", 8, 18, "The full inventory with every column:")
_wide_table("table-generated-4x10", 4, 10, "A shorter view of the inventory:")

# ---------------------------------------------------------------------------------------
# CRLF answers
# ---------------------------------------------------------------------------------------

_doc(
    "crlf-paragraphs-list",
    _crlf(
        """\
Sure! Here are the steps to install the package on Windows:

1. Open PowerShell as an administrator.
2. Run `pip install vllm-chat`.
3. Check the version with `vllm-chat --version`.

If pip is not found, add Python's Scripts folder to your PATH. The installer has a
checkbox for that on its first page.

- Python 3.10 or later is required.
- A virtual environment keeps the installation separate from the system.
"""
    ),
)

_doc(
    "crlf-code-fence",
    _crlf(
        """\
Here is a batch script that sets the variables and starts the server:

```bat
@echo off
set VLLM_PORT=8000
set CUDA_VISIBLE_DEVICES=0

python -m vllm.entrypoints.openai.api_server --model Qwen/Qwen2.5-7B-Instruct
```

Save it as `start.bat` and double-click it. The window stays open while the server
runs; close it or press Ctrl+C to stop.

```powershell
$env:VLLM_PORT = "8000"
vllm serve Qwen/Qwen2.5-7B-Instruct --port $env:VLLM_PORT
```
"""
    ),
)

_doc(
    "crlf-table",
    _crlf(
        """\
Line ending conventions:

| System | Line ending | Bytes |
|--------|-------------|-------|
| Windows | CRLF | `0D 0A` |
| Linux | LF | `0A` |
| classic Mac OS | CR | `0D` |

Git can convert between them with `core.autocrlf`. Set it to `true` on Windows and to
`input` elsewhere.
"""
    ),
)

_doc(
    "crlf-headings-quote",
    _crlf(
        """\
# Release checklist

## Before tagging

> Run the full test suite on every supported platform.
> Check the changelog for typos.

## After tagging

- Build the wheels.
- Upload to the package index.
- Announce the release.

---

That is all; the whole process takes about an hour.
"""
    ),
)

_doc(
    "crlf-nested-list-code",
    _crlf(
        """\
To configure the client:

1. Create the configuration file:

   ```toml
   url = "http://localhost:8000/v1"
   model = "Qwen/Qwen2.5-7B-Instruct"
   ```

2. Set the API key:
   - in the environment as `OPENAI_API_KEY`, or
   - in the file as `api_key`.
3. Start the client.

The file lives in `%APPDATA%\\vllm-chat\\config.toml` on Windows.
"""
    ),
)

_doc(
    "crlf-emphasis-links",
    _crlf(
        """\
The **quickest** way to learn is to *try things out*. Read the
[official tutorial](https://docs.python.org/3/tutorial/) first, then work through a
few ~~boring~~ small projects.

Useful sites:

- <https://realpython.com/>
- https://pypi.org/ for packages
- [Python Weekly](https://www.pythonweekly.com/)

Good luck, and ***have fun***!
"""
    ),
)

_doc(
    "crlf-tilde-fence-blank-lines",
    _crlf(
        """\
Example configuration with comments and blank lines:

~~~yaml
# server settings
server:
  host: 0.0.0.0

  port: 8000


# model settings
model:
  name: mistralai/Mistral-7B-Instruct-v0.3
~~~

Blank lines inside the block are kept as they are.
"""
    ),
)

_doc(
    "crlf-long-paragraph",
    _crlf(
        """\
Windows terminals historically expected carriage return and line feed at the end of
every line, which is why so much text written on that platform still uses CRLF. When
such text is pasted into a chat, or when a model was trained on a lot of it, the answer
may come back with the same line endings. A renderer should treat them exactly like a
plain line feed: the paragraph wraps the same way, the list items still start new
lines, and no stray control picture such as a return symbol shows up at the end of a
line.

Nothing else changes. Code blocks, tables and quotes all behave the same.
"""
    ),
)

# ---------------------------------------------------------------------------------------
# Links, images, footnotes
# ---------------------------------------------------------------------------------------

_doc(
    "link-autolinks",
    """\
The documentation lives at <https://example.net/x> and the source code at
<https://github.com/vllm-project/vllm>. For support, write to <mailto:help@example.net>.

Other useful pages:

- Release notes: <https://example.net/x/releases>
- Roadmap: <https://example.net/x/roadmap?year=2025>
- Status page: <https://status.example.net/>

All of them are served over HTTPS.
""",
)

_doc(
    "link-bare-urls",
    """\
You can download the model from https://huggingface.co/Qwen/Qwen2.5-7B-Instruct and
the quantized version from https://huggingface.co/Qwen/Qwen2.5-7B-Instruct-AWQ.

Some mirrors:

1. https://hf-mirror.com/Qwen/Qwen2.5-7B-Instruct
2. https://modelscope.cn/models/qwen/Qwen2.5-7B-Instruct
3. http://internal.example.org:8080/models/qwen2.5-7b-instruct/

If a download stalls, set HF_HUB_ENABLE_HF_TRANSFER=1 and retry; see
https://huggingface.co/docs/huggingface_hub/guides/download for details.
""",
)

_doc(
    "link-text-equals-url",
    """\
The API reference is at [https://platform.openai.com/docs/api-reference](https://platform.openai.com/docs/api-reference).
vLLM follows it closely; its own docs are at [https://docs.vllm.ai/](https://docs.vllm.ai/).

When the text and the target are the same, a renderer that shows the target in
brackets would print it twice, which looks silly but loses nothing.

See also [docs.vllm.ai](https://docs.vllm.ai/en/latest/serving/openai_compatible_server.html)
for the OpenAI-compatible server.
""",
)

_doc(
    "link-text-differs",
    """\
Here are the resources I would recommend:

- [The Rust Book](https://doc.rust-lang.org/book/) for the basics.
- [Rust by Example](https://doc.rust-lang.org/rust-by-example/) for short programs.
- [Rustlings](https://github.com/rust-lang/rustlings) for exercises.
- The [async book](https://rust-lang.github.io/async-book/ "Asynchronous Programming in Rust")
  once you need concurrency.

Read them in that order. If you prefer video, [this playlist](https://www.youtube.com/watch?v=OX9HJsJUDxA&list=PLai5B987bZ9CoVR-QEIN9foz4QCJ0H2Y8)
covers the same ground.
""",
)

_doc(
    "link-images",
    """\
The architecture looks like this:

![Architecture diagram](https://example.com/images/architecture.png)

And here is the throughput over time:

![throughput chart with three lines](https://example.com/images/throughput-2025.svg "Tokens per second")

If the images do not load, the same data is in the table below.

| Minute | Tokens per second |
|--------|-------------------|
| 1 | 3100 |
| 2 | 4250 |
| 3 | 4300 |
""",
)

_doc(
    "link-reference-after",
    """\
The two papers you want are the [vLLM paper][paged] and the [FlashAttention paper][flash].
Both are short and readable. For an overview, the [blog post][blog] is enough.

The key idea of the first is to manage the KV cache in fixed-size blocks, like pages in
virtual memory, so that memory is not wasted on fragmentation.

[paged]: https://arxiv.org/abs/2309.06180
[flash]: https://arxiv.org/abs/2205.14135 "FlashAttention"
[blog]: https://blog.vllm.ai/2023/06/20/vllm.html
""",
)

_doc(
    "link-reference-before",
    """\
[gh]: https://github.com/vllm-project/vllm/issues
[forum]: https://discuss.vllm.ai/

If you hit a bug, search the [issue tracker][gh] first; maybe someone already reported
it. Questions that are not bugs belong in the [forum]. Collapsed references like
[forum][] work too.

When you open an issue, include:

1. The exact command you ran.
2. The full traceback.
3. The output of `python -m vllm.collect_env`.
""",
)

_doc(
    "link-footnotes",
    """\
Paged attention reduces memory waste to under 4%[^1], which allows larger batches and
therefore higher throughput[^2].

The effect is largest for long outputs, because the KV cache grows with every generated
token and contiguous allocation has to reserve the maximum length up front.

[^1]: Kwon et al., Efficient Memory Management for Large Language Model Serving with
    PagedAttention, SOSP 2023.
[^2]: Throughput was measured in requests per second on ShareGPT traces.
""",
)

_doc(
    "link-mixed-everything",
    """\
## Where to find things

- Homepage: <https://example.net/x>
- Docs: [https://example.net/x/docs](https://example.net/x/docs)
- Tutorial: [Getting started](https://example.net/x/docs/start)
- Logo: ![logo](https://example.net/x/logo.png)
- Issues: [tracker][issues]
- Raw URL: https://example.net/x/raw/main/README.md

The logo is licensed under CC BY 4.0[^logo].

[issues]: https://example.net/x/issues
[^logo]: See https://creativecommons.org/licenses/by/4.0/ for the terms.
""",
)

_doc(
    "link-long-url",
    f"""\
Your presigned download link is below. It expires in one hour:

{URL_300}

If the link is cut when you copy it, the signature check fails. The same link as a
Markdown link: [download the artifact]({URL_300}).

Paste it into a browser or use `curl -O` with the URL in quotes.
""",
)

# ---------------------------------------------------------------------------------------
# Code
# ---------------------------------------------------------------------------------------

_doc(
    "code-python-fence",
    """\
Here is a function that retries a request with exponential backoff:

```python
import random
import time

import httpx


def get_with_retries(url: str, attempts: int = 5) -> httpx.Response:
    delay = 0.5
    for attempt in range(1, attempts + 1):
        try:
            response = httpx.get(url, timeout=10)
            response.raise_for_status()
            return response
        except httpx.HTTPError:
            if attempt == attempts:
                raise
            time.sleep(delay + random.random() * 0.1)
            delay *= 2
    raise AssertionError("unreachable")
```

The jitter (`random.random() * 0.1`) keeps many clients from retrying in lockstep.
""",
)

_doc(
    "code-tilde-fence",
    """\
Tildes work as fence markers too, which is handy when the code contains backticks:

~~~markdown
Use `inline code` for short identifiers and
```
fenced blocks
```
for longer listings.
~~~

The block above ends at the tildes, not at the backticks inside it.
""",
)

_doc(
    "code-nested-fence",
    """\
To show a fenced block inside a fenced block, use a longer fence outside:

````markdown
Here is some Python:

```python
print("hello, world")
```

And that is all.
````

The outer fence has four backticks, the inner one three, so the inner closing line does
not end the outer block. You can nest deeper with five backticks:

`````text
````
```
innermost
```
````
`````
""",
)

_doc(
    "code-info-strings",
    """\
Fences can carry extra information after the language name:

```python title="app.py" linenums="1"
from fastapi import FastAPI

app = FastAPI()


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}
```

```{.bash .numberLines}
uvicorn app:app --reload --port 9000
```

```diff
- timeout = 10
+ timeout = 30
```

Most renderers only look at the first word of the info string.
""",
)

_doc(
    "code-long-indented-lines",
    """\
The generated configuration has some very long lines:

```json
{
    "model": {
        "architectures": ["LlamaForCausalLM"],
        "description": "This is an extraordinarily long description string that goes on and on well past one hundred and twenty columns so that it must wrap or be cut",
        "rope_scaling": {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}
    }
}
```

```python
class Settings:
    def load(self):
        if self.path.exists():
            with self.path.open() as handle:
                data = json.load(handle); self.values.update({key: value for key, value in data.items() if key not in self.reserved_keys and value is not None})
```

Long lines like these are common in generated JSON and one-liners.
""",
)

_doc(
    "code-tabs",
    """\
Makefiles need real tabs before the recipe lines:

```make
.PHONY: test lint

test:
\tpython -m pytest -q

lint:
\truff check src tests
\tmypy src
```

And Go code is formatted with tabs by `gofmt`:

```go
func main() {
\tfor i := 0; i < 3; i++ {
\t\tfmt.Println("tick", i)
\t}
}
```

If your editor turns tabs into spaces, make fails with "missing separator".
""",
)

_doc(
    "code-blank-lines-inside",
    """\
A Python module with the usual spacing:

```python
\"\"\"Utilities.\"\"\"

import os


def home() -> str:
    return os.path.expanduser("~")



def cache_dir() -> str:

    return os.path.join(home(), ".cache")
```

PEP 8 asks for two blank lines between top-level definitions; three, as above, are
allowed but unusual.
""",
)

_doc(
    "code-in-list-items",
    """\
Follow these steps:

1. Create a virtual environment:

   ```bash
   python3 -m venv .venv
   source .venv/bin/activate
   ```

2. Install the dependencies:

   ```bash
   pip install -r requirements.txt
   ```

   If that fails on a missing compiler, install the build tools first.

3. Run the server:
   - for development: `uvicorn app:app --reload`
   - for production:

     ```bash
     gunicorn -k uvicorn.workers.UvicornWorker -w 4 app:app
     ```

That is it.
""",
)

_doc(
    "code-indented-block",
    """\
An indented code block needs four spaces and a blank line before it:

    $ vllm serve meta-llama/Llama-3.1-8B-Instruct \\
        --max-model-len 8192 \\
        --gpu-memory-utilization 0.85
    INFO:     Started server process [4242]
    INFO:     Uvicorn running on http://0.0.0.0:8000

After the server is up, query it:

    curl http://localhost:8000/v1/models

The response lists the model under `data`.
""",
)

_doc(
    "code-inline-backticks",
    """\
To write a backtick inside inline code, use a longer run of backticks around it:
`` a ` b `` shows the text a ` b, and ``` `` ``` shows two backticks.

Inline code can hold HTML as well: `<div>` is a block element, `<span>` an inline
one, and `<br/>` a line break. Writing `<script src="app.js"></script>` in inline
code shows the tag rather than running anything.

- `` `code` `` renders as code with backticks.
- `a < b && c > d` keeps its comparison operators.
- `&amp;` in code is not decoded, it stays as typed.
""",
)

_doc(
    "code-shell-session",
    """\
Here is a typical debugging session:

```console
$ nvidia-smi --query-gpu=name,memory.used,memory.total --format=csv
name, memory.used [MiB], memory.total [MiB]
NVIDIA A100-SXM4-80GB, 71234 MiB, 81920 MiB
$ ps aux | grep vllm | head -3
user   4242  98.5  3.1 python -m vllm.entrypoints.openai.api_server
$ kill -TERM 4242
```

The server releases GPU memory a few seconds after SIGTERM.
""",
)

_doc(
    "code-sql-and-output",
    """\
The query below finds the ten slowest endpoints:

```sql
SELECT endpoint,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms) AS p95,
       count(*) AS calls
FROM requests
WHERE started_at > now() - interval '1 day'
GROUP BY endpoint
HAVING count(*) > 100
ORDER BY p95 DESC
LIMIT 10;
```

Sample output:

```
 endpoint              |  p95  | calls
-----------------------+-------+-------
 /v1/chat/completions  | 18234 | 51234
 /v1/completions       |  9120 |  3410
 /v1/embeddings        |   412 | 88123
```

The chat endpoint dominates because of long generations.
""",
)

_doc(
    "code-unclosed-fence-end",
    """\
Here is the start of the script; the rest follows the same pattern:

```python
def main() -> None:
    for name in ("alpha", "beta", "gamma"):
        print(f"processing {name}")
        process(name)
""",
)

_doc(
    "code-many-small-blocks",
    """\
Each language prints a greeting differently:

Python:

```python
print("hi")
```

JavaScript:

```js
console.log("hi");
```

C:

```c
#include <stdio.h>
int main(void) { puts("hi"); return 0; }
```

Haskell:

```haskell
main :: IO ()
main = putStrLn "hi"
```

Bash:

```bash
echo hi
```

All five write "hi" followed by a newline.
""",
)

_doc(
    "code-fence-in-quote",
    """\
> Here is the snippet from the bug report:
>
> ```python
> response = client.chat.completions.create(model=name, messages=msgs, stream=True)
> for chunk in response:
>     print(chunk.choices[0].delta.content, end="")
> ```
>
> It prints `None` at the end.

The last chunk carries the finish reason and an empty delta, so `content` is `None`.
Guard it with `or ""`.
""",
)

_doc(
    "code-long-indented-deep",
    """\
The nested structure gets deep quickly:

```yaml
spec:
  template:
    spec:
      containers:
        - name: vllm
          args:
            - --model=meta-llama/Llama-3.1-70B-Instruct --tensor-parallel-size=4 --max-model-len=32768 --enable-prefix-caching --gpu-memory-utilization=0.92
          resources:
            limits:
              nvidia.com/gpu: 4
```

The args line is 150 characters long and indented by twelve spaces.
""",
)

# ---------------------------------------------------------------------------------------
# Emoji, CJK and combining accents
# ---------------------------------------------------------------------------------------

_doc(
    "emoji-skin-tones",
    """\
Here is the team status for this week:

- 👍🏽 Alice finished the migration of the billing service to the new cluster
- 👍🏻 Bob reviewed all open pull requests and merged the documentation fixes
- 👍🏿 Carol fixed the flaky integration test that failed on every third run
- 👋🏼 Dave joined the team and is setting up his development environment today
- 🙌🏾 Erin shipped the dark mode for the dashboard, users love it already
- 👏🏽 Frank cut the cold start time of the API from four seconds to one
- 💪🏻 Grace wrote the load test and found the connection pool limit
- 🤝🏿 Heidi agreed the contract with the new hosting provider

Great work, everyone! 🎉
""",
)

_doc(
    "emoji-zwj-family",
    """\
Emoji built from several code points joined by zero-width joiners:

- 👨‍👩‍👧 family with a daughter, three people in one glyph
- 👨‍👩‍👧‍👦 family with a daughter and a son
- 👩‍💻 woman technologist, used a lot in developer chats
- 🧑‍🚀 astronaut, for launch announcements
- 🏳️‍🌈 rainbow flag, which also needs a variation selector
- 👩🏽‍🔬 scientist with a medium skin tone
- 🧑‍🤝‍🧑 people holding hands
- ❤️‍🔥 heart on fire, a newer sequence

Each of these should take two terminal cells, not six or eight.
""",
)

_doc(
    "emoji-flags",
    """\
Supported regions and their languages:

1. 🇫🇷 France: French, served from Paris
2. 🇩🇪 Germany: German, served from Frankfurt
3. 🇯🇵 Japan: Japanese, served from Tokyo
4. 🇧🇷 Brazil: Portuguese, served from São Paulo
5. 🇮🇳 India: Hindi and English, served from Mumbai
6. 🇨🇦 Canada: English and French, served from Montréal
7. 🇰🇷 South Korea: Korean, served from Seoul
8. 🇿🇦 South Africa: English, served from Johannesburg

New regions are added every quarter.
""",
)

_doc(
    "emoji-cjk",
    """\
这里是中文的回答。中文、日本語、한국어 都是宽字符，每个字占两个终端列。

- 中文：简体中文用于中国大陆
- 日本語：ひらがな、カタカナ、漢字を混ぜて書きます
- 한국어：한글은 음절 단위로 씁니다
- 繁體中文：台灣與香港使用

| 语言 | 例子 | 说明 |
|------|------|------|
| 中文 | 你好，世界 | 问候 |
| 日本語 | こんにちは世界 | 挨拶 |
| 한국어 | 안녕하세요 | 인사 |

混合文本 mixed with English words should wrap correctly too.
""",
)

_doc(
    "emoji-combining-accents",
    """\
Some text uses combining accents instead of precomposed letters: cafe\u0301, re\u0301sume\u0301,
nai\u0308ve, and the Vietnamese pho\u031b\u0309. They look the same as café, résumé and naïve.

1. Combining acute: e\u0301 a\u0301 o\u0301
2. Combining diaeresis: u\u0308 o\u0308 i\u0308
3. Combining tilde: n\u0303 a\u0303
4. Stacked marks: a\u0301\u0323 e\u0302\u0301

Normalising to NFC turns most of these into single code points; a terminal should draw
each as one character either way.
""",
)

_doc(
    "emoji-mixed-list",
    """\
Release highlights 🚀

- ✅ 👍🏽 Streaming is now twice as fast for long answers and tables
- ⚠️ 👨‍👩‍👧 The family plan is deprecated and moves to team accounts
- 🇫🇷 Traduction française complète, merci à la communauté
- 🐛 Fixed a crash when the server closed the stream early
- 中文 界面 已经 完成
- 日本語 のドキュメント を追加しました
- 🧪 New test suite with more than a hundred documents
- 🔒 Security: API keys are never written to the history file

Thanks to all 42 contributors! 🙏🏾
""",
)

_doc(
    "emoji-table",
    """\
| Status | Meaning | Example |
|:------:|---------|---------|
| ✅ | passed | all 120 tests green |
| ❌ | failed | 3 tests red |
| ⏳ | running | about 2 minutes left |
| 👍🏽 | approved | by two reviewers |
| 👨‍👩‍👧 | shared | visible to the whole family group |
| 🇯🇵 | localised | Japanese strings 日本語 complete |

Hover over a status in the web UI to see details.
""",
)

_doc(
    "emoji-paragraphs",
    """\
Thanks for the kind words! 😊 I am glad the explanation helped. 👍🏽

To recap in one sentence each: 🧠 the model predicts the next token, 📦 the server
batches many requests together, and 🚄 paged attention keeps the memory use low so the
batches can be large. 👨‍👩‍👧 Families of models share a tokenizer, 🇫🇷 French text
takes more tokens than English, and 中文 text takes fewer characters but more bytes.

If you want to go further, I can write a small benchmark script for you. 🛠️
""",
)

_doc(
    "emoji-thumbs-long-items",
    """\
Review summary for the pull request:

- 👍🏽 the new parser handles every edge case in the specification, including empty input
- 👍🏽 tests cover streaming in one-character pieces, which caught two real bugs already
- 👍🏽 the documentation explains the design and the trade-offs without being too long
- 👍🏽 error messages now say what went wrong and what to do about it, which is great
- 👍🏽 the benchmark shows no regression on long answers, and a gain on short answers
- 👍🏽 the commit history is clean, each commit does one thing and says why in its body
- 👍🏽 the public API did not change, so no release notes are needed for this one
- 👍🏽 the code style matches the rest of the project and the linter passes cleanly

Approved, merge when ready.
""",
)

# ---------------------------------------------------------------------------------------
# Lists, quotes, headings, breaks
# ---------------------------------------------------------------------------------------

_doc(
    "list-nested-mixed",
    """\
Here is a study plan for the next three months:

1. Foundations
   - Linear algebra
     1. Vectors and matrices
     2. Eigenvalues
   - Probability
     - Bayes' rule
     - Distributions
2. Machine learning
   - Supervised learning
     - Linear regression
     - Decision trees
   - Unsupervised learning
3. Deep learning
   1. Backpropagation
   2. Transformers
      - Attention
      - Positional encodings

Spend about four weeks on each part, and do the exercises.
""",
)

_doc(
    "list-loose-items",
    """\
There are three things to check before deploying:

- **The configuration.** Make sure the production values are set, especially the
  database URL and the secret key. A missing value should fail at start-up, not at
  the first request.

- **The migrations.** Run them against a copy of production first. A migration that
  locks a big table can take the site down for minutes.

- **The rollback plan.** Know which version you will go back to and how long it takes.
  Practise it once on staging.

If all three are fine, deploy during working hours so that people are around.
""",
)

_doc(
    "list-ordered-start",
    """\
Continuing from the previous answer:

4. Open the dashboard and choose **Deployments**.
5. Select the failed deployment.
6. Click **Logs** and scroll to the first error.

The error usually says which environment variable is missing.

10. If not, enable debug logging.
11. Redeploy and compare the output.

Use `1)` style numbering if your renderer prefers parentheses:

1) first
2) second
""",
)

_doc(
    "list-task-items",
    """\
Migration progress:

- [x] Export the data from the old database
- [x] Write the import script
- [ ] Run the import on staging
- [ ] Compare row counts
  - [ ] users
  - [ ] orders
- [ ] Switch the application to the new database

Two of seven done; the staging import is scheduled for Thursday.
""",
)

_doc(
    "quote-nested",
    """\
The discussion went like this:

> Should we upgrade to the new version now?
>
> > Only after the release candidate has been tested for a week.
> >
> > > Agreed, and we need the benchmark numbers first.
>
> Fine, let us wait.

In the end the team upgraded two weeks later, after the benchmarks came back clean.
""",
)

_doc(
    "quote-with-list",
    """\
The style guide says:

> Keep functions short. A function should:
>
> - do one thing,
> - have a name that says what that thing is,
> - take few arguments.
>
> **Exception:** generated code.

I would add that a function that needs a comment to explain what it does probably
wants a better name instead.
""",
)

_doc(
    "heading-all-levels",
    """\
# Project overview

Some introductory text for the whole project.

## Installation

Install with pip.

### From source

Clone the repository and run `pip install -e .`.

#### Optional dependencies

Extras are listed in `setup.cfg`.

##### Development tools

Linters and test runners.

###### Footnote level

The smallest heading, rarely used.
""",
)

_doc(
    "heading-setext",
    """\
Getting started
===============

This guide takes about ten minutes.

Prerequisites
-------------

You need Python 3.10 and a GPU with at least 16 GB of memory.

First steps
-----------

Start the server, then connect the client. A line of dashes under text makes a
heading, but a line of dashes after a blank line is a thematic break:

---

That was a break.
""",
)

_doc(
    "heading-thematic-breaks",
    """\
## Part one

The first part covers the basics: installing the tools, running the first example and
reading its output.

***

## Part two

The second part builds on it.

___

## Part three

- - -

The third part is optional. It covers deployment on several machines, which most
readers will not need for a long time, and the monitoring that goes with it.

* * *

That is the whole outline; each part ends with exercises.
""",
)

_doc(
    "break-hard-breaks",
    """\
Roses are red,\x20\x20
violets are blue,\x20\x20
this poem has hard breaks,\x20\x20
and so should you.

A trailing backslash also breaks a line:\\
like this one,\\
and this one.

Without either, the lines of a paragraph
are joined with spaces
into one line.
""",
)

_doc(
    "break-address",
    """\
Send the signed form to:

ACME Corporation\x20\x20
Attn: Legal Department\x20\x20
1234 Example Street\x20\x20
Springfield, IL 62704

Or by email to legal@example.com with the subject line\\
"Signed agreement, order 5521".
""",
)

# ---------------------------------------------------------------------------------------
# Math, entities, escapes
# ---------------------------------------------------------------------------------------

_doc(
    "math-inequalities",
    """\
The condition holds when $a < b$ and $b < c$, so by transitivity $a < c$.

In code the same check reads naturally: if x < 3 and y > 2 then the point lies in the
shaded region. Note that 0 < x < 3 is valid Python, it chains the comparisons.

- For $n < 10$ use the direct formula.
- For $10 \\le n < 1000$ use the recurrence.
- For n > 1000 use the asymptotic approximation $f(n) \\approx n \\log n$.

$$
\\sum_{i=1}^{n} i = \\frac{n(n+1)}{2} \\quad \\text{for all } n > 0
$$
""",
)

_doc(
    "math-comparisons-prose",
    """\
A few rules of thumb for batch sizes:

1. If latency matters and batch < 8, the GPU is mostly idle.
2. If 8 <= batch < 64, throughput grows almost linearly.
3. If batch > 64, you are usually memory bound and gains flatten.

So pick the largest batch where p95 latency < 2 s. In symbols: maximise $b$ subject
to $L_{95}(b) < 2$. When x<y and y<z, then x<z, and similarly for >.
""",
)

_doc(
    "entity-basic",
    """\
HTML entities you will see most often:

- &amp; is the ampersand, written as `&amp;` in source
- &lt; and &gt; are the angle brackets
- &copy; 2025 Example Inc. is a typical footer
- &#x27; and &#39; are both an apostrophe
- &quot;quoted&quot; text uses &quot;
- &nbsp; is a non-breaking space
- &euro; 20 and &pound; 15 are prices

Write &amp;lt; if you want the text &lt; to appear literally.
""",
)

_doc(
    "entity-in-prose",
    """\
Tom &amp; Jerry is the classic example. In a URL query string the ampersand
separates parameters: `?a=1&b=2`, and in HTML you should write it as &amp;amp;.

Numeric references work in decimal (&#169;) and hexadecimal (&#xA9;); both give the
copyright sign. The letter &#x41; is A and &#66; is B.

If x &lt; y &amp;&amp; y &gt; z, the middle value is y.
""",
)

_doc(
    "escape-backslashes",
    r"""To show Markdown characters literally, escape them with a backslash:

- \*not emphasis\* stays with its asterisks
- \_not italic\_ keeps the underscores
- \# not a heading
- \[not a link\](nope)
- a literal backslash is written \\ and shows as one
- C:\\Users\\alice\\Documents is a Windows path

In a file name like my\_file\_name.txt the escapes keep the underscores visible, though
most renderers would not italicise inside a word anyway.

1\. This line starts with a number but is not a list item.
""",
)

_doc(
    "escape-mixed",
    r"""Escaping in practice:

The regex `\d+\.\d+` matches a version number, and in prose you might write it as
\d+\.\d+ with escaped dots. The glob \*.py matches Python files.

Pricing: 5\* rating, \$10 per month, 100% satisfaction, 2 \+ 2 = 4.

| Pattern | Meaning |
|---------|---------|
| `\*` | a literal asterisk |
| `\\` | a literal backslash |
| `\_` | a literal underscore |
""",
)

# ---------------------------------------------------------------------------------------
# Long tokens, emphasis, long paragraphs
# ---------------------------------------------------------------------------------------

_doc(
    "long-token-word",
    f"""\
The image digest is:

{TOKEN_300}

Pin it in your deployment instead of a tag, so that every node runs exactly the same
image. The digest is long, but copying it whole matters: a single wrong character and
the pull fails.

- Tag: `vllm/vllm-openai:latest`
- Digest: `{TOKEN_300[:40]}`
""",
)

_doc(
    "long-token-in-list",
    f"""\
Here are the values you need:

1. Access key ID: AKIAEXAMPLEKEY123456
2. Session token: {TOKEN_300}
3. Region: eu-central-1

Store them in the credentials file, not in your shell history.
""",
)

_doc(
    "long-url-in-table",
    f"""\
| Artifact | Location |
|----------|----------|
| weights | {URL_300} |
| tokenizer | https://storage.example.com/artifacts/tokenizer.json |

The first link is presigned and expires in one hour.
""",
)

_doc(
    "emph-nesting",
    """\
Markdown lets you **combine *italic* inside bold** and *put **bold** inside italic*.
You can also ~~strike out **bold** text~~ or ***use both at once***.

- **Bold with `code` inside**
- *Italic with a [link](https://example.com/) inside*
- ~~Deleted *and italic*~~
- __Underscores__ and _underscores_ work the same as asterisks.
- Intra-word: un*frigging*believable, but snake_case_names stay plain.

***Important:*** the ~~old~~ **new** behaviour is the *default* now.
""",
)

_doc(
    "emph-many-paragraphs",
    """\
**Short answer:** yes, but *only* if the model fits in memory.

**Longer answer:** the KV cache needs memory proportional to the number of tokens in
flight. With ***many*** concurrent users and long contexts, it can exceed the weights
themselves. That is why vLLM's `--gpu-memory-utilization` matters: it decides how much
is left for the cache after the weights are loaded.

**What to do:** start with the default of `0.9`, watch the ~~logs~~ metrics for
*preemption* events, and lower `--max-num-seqs` if they appear often.
""",
)

_doc(
    "para-long",
    """\
Large language models generate text one token at a time. Each step takes the whole
sequence so far, runs it through the network, and produces a probability distribution
over the vocabulary; the sampler then picks one token from it, appends it, and the next
step begins. Because the network would otherwise recompute the same attention keys and
values for the prefix at every step, inference engines keep them in a key value cache,
which grows by one entry per layer and per token. For long conversations and many
simultaneous users, this cache dominates memory use, and managing it well is the main
difference between a naive implementation and a production server. Paged attention
splits the cache into fixed-size blocks that need not be contiguous, which removes
fragmentation and makes it cheap to share blocks between sequences that start with the
same prompt, such as a long system message used by every request.

In short: the weights are fixed, the cache is what you tune.
""",
)

_doc(
    "para-two-long",
    """\
Streaming matters for perceived latency more than for total latency. When an answer
takes twenty seconds to generate, showing the first words after half a second makes
the wait feel short, because the reader starts reading immediately and usually reads
slower than the model writes. The total time to the last token does not change at all,
and neither does the cost, but the experience is completely different, which is why
every chat interface streams by default and why a renderer that stutters, repeats
lines or loses words while streaming is so noticeable.

A second benefit is cancellation. If the first sentences show the model misunderstood
the question, the user can stop it at once, saving both time and compute. A client
should therefore make interrupting cheap and keep the partial answer visible, so that
the user can refer to it when rephrasing the question.
""",
)

# ---------------------------------------------------------------------------------------
# Whole answers mixing the classes above
# ---------------------------------------------------------------------------------------

_doc(
    "mixed-howto-answer",
    """\
## Serving a model with vLLM

Great question! Here is a complete walkthrough.

### 1. Install

```bash
pip install vllm
```

### 2. Start the server

```bash
vllm serve Qwen/Qwen2.5-7B-Instruct \\
    --max-model-len 16384 \\
    --enable-prefix-caching
```

### 3. Query it

| Endpoint | Method | Purpose |
|----------|--------|---------|
| `/v1/models` | GET | list the served models |
| `/v1/chat/completions` | POST | chat, optionally streamed |
| `/v1/completions` | POST | plain completion |
| `/health` | GET | liveness probe |

```python
from openai import OpenAI

client = OpenAI(base_url="http://localhost:8000/v1", api_key="EMPTY")
reply = client.chat.completions.create(
    model="Qwen/Qwen2.5-7B-Instruct",
    messages=[{"role": "user", "content": "Hello!"}],
)
print(reply.choices[0].message.content)
```

> **Note:** the `api_key` can be anything unless you start the server with `--api-key`.

### Troubleshooting

- *CUDA out of memory*: lower `--gpu-memory-utilization` or `--max-model-len`.
- *Model not found*: check the name at <https://huggingface.co/models>.
- *Slow first request*: the first call compiles kernels; later ones are fast.

Let me know if you want a Docker Compose file as well! 🚀
""",
)

_doc(
    "mixed-code-review",
    """\
I looked at your function and found three issues.

**1. The mutable default argument**

```python
def add_item(item, items=[]):
    items.append(item)
    return items
```

The list is created once, when the function is defined, so every call shares it. Use
`None` instead:

```python
def add_item(item, items=None):
    if items is None:
        items = []
    items.append(item)
    return items
```

**2. Comparing with `is`**

`if count is 0:` works by accident for small integers. Write `if count == 0:`.

**3. The bare `except`**

`except:` also catches `KeyboardInterrupt` and `SystemExit`. Catch `Exception` at most,
or better the specific error you expect, such as `except (KeyError, ValueError):`.

Everything else looks fine. The naming is clear and the docstrings are helpful.
""",
)

_doc(
    "mixed-comparison-answer",
    """\
# PostgreSQL vs. SQLite

Both are excellent, but they target different situations.

| Aspect | PostgreSQL | SQLite |
|--------|------------|--------|
| Architecture | client/server | embedded library |
| Concurrency | many writers (MVCC) | one writer at a time |
| Setup | a service to run | a single file |
| Types | rich: `jsonb`, arrays, ranges | dynamic typing |
| Best for | web apps, analytics | mobile apps, tests, small tools |

## When to choose SQLite

1. The data lives with one application.
2. Writes are rare compared with reads.
3. You want zero administration.

## When to choose PostgreSQL

1. Several services share the data.
2. You need concurrent writes, roles and permissions.
3. You need extensions such as PostGIS or pgvector.

> SQLite is not a toy: it handles databases of many gigabytes and is probably the most
> deployed database in the world.

**Bottom line:** start with SQLite for prototypes, move to PostgreSQL when you need a
server anyway.
""",
)

_doc(
    "mixed-explanation-math",
    """\
### Why does attention scale quadratically?

For a sequence of $n$ tokens, self-attention compares every token with every other
token, so it computes an $n \\times n$ matrix of scores. Doubling the context therefore
quadruples that work: the cost is $O(n^2 d)$ where $d$ is the head dimension.

In practice:

- For $n < 2048$ the quadratic term is small compared with the feed-forward layers.
- For $n > 32768$ it dominates, and memory becomes the limit before compute does.
- FlashAttention does not change the complexity; it avoids writing the $n \\times n$
  matrix to slow memory, which makes it **much** faster in practice.

A quick estimate in code:

```python
def attention_flops(n: int, d: int, heads: int, layers: int) -> int:
    return 4 * n * n * d * heads * layers  # QK^T and the weighted sum of V
```

For Llama-3-8B (32 layers, 32 heads, $d = 128$) and $n = 8192$ that is about
$3.5 \\times 10^{13}$ operations for attention alone.
""",
)

_doc(
    "mixed-troubleshooting",
    """\
The error `RuntimeError: CUDA error: out of memory` while loading means the weights do
not fit. Let us go through the options, cheapest first.

1. **Check what else uses the GPU.**

   ```console
   $ nvidia-smi
   ```

   Another process (a notebook kernel, a previous server) may hold memory.

2. **Lower the context length.** `--max-model-len 8192` reserves less cache.
3. **Quantize.** An AWQ or GPTQ checkpoint needs about a quarter of the memory:
   - `Qwen/Qwen2.5-7B-Instruct-AWQ`
   - `TheBloke/Mistral-7B-Instruct-v0.2-GPTQ`
4. **Split across GPUs** with `--tensor-parallel-size 2`.

If none of that helps, post the full log; the line that starts with
`INFO ... model weights took` tells how much the weights use.
""",
)

_doc(
    "mixed-html-and-think",
    """\
Your template renders the assistant turn as `<|im_start|>assistant` followed by
<think>, and the model then writes its reasoning. The problem is the order of the
closing tags in your post-processing:

```python
answer = raw.split("</think>")[-1]
answer = answer.replace("<br>", "\\n").replace("&amp;", "&")
```

If the answer itself mentions </think> (as this one does), `split` keeps only the text
after the last occurrence. Use `partition` on the first one instead, and unescape with
`html.unescape` so that &lt;, &gt; and &amp; all decode.

<div class="warning">
Do not strip tags with a regular expression such as `<[^>]+>`.
It would also delete Vec<T> and a < b.
</div>

That should fix both symptoms.
""",
)

_doc(
    "mixed-api-reference",
    """\
## `POST /v1/chat/completions`

Creates a chat completion.

### Request body

| Field | Type | Required | Description |
|-------|------|:--------:|-------------|
| `model` | string | yes | the model name from `/v1/models` |
| `messages` | array | yes | the conversation so far |
| `stream` | boolean | no | send server-sent events |
| `temperature` | number | no | 0 to 2, default 1 |
| `max_tokens` | integer | no | limit on generated tokens |
| `stop` | string \\| array | no | sequences that end the answer |

### Example

```http
POST /v1/chat/completions HTTP/1.1
Content-Type: application/json

{"model": "m", "messages": [{"role": "user", "content": "Hi"}], "stream": true}
```

### Response

Each event is a line `data: {...}` followed by a blank line; the last is
`data: [DONE]`. See [the OpenAI docs](https://platform.openai.com/docs/api-reference/chat)
for the full schema.
""",
)

_doc(
    "mixed-recipe",
    """\
# Classic pancakes 🥞

Makes about 8 pancakes.

## Ingredients

- 200 g flour
- 2 eggs
- 300 ml milk
- 1 tbsp sugar
- a pinch of salt
- butter for the pan

## Method

1. Whisk the flour, sugar and salt.
2. Add the eggs and half the milk; whisk until smooth.
3. Add the rest of the milk.
4. Rest the batter for **30 minutes**.
5. Heat a little butter in a pan over medium heat.
6. Pour a ladle of batter, cook until bubbles appear, flip, cook 1 more minute.

> *Tip:* the first pancake is always a test. Do not judge the batch by it.

Serve with maple syrup, lemon &amp; sugar, or fresh berries.
""",
)

_doc(
    "mixed-git-answer",
    """\
To undo the last commit but keep the changes in your working tree:

```bash
git reset --soft HEAD~1
```

Other variants, depending on what you want:

| Goal | Command |
|------|---------|
| keep changes staged | `git reset --soft HEAD~1` |
| keep changes unstaged | `git reset HEAD~1` |
| throw changes away | `git reset --hard HEAD~1` |
| undo a pushed commit | `git revert <commit-sha>` |

⚠️ **Careful:** `--hard` deletes uncommitted work. If you ran it by mistake,
`git reflog` shows where HEAD was, and `git reset --hard HEAD@{1}` goes back.

If the commit was already pushed, prefer `git revert` so that you do not rewrite
history others may have pulled.
""",
)

_doc(
    "mixed-docker-compose",
    """\
Here is a Compose file that runs the server and a client side by side:

```yaml
services:
  vllm:
    image: vllm/vllm-openai:latest
    command: ["--model", "Qwen/Qwen2.5-7B-Instruct", "--max-model-len", "16384"]
    ports:
      - "8000:8000"
    deploy:
      resources:
        reservations:
          devices:
            - driver: nvidia
              count: 1
              capabilities: [gpu]
    volumes:
      - ~/.cache/huggingface:/root/.cache/huggingface

  chat:
    image: python:3.12-slim
    command: sh -c "pip install vllm-chat && vllm-chat --url http://vllm:8000/v1"
    stdin_open: true
    tty: true
    depends_on:
      - vllm
```

Start it with `docker compose up -d vllm`, wait for the model to load, then
`docker compose run --rm chat`.

- The volume keeps downloaded weights between restarts.
- `stdin_open` and `tty` give the client a real terminal.
""",
)

_doc(
    "mixed-regex-answer",
    r"""The regular expression you want is:

```
^(?<user>[\w.+-]+)@(?<domain>[\w-]+\.)+[a-z]{2,}$
```

Broken down:

| Part | Meaning |
|------|---------|
| `^` and `$` | anchor to the whole string |
| `(?<user>[\w.+-]+)` | one or more word characters, dots, plus or minus |
| `@` | a literal at sign |
| `(?<domain>[\w-]+\.)+` | labels ending in a dot |
| `[a-z]{2,}` | the top-level domain |

In Python the named groups use `(?P<user>...)` instead of `(?<user>...)`. And please
remember: no regex validates e-mail addresses perfectly; send a confirmation mail.
""",
)

_doc(
    "mixed-kubernetes",
    """\
A readiness probe keeps traffic away from a pod until the model is loaded:

```yaml
readinessProbe:
  httpGet:
    path: /health
    port: 8000
  initialDelaySeconds: 60
  periodSeconds: 10
  failureThreshold: 30
```

Why these numbers:

1. **initialDelaySeconds: 60** because loading weights takes at least a minute.
2. **periodSeconds: 10** is frequent enough without flooding the logs.
3. **failureThreshold: 30** gives the pod five more minutes before it is marked
   unready, which matters for 70B models.

For a liveness probe, use a much larger threshold, otherwise Kubernetes kills the pod
while it is still loading. ⏳
""",
)

# ---------------------------------------------------------------------------------------
# More of the harder classes: HTML, think, emoji, CRLF
# ---------------------------------------------------------------------------------------

_doc(
    "html-angle-placeholders",
    """\
Replace the placeholders before running the command:

```bash
ssh <user>@<host> -p <port>
```

For example, ssh alice@build.example.com -p 2222. In the docs the placeholders are
written as <user>, <host> and <port>; some style guides use {user} or USER instead.

1. <user> is your login name.
2. <host> is the machine.
3. <port> defaults to 22.

Do not type the angle brackets themselves: `<alice>` would be read by the shell as a
redirection from a file named alice.
""",
)

_doc(
    "html-xml-example",
    """\
A minimal Maven dependency looks like this:

```xml
<dependency>
    <groupId>org.apache.commons</groupId>
    <artifactId>commons-lang3</artifactId>
    <version>3.14.0</version>
</dependency>
```

Put it inside <dependencies> in your pom.xml. The element <scope>test</scope> limits
a dependency to tests.

<dependencies>
  <dependency>junit</dependency>
</dependencies>

The block above was written without a fence, so a Markdown renderer sees it as raw
HTML; its words should still reach the reader.
""",
)

_doc(
    "think-inline-code-and-prose",
    """\
To turn thinking off for one request, send `"chat_template_kwargs": {"enable_thinking":
false}`. The template then emits an empty `<think></think>` pair and the model answers
right away.

Here is what the start of such an answer looks like, without a code block:
<think></think>
The answer begins here.

With thinking on, the content starts with reasoning and you will see </think> only
once the model is done thinking.
""",
)

_doc(
    "emoji-cjk-list",
    """\
常用的命令如下：

1. 安装：`pip install vllm-chat`，大约需要一分钟
2. 启动：`vllm-chat --url http://localhost:8000/v1`
3. 退出：按 Ctrl+D 或输入 /exit
4. 保存对话：/save 我的对话
5. 日本語のユーザーは、設定ファイルで言語を変更できます
6. 한국어 사용자도 마찬가지입니다
7. 混合 English 和中文 的句子也能正确换行显示
8. 最后，祝你使用愉快 🎉

如有问题，请在 GitHub 上提交 issue。
""",
)

_doc(
    "emoji-family-long-items",
    """\
Family plan members:

- 👨‍👩‍👧 The Smith household, three members, sharing one subscription since March
- 👨‍👩‍👧 The Garcia household, three members, upgraded to the premium tier in May
- 👨‍👩‍👧 The Nguyen household, three members, using the offline mode on long flights
- 👨‍👩‍👧 The Okafor household, three members, asked about adding a fourth profile
- 👨‍👩‍👧 The Kowalski household, three members, moved from the annual to monthly plan
- 👨‍👩‍👧 The Tanaka household, three members, requested invoices in Japanese yen
- 👨‍👩‍👧 The Müller household, three members, enabled parental controls this week
- 👨‍👩‍👧 The Silva household, three members, renewed early with the loyalty discount

All eight households renew automatically next month.
""",
)

_doc("crlf-html-generics", _crlf(by_id("html-generics-java")))
_doc("crlf-think-midline", _crlf(by_id("think-midline")))
_doc("crlf-nested-fence", _crlf(by_id("code-nested-fence")))
_doc("crlf-escaped-pipes", _crlf(by_id("table-escaped-pipes")))
_doc("crlf-emoji-skin-tones", _crlf(by_id("emoji-skin-tones")))
_doc("crlf-hard-breaks", _crlf(by_id("break-hard-breaks")))
_doc("crlf-mixed-howto", _crlf(by_id("mixed-howto-answer")))
