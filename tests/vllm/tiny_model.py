"""Build a tiny randomly initialised chat model that vLLM's CPU build can serve.

Run with the real-server environment's interpreter (it has torch, transformers and
tokenizers): `python tests/vllm/tiny_model.py OUT_DIR [--head-dim N]`. Nothing is
downloaded: the tokenizer is a byte-level BPE trained on the interpreter's own
standard library sources and licence, the weights are random (seeded, so the same
directory comes out every time).

The default head size is 32: vLLM's CPU attention kernel rejects 16 at the first
request (the engine dies mid-stream), which `--head-dim 16` builds on purpose.
"""

from __future__ import annotations

import argparse
import json
import sys
import sysconfig
from collections.abc import Iterator
from pathlib import Path

VOCAB_SIZE = 2048
HIDDEN = 128
LAYERS = 2
MAX_POSITIONS = 2048
TRAINING_BYTES = 4_000_000

SPECIAL_TOKENS = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<tool_call>",
    "</tool_call>",
    "<tool_response>",
    "</tool_response>",
]

# ChatML, as Qwen2 and Hermes models use it: system, user, assistant (with tool
# calls) and tool messages, and the tool definitions in the system turn.
CHAT_TEMPLATE = """\
{%- macro text(content) %}
{%- if content is string %}{{- content }}
{%- elif content %}{%- for part in content %}{%- if part.type == 'text' %}{{- part.text }}
{%- endif %}{%- endfor %}{%- endif %}
{%- endmacro %}
{%- if tools %}
{{- '<|im_start|>system\\n' }}
{%- if messages[0].role == 'system' %}{{- text(messages[0].content) + '\\n\\n' }}{%- endif %}
{{- '# Tools\\n\\nYou may call one or more functions. Function signatures:\\n<tools>' }}
{%- for tool in tools %}{{- '\\n' }}{{- tool | tojson }}{%- endfor %}
{{- '\\n</tools>\\n\\nReturn each call as <tool_call>{"name": ..., "arguments": ...}</tool_call>'
    + '<|im_end|>\\n' }}
{%- elif messages[0].role == 'system' %}
{{- '<|im_start|>system\\n' + text(messages[0].content) + '<|im_end|>\\n' }}
{%- endif %}
{%- for message in messages %}
{%- if message.role == 'system' %}
{%- if not loop.first %}
{{- '<|im_start|>system\\n' + text(message.content) + '<|im_end|>\\n' }}
{%- endif %}
{%- elif message.role == 'user' %}
{{- '<|im_start|>user\\n' + text(message.content) + '<|im_end|>\\n' }}
{%- elif message.role == 'assistant' %}
{{- '<|im_start|>assistant\\n' + text(message.content) }}
{%- for call in message.tool_calls | default([]) %}
{%- set fn = call.function if call.function is defined else call %}
{{- '\\n<tool_call>\\n{"name": "' + fn.name + '", "arguments": ' }}
{%- if fn.arguments is string %}{{- fn.arguments }}
{%- else %}{{- fn.arguments | tojson }}{%- endif %}
{{- '}\\n</tool_call>' }}
{%- endfor %}
{{- '<|im_end|>\\n' }}
{%- elif message.role == 'tool' %}
{{- '<|im_start|>user\\n<tool_response>\\n' + text(message.content)
    + '\\n</tool_response><|im_end|>\\n' }}
{%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}
"""


def training_text() -> Iterator[str]:
    """The interpreter's licence and standard library sources, about TRAINING_BYTES."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    sent = 0
    for path in [stdlib / "LICENSE.txt", *sorted(stdlib.glob("*.py"))]:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        yield text
        sent += len(text)
        if sent >= TRAINING_BYTES:
            return


def build_tokenizer(out: Path) -> dict[str, int]:
    """Train the tokenizer, save it with its chat template; the special tokens' ids."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(training_text(), trainer=trainer)
    wrapped = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token=None,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        unk_token=None,
        additional_special_tokens=SPECIAL_TOKENS[3:],
        model_max_length=MAX_POSITIONS,
    )
    wrapped.chat_template = CHAT_TEMPLATE
    wrapped.save_pretrained(str(out))
    return {token: wrapped.convert_tokens_to_ids(token) for token in SPECIAL_TOKENS}


def build_model(out: Path, ids: dict[str, int], head_dim: int) -> None:
    """Random Llama weights (safetensors), its config and generation config."""
    import torch
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=VOCAB_SIZE,
        hidden_size=HIDDEN,
        intermediate_size=2 * HIDDEN,
        num_hidden_layers=LAYERS,
        num_attention_heads=HIDDEN // head_dim,
        num_key_value_heads=HIDDEN // head_dim,
        head_dim=head_dim,
        max_position_embeddings=MAX_POSITIONS,
        bos_token_id=None,
        eos_token_id=ids["<|im_end|>"],
        pad_token_id=ids["<|endoftext|>"],
        tie_word_embeddings=True,
        torch_dtype="float32",
    )
    LlamaForCausalLM(config).save_pretrained(str(out), safe_serialization=True)
    GenerationConfig(
        eos_token_id=[ids["<|im_end|>"], ids["<|endoftext|>"]],
        pad_token_id=ids["<|endoftext|>"],
    ).save_pretrained(str(out))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--head-dim", type=int, default=32)
    parser.add_argument("--builder", default="", help="recorded in tiny-model.json")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    ids = build_tokenizer(args.out)
    build_model(args.out, ids, args.head_dim)
    (args.out / "tiny-model.json").write_text(
        json.dumps(
            {"head_dim": args.head_dim, "builder": args.builder, "special_tokens": ids}, indent=1
        )
        + "\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
