#!/usr/bin/env python3
"""Check golden.json against transformers' own apply_chat_template (tokenize=False).

golden.json is written by gen_golden.py with python3-jinja2 in the environment transformers
uses; this script confirms that transformers itself renders every golden conversation and
context to the same string. It needs `pip install transformers` (not part of `make test`):

    python3 pkg/chat/testdata/check_transformers.py

The tokenizer is a minimal PreTrainedTokenizerFast without special tokens; the special tokens
each template sees are passed as keyword arguments, as golden.json lists them.
"""
import json
import os
import sys

import transformers
from tokenizers import Tokenizer, models
from transformers import PreTrainedTokenizerFast

HERE = os.path.dirname(os.path.abspath(__file__))

# Differences seen with transformers 5.24.0, and why (not engine differences).
KNOWN = {
    "deepseek3_tool_calls": "transformers 5 drops a message's null content before rendering, and "
                            "DeepSeek-V3's template reads message['content'] to test `is none`",
}


def main():
    with open(os.path.join(HERE, "golden.json"), encoding="utf-8") as f:
        g = json.load(f)
    sources = {}
    for name in g["tokens"]:
        with open(os.path.join(HERE, "templates", name + ".jinja"), encoding="utf-8", newline="") as f:
            sources[name] = f.read()
    tok = PreTrainedTokenizerFast(tokenizer_object=Tokenizer(models.WordLevel({"<unk>": 0}, unk_token="<unk>")))
    bad = n = known = 0

    def check(where, name, messages, want, **kw):
        nonlocal bad, n, known
        n += 1
        try:
            got = tok.apply_chat_template(messages, chat_template=sources[name], tokenize=False,
                                          **g["tokens"][name], **kw)
        except Exception as e:  # noqa: BLE001 - reported, counted as a difference
            got = f"error: {e}"
        if got != want:
            if where in KNOWN:
                print(f"{where}/{name}: differs as known: {KNOWN[where]}")
                known += 1
                return
            bad += 1
            print(f"{where}/{name}: transformers {got!r}\n  golden {want!r}")

    for c in g["cases"]:
        msgs = ([{"role": "system", "content": c["system"]}] if c["system"] else []) + c["messages"]
        for name, want in c["rendered"].items():
            check(c["name"], name, msgs, want, add_generation_prompt=c["add_generation_prompt"])
    for c in g["contexts"]:
        ctx = dict(c["context"])
        msgs = ctx.pop("messages")
        check(c["name"], c["template"], msgs, c["rendered"], **ctx)
    print(f"transformers {transformers.__version__}: {n - bad - known} of {n} renderings equal golden.json, "
          f"{known} known differences, {bad} others")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
