#!/usr/bin/python3
"""Render every chat template in testdata/templates on a fixed set of conversations with a
real Jinja engine, the way Hugging Face transformers' apply_chat_template does, and write
testdata/golden.json. The Go test (golden_test.go) must reproduce every string byte for byte.

Run from anywhere with Debian's python3-jinja2:

    /usr/bin/python3 pkg/chat/testdata/gen_golden.py

Environment as in transformers (chat_template_utils._compile_jinja_template):
ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True) with the loopcontrols
extension, a raise_exception global, and the special tokens passed as plain strings.
"""
import json
import os

import jinja2
import jinja2.ext
from jinja2.exceptions import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

HERE = os.path.dirname(os.path.abspath(__file__))

# Special tokens each template is rendered with (bos_token/eos_token of its tokenizer_config.json).
TOKENS = {
    "deepseek": {"bos_token": "<｜begin▁of▁sentence｜>", "eos_token": "<｜end▁of▁sentence｜>"},
    "deepseek3": {"bos_token": "<｜begin▁of▁sentence｜>", "eos_token": "<｜end▁of▁sentence｜>"},
    "llama3": {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"},
    "chatml": {"bos_token": "", "eos_token": "<|im_end|>"},
    "llama2": {"bos_token": "<s>", "eos_token": "</s>"},
    "tiny": {"bos_token": "<|bos|>", "eos_token": "<|end|>"},
}


def raise_exception(message):
    raise TemplateError(message)


def compile_template(source):
    env = ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols]
    )
    env.globals["raise_exception"] = raise_exception
    return env.from_string(source)


def u(q):
    return {"role": "user", "content": q}


def a(x):
    return {"role": "assistant", "content": x}


# Conversations: system prompt ("" = none) and user/assistant messages.
CASES = [
    ("one_turn_en", "", [u("Who are you?"), a("I am an AI assistant.")]),
    ("one_turn_system", "You are a helpful assistant.", [u("Hi"), a("Hello! How can I help?")]),
    ("prompt_only", "", [u("What is 2+2?")]),
    ("prompt_only_system", "Answer briefly.", [u("What is 2+2?")]),
    ("two_turns_zh", "", [u("你好，请介绍一下你自己。"), a("你好！我是一个人工智能助手。"),
                          u("你会说英文吗？"), a("会的，I can speak English.")]),
    ("three_turns_system_zh", "你是一个乐于助人的助手。",
     [u("我叫小明。"), a("你好，小明！"), u("今天天气很好。"), a("是的，适合出去散步。"),
      u("我叫什么名字？"), a("你叫小明。")]),
    ("three_turns_open", "System prompt in English, 中文也可以。",
     [u("Remember the number 42."), a("Got it: 42."), u("What number did I say?"),
      a("You said 42."), u("Double it.")]),
    ("six_turns", "",
     [m for k in range(6) for m in (u(f"Question {k}: what is {k}+{k}?"), a(f"{k}+{k} = {2 * k}."))]),
    ("five_turns_mixed", "Be concise. 简洁回答。",
     [m for k in range(5) for m in (u(f"第{k}个问题 / question {k}"), a(f"回答 {k} / answer {k}"))]),
    ("special_tokens_in_content", "",
     [u("Please print <｜end▁of▁sentence｜> and <｜User｜> literally."),
      a("Here: <｜end▁of▁sentence｜><｜Assistant｜> done."),
      u("And <|im_end|><|im_start|>assistant\n and <|eot_id|>?"),
      a("<|im_end|> <|start_header_id|>user<|end_header_id|> </s> <s>[INST] [/INST]")]),
    ("tiny_tokens_in_content", "<|system|>not really<|end|>",
     [u("<|assistant|>fake<|end|>"), a("<|bos|><|user|>also fake<|end|>")]),
    ("role_words_in_content", "",
     [u("User: hi\n\nAssistant: hello"), a("User: again?\n\nAssistant:")]),
    ("jinja_syntax_in_content", "{{ bos_token }}",
     [u("{% if true %}yes{% endif %} {{ eos_token }}"), a("{# comment #} {{ 1 + 1 }} {% raw %}")]),
    ("whitespace_edges", "  padded system \n",
     [u("  leading and trailing spaces  "), a("\n\nanswer with newlines\n\n"),
      u("\ttab\t"), a(" x ")]),
    ("python_whitespace", "",
     [u("\u3000全角空格\u3000"), a("\x1cfile-separator\x1f\u00a0"),
      u("\u200bzero width is not whitespace\u200b"), a("\ufeffbom\u2028line sep\u2029")]),
    ("whitespace_only_user", "system here", [u("   "), a("ok")]),
    ("empty_assistant", "", [u("say nothing"), a("")]),
    ("multiline_code", "",
     [u("Write hello world in Go."),
      a("```go\npackage main\n\nimport \"fmt\"\n\nfunc main() {\n\tfmt.Println(\"hello\")\n}\n```")]),
    ("emoji_and_math", "", [u("😀 🚀 ∑ x² ≤ ∞"), a("👍 √2 ≈ 1.414")]),
    ("quotes_backslashes", "C:\\path\\to 'quoted' \"double\"",
     [u("a\\nb is not a newline"), a("'single' \"double\" \\\\")]),
]


def main():
    templates = {}
    for name in sorted(TOKENS):
        with open(os.path.join(HERE, "templates", name + ".jinja"), encoding="utf-8") as f:
            templates[name] = compile_template(f.read())
    out = []
    for case_name, system, messages in CASES:
        full = ([{"role": "system", "content": system}] if system else []) + messages
        for agp in (False, True):
            rendered = {}
            for name, tpl in templates.items():
                rendered[name] = tpl.render(messages=full, add_generation_prompt=agp,
                                            tools=None, documents=None, **TOKENS[name])
            out.append({
                "name": case_name,
                "system": system,
                "messages": messages,
                "add_generation_prompt": agp,
                "rendered": rendered,
            })
    with open(os.path.join(HERE, "golden.json"), "w", encoding="utf-8", newline="\n") as f:
        # Code points Python's str.isspace() (used by strip() and Jinja's trim) accepts.
        spaces = [c for c in range(0x110000) if chr(c).isspace()]
        json.dump({"jinja2_version": jinja2.__version__, "py_whitespace": spaces, "cases": out}, f,
                  ensure_ascii=False, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
