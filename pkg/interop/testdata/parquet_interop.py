#!/usr/bin/env python3
"""Parquet both ways between LoRA Lab (pkg/data) and Hugging Face datasets / pyarrow.

    parquet_interop.py write DIR        write conversation Parquet files the way datasets and
                                        pyarrow do, and DIR/expected.json with their rows as
                                        written (the committed testdata/parquet was made so)
    parquet_interop.py read FILE OUT    datasets.load_dataset("parquet", data_files=FILE) and
                                        write its rows to OUT as JSON

The files cover both layouts pkg/data reads, OpenAI `messages: list<struct<role, content>>`
and ShareGPT `conversations: list<struct<from, value>>`, with nulls (a null system prompt, a null
or empty list, null fields inside a message), extra columns to ignore (ints, nested lists,
structs), dictionary-encoded and plain columns, zstd / snappy / uncompressed pages, one large
row group and many small ones, large_string/large_list types, long and non-ASCII texts.
Deterministic: the same versions write the same bytes.
"""
import json, os, random, sys

import pyarrow as pa
import pyarrow.parquet as pq

WORDS = ["LoRA", "rank", "alpha", "学习率", "梯度", "batch", "token", "你好", "世界", "🙂", "adapter",
         "merge", "the", "a", "of", "训练", "数据", "loss", "\n", "  ", "\t", "code: `x := 1`"]


def text(rng, n):
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(0, n)))


def openai_rows(rng, n):
    rows = []
    for i in range(n):
        k = rng.randint(1, 6)
        msgs = [{"role": ("user", "assistant")[j % 2], "content": text(rng, 30)} for j in range(k)]
        r = {"id": i, "system": text(rng, 8) if rng.random() < 0.5 else None, "messages": msgs,
             "tags": [text(rng, 2) for _ in range(rng.randint(0, 3))], "meta": {"source": "gen", "score": rng.random()}}
        if i % 97 == 5:
            r["messages"] = None  # a null list
        elif i % 89 == 7:
            r["messages"] = []  # an empty list
        elif i % 83 == 11:
            msgs[0]["content"] = None  # a null field inside a message
        elif i % 79 == 13:
            msgs.insert(0, {"role": "system", "content": text(rng, 5)})  # system as a message
        rows.append(r)
    if n >= 1000:  # one long message (120 KB of UTF-8) spanning many pages
        rows[3]["messages"] = [{"role": "user", "content": "长" * 40000}, {"role": "assistant", "content": "ok"}]
    return rows


def sharegpt_rows(rng, n):
    rows = []
    for i in range(n):
        k = rng.randint(1, 6)
        conv = [{"from": ("human", "gpt")[j % 2], "value": text(rng, 25)} for j in range(k)]
        if i % 61 == 3:
            conv.insert(0, {"from": "system", "value": text(rng, 6)})
        if i % 71 == 9:
            conv[-1]["value"] = None
        rows.append({"conversations": conv if i % 67 != 4 else None, "id": f"row-{i}"})
    return rows


def openai_schema(large=False):
    s = pa.large_string() if large else pa.string()
    msg = pa.struct([("role", pa.string()), ("content", s)])
    return pa.schema([("id", pa.int64()), ("system", s),
                      ("messages", pa.large_list(msg) if large else pa.list_(msg)),
                      ("tags", pa.list_(pa.string())),
                      ("meta", pa.struct([("source", pa.string()), ("score", pa.float64())]))])


def write(out):
    os.makedirs(out, exist_ok=True)
    rng = random.Random(2024)
    expected = {}

    def raw(rows, key):
        return [{"system": r.get("system"), key: r[key]} for r in rows]

    # 1. pyarrow, OpenAI layout, zstd, dictionary encoding, one large row group.
    rows = openai_rows(rng, 1000)
    pq.write_table(pa.Table.from_pylist(rows, schema=openai_schema()), os.path.join(out, "openai_zstd_dict.parquet"),
                   compression="zstd", use_dictionary=True, row_group_size=1 << 20, data_page_size=8 << 10)
    expected["openai_zstd_dict.parquet"] = raw(rows, "messages")
    # 2. pyarrow, OpenAI layout with large_string/large_list, snappy, no dictionary, small row groups.
    rows = openai_rows(rng, 300)
    pq.write_table(pa.Table.from_pylist(rows, schema=openai_schema(large=True)), os.path.join(out, "openai_large_snappy_plain.parquet"),
                   compression="snappy", use_dictionary=False, row_group_size=37)
    expected["openai_large_snappy_plain.parquet"] = raw(rows, "messages")
    # 3. pyarrow, ShareGPT layout, snappy, dictionary only on the role column, uncompressed data page v2.
    rows = sharegpt_rows(rng, 400)
    pq.write_table(pa.Table.from_pylist(rows), os.path.join(out, "sharegpt_snappy.parquet"), compression="snappy",
                   use_dictionary=["conversations.list.element.from"], row_group_size=120, data_page_version="2.0")
    expected["sharegpt_snappy.parquet"] = raw(rows, "conversations")
    # 4. datasets: Dataset.from_list(...).to_parquet, its own defaults.
    import datasets
    rows = openai_rows(rng, 200)
    for r in rows:  # datasets infers one struct type per column: keep the nested extras simple
        r.pop("meta")
    datasets.Dataset.from_list(rows).to_parquet(os.path.join(out, "datasets_messages.parquet"))
    expected["datasets_messages.parquet"] = raw(rows, "messages")
    rows = sharegpt_rows(rng, 150)
    datasets.Dataset.from_list(rows).to_parquet(os.path.join(out, "datasets_sharegpt.parquet"))
    expected["datasets_sharegpt.parquet"] = raw(rows, "conversations")

    with open(os.path.join(out, "expected.json"), "w", encoding="utf-8") as f:
        json.dump({"pyarrow": pa.__version__, "datasets": datasets.__version__, "files": expected}, f,
                  ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    print("wrote", len(expected), "files to", out)


def read(path, out):
    import datasets
    ds = datasets.load_dataset("parquet", data_files=path, split="train")
    with open(out, "w", encoding="utf-8") as f:
        json.dump({"datasets": datasets.__version__, "features": str(ds.features), "rows": ds.to_list()}, f, ensure_ascii=False)
    print("read", len(ds), "rows:", ds.features)


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "write":
        write(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "read":
        read(sys.argv[2], sys.argv[3])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
