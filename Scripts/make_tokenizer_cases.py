#!/usr/bin/env python3
"""Write tokenizer reference cases for dqc's Swift tokenizer: Tests/Fixtures/tokenizers/.

Four Hugging Face `tokenizers` tokenizer.json files, each with cases.jsonl
(encode/decode references) and decode_cases.jsonl (decoding of arbitrary id lists,
including ones that split a multi-byte character):

  char/        the fixture's character-level WordLevel tokenizer (dqc_llada.build_tokenizer)
  bpe/         byte-level BPE (GPT-2 style: ByteLevel pre-tokenizer with its built-in regex,
               ByteLevel decoder), vocab 500 trained here, + <|mdm_mask|>, <|endoftext|>, <|eot_id|>
  bpe-split/   the same BPE model in the LLaMA-3 / Qwen2 / LLaDA layout: NFC normalizer,
               Split(regex) + ByteLevel(use_regex=false) pre-tokenizer, ignore_merges=true
  metaspace/   SentencePiece-style BPE: Metaspace ("▁") pre-tokenizer, byte_fallback with
               <0x00>..<0xFF> in the vocab, LLaMA-2 style decoder

Every case line is
  {"text", "ids", "tokens", "decoded", "decoded_skip"}
with ids/tokens from tok.encode(text, add_special_tokens=False), decoded =
tok.decode(ids, skip_special_tokens=False), decoded_skip = tok.decode(ids, skip_special_tokens=True).

Deterministic: BPE training is single-threaded (TOKENIZERS_PARALLELISM=false, set before import)
on a fixed built-in corpus; texts are fixed or drawn from random.Random(fixed seed).
Rerunning gives byte-identical files.

Usage:
  python3 Scripts/make_tokenizer_cases.py [--out Tests/Fixtures/tokenizers]
"""
from __future__ import annotations

import os

os.environ["TOKENIZERS_PARALLELISM"] = "false"  # must precede the import of tokenizers

import argparse  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import sys  # noqa: E402
from types import SimpleNamespace  # noqa: E402

import tokenizers  # noqa: E402
from tokenizers import (  # noqa: E402
    AddedToken,
    Tokenizer,
    decoders,
    models,
    pre_tokenizers,
    processors,
    trainers,
)

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import dqc_llada as dl  # noqa: E402

BPE_SPECIALS = ["<|mdm_mask|>", "<|endoftext|>", "<|eot_id|>"]
SP_SPECIALS = ["<unk>", "<s>", "</s>"]

# LLaMA-3 pre-tokenizer regex (also LLaDA-8B's, and Qwen2's up to the digit rule: Qwen2 uses \p{N}).
LLAMA3_REGEX = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)

# --------------------------------------------------------------------------------------
# Training corpus (English + digits + punctuation), fixed.
# --------------------------------------------------------------------------------------

CORPUS = """\
The quick brown fox jumps over the lazy dog. The dog was not amused, and the fox ran away.
A diffusion language model starts from a fully masked sequence and unmasks tokens step by step.
At every step the model predicts all masked positions at once, then keeps the most confident ones.
The remaining positions are masked again and predicted in the next step, until nothing is masked.
In 2024, the team trained 8 models with 1, 2, 4 and 8 billion parameters for 100,000 steps.
Results: accuracy 91.5% on task A, 87.25% on task B, and 3.14159 on the "pi" benchmark (lower is better?).
Call the function with f(x) = 2 * x + 1; for x = 10 the answer is 21, and for x = -3 it is -5.
Dr. Smith's lab opened at 9:30 a.m. on Monday, 12/03/2023; it closed at 5:45 p.m.
"Hello," she said, "isn't this the compiler you wrote?" He replied: "Yes -- it's called dqc!"
We'll need to check the numbers again: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15.
The compiler reads the model, lowers every operation, fuses the kernels and emits native code.
Tokens are integers; text is a sequence of characters; bytes are what the computer stores.
They're testing the tokenizer on words, numbers, punctuation, spaces and new lines.
Prices rose from $1,250.00 to $1,999.99 (about 60%) between January and December.
Email me at someone@example.com or visit https://example.com/docs/index.html?page=2&lang=en.
I've seen it, you've seen it, we've all seen it; but I'd rather not say it again.
The sum of 123 and 456 is 579, and the product of 12 and 34 is 408.
Sort these numbers: 42, 7, 19, 88, 3 -> 3, 7, 19, 42, 88. Reverse this word: hello -> olleh.
One, two, three, four, five, six, seven, eight, nine, ten, eleven, twelve.
First things first: read the input, parse the header, check the version, then load the weights.
Water boils at 100 degrees Celsius and freezes at 0; room temperature is about 20 to 25 degrees.
"Why?" asked the student. "Because," said the teacher, "every step depends on the one before."
The model has 2 layers, 4 heads, 64 dimensions and a vocabulary of 64 tokens.
In the morning we walked to the station; in the evening we took the train back to the city.
Let me think... the answer is 42! Or is it 43? No: it's definitely 42.
Python, Swift, C and Rust are programming languages; JSON, YAML and TOML are formats.
The year 1999 came before 2000, and 2000 came before 2001; 3000 is still far away.
Note: always measure twice and cut once. Warning: do not divide by zero!
She sells sea shells by the sea shore, and the shells she sells are surely sea shells.
How much wood would a woodchuck chuck if a woodchuck could chuck wood?
To be, or not to be: that is the question. All the world's a stage.
Version 1.2.3 fixed bug #456; version 1.3.0 added feature #789 (see CHANGELOG.md).
"""


def corpus_lines():
    lines = [ln for ln in CORPUS.splitlines() if ln]
    # a few formatting-only lines so whitespace runs, tabs and newlines occur in training
    lines += ["    indented line with four spaces", "\ttab\tseparated\tvalues", "line one\nline two\n\nline four",
              "def f(x):\n    return x * 2\n", "a  b   c    d"]
    return lines


# --------------------------------------------------------------------------------------
# Tokenizers
# --------------------------------------------------------------------------------------


def train_bpe_bytelevel() -> Tokenizer:
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=500,
        min_frequency=2,
        show_progress=False,
        special_tokens=[],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(corpus_lines(), trainer=trainer)
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in BPE_SPECIALS])
    return tok


def bpe_split_from(bpe: Tokenizer) -> Tokenizer:
    """Same vocab/merges, LLaMA-3 style pipeline (as in LLaDA-8B's / Qwen2's tokenizer.json)."""
    j = json.loads(bpe.to_str())
    j["normalizer"] = {"type": "NFC"}
    j["pre_tokenizer"] = {
        "type": "Sequence",
        "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": LLAMA3_REGEX}, "behavior": "Isolated", "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False},
        ],
    }
    j["post_processor"] = None
    j["model"]["ignore_merges"] = True
    for a in j["added_tokens"]:
        a["normalized"] = False
    return Tokenizer.from_str(json.dumps(j))


def train_metaspace() -> Tokenizer:
    meta = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="first", split=True)
    tmp = Tokenizer(models.BPE(unk_token="<unk>"))
    tmp.pre_tokenizer = meta
    trainer = trainers.BpeTrainer(
        vocab_size=320,
        min_frequency=2,
        show_progress=False,
        special_tokens=[],
        # no limit_alphabet: its frequency cut breaks ties in hash order (nondeterministic)
    )
    tmp.train_from_iterator(corpus_lines(), trainer=trainer)
    tj = json.loads(tmp.to_str())["model"]
    trained = sorted(tj["vocab"].items(), key=lambda kv: kv[1])
    # LLaMA-2 layout: <unk> <s> </s>, then the 256 byte tokens, then the learned pieces.
    vocab = {t: i for i, t in enumerate(SP_SPECIALS)}
    for b in range(256):
        vocab[f"<0x{b:02X}>"] = len(vocab)
    for t, _ in trained:
        if t not in vocab:
            vocab[t] = len(vocab)
    merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in tj["merges"]]
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, unk_token="<unk>", byte_fallback=True, fuse_unk=True))
    tok.pre_tokenizer = meta
    tok.decoder = decoders.Sequence(
        [decoders.Replace("\u2581", " "), decoders.ByteFallback(), decoders.Fuse(), decoders.Strip(" ", 1, 0)]
    )
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in SP_SPECIALS])
    return tok


# --------------------------------------------------------------------------------------
# Case texts
# --------------------------------------------------------------------------------------

GENERIC = [
    # empty / whitespace only
    "", " ", "  ", "   ", "\n", "\t", "\n\n", " \n ", "\r\n", "\t\t \n",
    # plain words
    "hello", "Hello", "HELLO", "hello world", "Hello World", "the quick brown fox",
    "The quick brown fox jumps over the lazy dog.", "diffusion", "masked diffusion language model",
    "supercalifragilisticexpialidocious", "a", "I", "ab", "abc", "zzzz", "xyzzy",
    "compiler", "compilers compile compiled compiling",
    # numbers
    "0", "7", "42", "123", "1234", "12345", "1234567890", "12345678901234567890", "3.14159",
    "1,000,000", "-5", "+12", "2024-01-01", "12/03/2023", "9:30", "100%", "$1,999.99", "v1.2.3",
    "abc123def", "x1 y22 z333", "007", "1e-5", "0x1F",
    # punctuation
    "Hello, world!", "What?!", "Wait...", "(a+b)*c", "a-b", "a--b", "[1, 2, 3]", "{\"k\": \"v\"}",
    "x=1;y=2", "#include <stdio.h>", "<html><body></body></html>", "@user #tag", "a/b\\c",
    "https://example.com/path?q=1&r=2", "someone@example.com", "~!@#$%^&*()_+`-=[]{}|;':\",./<>?",
    "...", "!!!", "?", ".", ",", "'", "\"quoted\"", "'single'",
    # contractions (GPT-2 / LLaMA-3 regex special cases)
    "don't", "I'm", "we'll", "they're", "you've", "he'd", "it's", "DON'T", "IT'S", "rock 'n' roll",
    "the dog's bone", "'s", "''",
    # repeated / leading / trailing spaces
    "a  b", "a   b   c", "word    word", "  leading", "trailing  ", "  both  ", " x", "x ", " x ",
    "a \tb", "tab\tseparated\tvalues", "\tindented", "    four spaces", "end with newline\n",
    "\nstart with newline", "line one\nline two", "line one\n\nline three", "crlf\r\nline", "a \n b",
    "  \n  x", "x  \n", "def f(x):\n    return x * 2\n",
    # unicode
    "café", "naïve", "résumé", "e\u0301", "cafe\u0301", "Å", "A\u030a", "ﬁ", "Straße", "İstanbul",
    "漢字", "日本語のテキスト", "中文 and English", "한국어", "Привет мир", "Γειά σου", "مرحبا", "שלום",
    "😀", "😀😀", "hi 😀!", "👍🏽", "👨\u200d👩\u200d👧", "🇫🇷", "❤️", "a\u00a0b", "a\u200bb", "a\u3000b",
    "\u2581", "\u2581hello", "Ġ", "Ċ", "a\x00b", "\x7f", "\u00e9\u00e9", "ÿ", "€100", "½",
    "∑ x_i ≤ ∞", "→", "“smart quotes”", "‘single’", "em—dash", "…",
]


def special_texts(specials):
    s0, s1 = specials[0], specials[1]
    s2 = specials[2] if len(specials) > 2 else specials[0]
    return [
        s0, s1, s2, s0 + s0, s0 + s1 + s2, f"a{s0}b", f"a {s0} b", f" {s0} ", f"{s0}hello", f"hello{s0}",
        f"Hello{s1}World", f"{s1}\n", f"text{s2}\n", f"{s0}{s0}{s0}x", f"1{s0}2", f"é{s0}漢",
        s0[:-1], s0[1:], s0[:2], s0.upper(), f"<{s0}>", f"{s0[:-2]} {s0[-2:]}",
    ]


def random_texts(rng: random.Random, n: int):
    words = sorted({w for ln in CORPUS.split() for w in [ln]})
    seps = [" ", " ", " ", "  ", "\n", ", ", ". ", "\t", " - ", ": "]
    out = []
    for _ in range(n):
        k = rng.randint(1, 7)
        s = ""
        for i in range(k):
            if i:
                s += rng.choice(seps)
            s += rng.choice(words)
        if rng.random() < 0.2:
            s = " " + s
        if rng.random() < 0.2:
            s = s + rng.choice([" ", "\n", "  "])
        out.append(s)
    pool = "abcxyz0189 .,!?'\n\té漢😀-_"
    for _ in range(n // 2):
        out.append("".join(rng.choice(pool) for _ in range(rng.randint(1, 12))))
    return out


def task_texts(n_per_task: int):
    """Prompt/answer strings in the formats of train_fixture.py's Tasks (default arguments)."""
    import train_fixture as tf

    args = SimpleNamespace(rev_min=3, rev_max=8, sort_nmin=3, sort_nmax=5, sort_max=100, add_digits=3,
                           sort_no_pad=False, tasks="rev,sort,add")
    tasks = tf.Tasks(args)
    rng = random.Random(20240601)
    out = []
    for name in tasks.names:
        for _ in range(n_per_task):
            p, a = tasks.raw(name, rng)
            out.append(p + dl.SEP)  # what the fixture feeds the model
            out.append(p + dl.SEP + a + dl.EOS * (tasks.gen_length[name] - len(a)))  # full training sequence
            out.append(a)
    return out


def dedup(xs):
    seen, out = set(), []
    for x in xs:
        if x not in seen:
            seen.add(x)
            out.append(x)
    return out


# --------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------


def case(tok: Tokenizer, text: str) -> dict:
    e = tok.encode(text, add_special_tokens=False)
    return {
        "text": text,
        "ids": e.ids,
        "tokens": e.tokens,
        "decoded": tok.decode(e.ids, skip_special_tokens=False),
        "decoded_skip": tok.decode(e.ids, skip_special_tokens=True),
    }


def decode_cases(tok: Tokenizer, rng: random.Random, specials):
    """Decoding of id lists that are not the encoding of any text: single ids, pieces of a
    multi-byte character (→ U+FFFD handling), specials in the middle, random id lists."""
    vsize = tok.get_vocab_size(with_added_tokens=True)
    lists = [[]]
    lists += [[i] for i in range(min(vsize, 40))]
    for text in ["é", "漢字", "😀", "a😀b", "€100"]:
        ids = tok.encode(text, add_special_tokens=False).ids
        for k in range(1, len(ids)):
            lists.append(ids[:k])
            lists.append(ids[k:])
        lists.append(ids[::-1])
    sid = [tok.token_to_id(s) for s in specials]
    hello = tok.encode("hello world", add_special_tokens=False).ids
    lists += [sid, hello + sid + hello, sid[:1] + hello, hello + sid[:1]]
    for _ in range(30):
        lists.append([rng.randrange(vsize) for _ in range(rng.randint(1, 10))])
    out = []
    for ids in lists:
        out.append({
            "ids": ids,
            "tokens": [tok.id_to_token(i) for i in ids],
            "decoded": tok.decode(ids, skip_special_tokens=False),
            "decoded_skip": tok.decode(ids, skip_special_tokens=True),
        })
    return out


def write_jsonl(path, recs):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for r in recs:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def legacy_merges(path: str):
    """Rewrite "merges" as "a b" strings (the format of older tokenizer.json files such as
    LLaMA-3's / LLaDA's), so the Swift loader sees both layouts. Byte-level tokens contain no
    ' ' (spaces are 'Ġ'), so the split is unambiguous."""
    with open(path, encoding="utf-8") as f:
        j = json.load(f)
    merges = j["model"]["merges"]
    assert all(" " not in a and " " not in b for a, b in merges)
    j["model"]["merges"] = [f"{a} {b}" for a, b in merges]
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        json.dump(j, f, indent=2, ensure_ascii=False)
        f.write("\n")


def json_types(tok: Tokenizer) -> dict:
    j = json.loads(tok.to_str())

    def t(x):
        if x is None:
            return None
        if x.get("type") == "Sequence":
            key = next(k for k in ("pretokenizers", "normalizers", "decoders", "processors") if k in x)
            return "Sequence[" + ", ".join(t(y) for y in x[key]) + "]"
        return x["type"]

    return {k: t(j[k]) for k in ("normalizer", "pre_tokenizer", "model", "decoder", "post_processor")}


README_TEXT = """\
# Tokenizer reference cases

Generated by `python3 Scripts/make_tokenizer_cases.py` with Hugging Face `tokenizers` @VERSION@
(Python 3.11). Deterministic: rerunning rewrites byte-identical files (BPE training is
single-threaded on a corpus built into the script; texts are fixed or drawn from seeded
`random.Random`). Do not edit by hand.

| dir | vocab (incl. added) | cases | decode_cases | model | normalizer | pre_tokenizer | decoder | post_processor |
|---|---|---|---|---|---|---|---|---|
@TABLE@

Each directory holds

* `tokenizer.json` — the tokenizer, as `Tokenizer.save(pretty=True)` writes it (`bpe-split` has
  its `merges` rewritten as `"a b"` strings, the older layout used by LLaMA-3/LLaDA files; the
  others use the newer `["a", "b"]` pairs; a loader must accept both).
* `cases.jsonl` — one object per line:
  `{"text", "ids", "tokens", "decoded", "decoded_skip"}` where `ids`/`tokens` come from
  `tok.encode(text, add_special_tokens=False)`, `decoded = tok.decode(ids, skip_special_tokens=False)`
  and `decoded_skip = tok.decode(ids, skip_special_tokens=True)`. `decoded` is not always `text`
  (unknown characters, NFC, Metaspace's stripped leading space).
* `decode_cases.jsonl` — `{"ids", "tokens", "decoded", "decoded_skip"}` for id lists that are not
  the encoding of any text: single ids, prefixes/suffixes/reversals of the ids of multi-byte
  characters (invalid UTF-8), special tokens between words, seeded random id lists.

Texts cover plain words, numbers, punctuation, contractions, repeated / leading / trailing spaces,
newlines, CR LF, tabs, NUL, accented (precomposed and combining), CJK, Cyrillic, Arabic, emoji
(incl. ZWJ sequences, skin tones, flags), NBSP / ZWSP / ideographic space, literal `▁` and `Ġ`,
the empty string, special tokens inside text (and near-misses such as `<|mdm_mask|` or upper-cased),
seeded random word soups, and for `char/` the fixture task formats of `Scripts/train_fixture.py`
(`rev:abc<|sep|>`, `sort:07,42,19<|sep|>`, `add:123+456<|sep|>`, with and without the
EOS-padded answer).

## Pipeline (what `tokenizers` does, and a Swift port must reproduce)

encode(text):
1. **Added tokens first.** The raw text is scanned for the contents of all added tokens
   (leftmost match, longest first; here every added token has `normalized: false`, `lstrip`,
   `rstrip`, `single_word` false). Matches become their ids directly; only the text *between*
   matches goes through normalizer → pre-tokenizer → model, each segment independently.
   This happens with `add_special_tokens=False` too (that flag only controls the post-processor).
   Spaces next to a special token stay in the neighbouring segment:
   `"a <|mdm_mask|> b"` → `a`, `Ġ`, `<|mdm_mask|>`, `Ġb`.
2. **Normalizer** (only `bpe-split`: `NFC`, so `e\\u0301` encodes like `é`).
3. **Pre-tokenizer** splits each segment into pre-tokens; the model runs on each pre-token.
4. **Model**: BPE applies merges by rank (lowest rank first) inside one pre-token; WordLevel looks
   the whole pre-token up (else `unk_token`).
5. **Post-processor**: `ByteLevel` (in `bpe/`) only adjusts offsets; it never changes ids.

decode(ids): ids → token strings; with `skip_special_tokens=True` tokens of added tokens marked
`special: true` are dropped (in `char/` that includes `<|unk|>`); then the decoder runs over the
whole token list. Added-token contents also pass through the decoder (harmless here: all are ASCII
without spaces, which the ByteLevel table maps to themselves). No clean-up of spaces
(`clean_up_tokenization_spaces` is a `transformers` feature, not a `tokenizers` one).

### char/ — the fixture's tokenizer (`dqc_llada.build_tokenizer()`)
* model `WordLevel`, vocab: `<|pad|>`0 `<|eos|>`1 `<|mask|>`2 `<|sep|>`3 `<|unk|>`4, then
  `0-9`, `a-z`, ` ,:+-=` (ids 5..46); all five specials are added tokens with `special: true`.
* pre_tokenizer `Split(Regex "[\\s\\S]", Isolated)`: one pre-token per **Unicode scalar**
  (code point) — not per Swift `Character` (grapheme cluster): `e\\u0301`, `👍🏽`, `🇫🇷` give
  several `<|unk|>`. Iterate `unicodeScalars`.
* decoder `Fuse` (concatenate). `<|unk|>` decodes to the literal `<|unk|>`.

### bpe/ — byte-level BPE, GPT-2 layout
* model `BPE` (no unk, no byte_fallback, `ignore_merges: false`), 256 byte symbols + 244 merges,
  trained with `BpeTrainer(vocab_size=500, min_frequency=2, initial_alphabet=ByteLevel.alphabet())`;
  added tokens `<|mdm_mask|>`500 `<|endoftext|>`501 `<|eot_id|>`502 (`special: true`).
* pre_tokenizer `ByteLevel(add_prefix_space=false, use_regex=true)`: first the GPT-2 regex
  `'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+`, then every
  UTF-8 byte of a piece is mapped to a printable char with GPT-2's `bytes_to_unicode` table
  (space → `Ġ` U+0120, `\\n` → `Ċ`, `\\t` → `ĉ`, 0x00 → `Ā`, …). `\\s+(?!\\S)` leaves the last
  space of a run for the next word: `"a  b"` → `a`, `Ġ`, `Ġb`; trailing `"  "` → `ĠĠ`.
  Contractions are case-sensitive here (`DON'T` → `D O N ' T`).
* decoder `ByteLevel`: concatenate, map each char back to its byte, then UTF-8 decode with
  **lossy maximal-subpart replacement** (Rust `String::from_utf8_lossy`; Swift
  `String(decoding:as: UTF8.self)` uses the same policy): a truncated 3-byte sequence gives one
  U+FFFD, see `decode_cases.jsonl`.

### bpe-split/ — the same BPE model in the LLaMA-3 / LLaDA-8B / Qwen2 layout
* normalizer `NFC`; model as `bpe/` but `ignore_merges: true` (a pre-token that is itself in
  the vocab is emitted as one token without running merges) and merges as `"a b"` strings.
* pre_tokenizer `Sequence[Split(Regex, Isolated), ByteLevel(add_prefix_space=false, use_regex=false)]`
  with the LLaMA-3 regex
  `@LLAMA3_REGEX@`
  (case-insensitive contractions, digits in chunks of 1–3, one leading non-letter glued to a
  letter run, newlines grouped). Needs Unicode properties `\\p{L}`, `\\p{N}`, a negative
  look-ahead, and `(?i:…)`. Digits differ from `bpe/`: `" 42"` → `Ġ`, `4`, `2`.
* decoder `ByteLevel`, no post_processor.

### metaspace/ — SentencePiece-style BPE (LLaMA-2 / Mistral layout)
* model `BPE(unk_token="<unk>", byte_fallback=true, fuse_unk=true)`; vocab `<unk>`0 `<s>`1
  `</s>`2, `<0x00>`..`<0xFF>` 3..258 (ordinary vocab entries, not added tokens), then pieces
  learned by `BpeTrainer(vocab_size=320, min_frequency=2)`; `<unk>` `<s>` `</s>` are also added
  tokens (`special: true`). A character absent from the vocab is emitted as the `<0xXX>` tokens
  of its UTF-8 bytes (so `<unk>` never appears from text).
* pre_tokenizer `Metaspace(replacement="▁", prepend_scheme="first", split=true)`: every `' '`
  becomes `▁`; a `▁` is prepended only to the segment that starts at offset 0 of the input
  (not to text following an added token: `"a<unk>b"` → `▁a`, `<unk>`, `b`), and only if it does
  not already start with `▁` (`" x"` → `▁x`, a literal `"▁hello"` → as `" hello"`); then split
  before every `▁` (each piece keeps its leading `▁`). Tabs and newlines are not split off
  (`"\\nl"` is a learned piece).
* decoder `Sequence[Replace("▁"→" "), ByteFallback, Fuse, Strip(" ", start=1, stop=0)]`:
  ByteFallback turns each run of consecutive `<0xXX>` tokens into bytes and UTF-8-decodes them;
  if the run is not valid UTF-8 it yields **one U+FFFD per byte** (unlike ByteLevel's lossy
  decoding); Strip runs after Fuse, so it removes one leading space of the whole text
  (`" x"` → `x`, `"  both  "` → `" both  "`).
"""


def write_readme(path: str, summary: dict):
    rows = "\n".join(
        f"| `{k}/` | {v['vocab']} | {v['cases']} | {v['decode_cases']} | `{v['model']}` | `{v['normalizer']}` "
        f"| `{v['pre_tokenizer']}` | `{v['decoder']}` | `{v['post_processor']}` |"
        for k, v in summary.items()
    )
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(README_TEXT.replace("@VERSION@", tokenizers.__version__).replace("@TABLE@", rows)
                .replace("@LLAMA3_REGEX@", LLAMA3_REGEX))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(HERE), "Tests", "Fixtures", "tokenizers"))
    args = ap.parse_args()

    bpe = train_bpe_bytelevel()
    toks = {
        "char": (dl.build_tokenizer(), dl.SPECIAL_TOKENS[1:4]),
        "bpe": (bpe, BPE_SPECIALS),
        "bpe-split": (bpe_split_from(bpe), BPE_SPECIALS),
        "metaspace": (train_metaspace(), SP_SPECIALS),
    }
    summary = {}
    for name, (tok, specials) in toks.items():
        d = os.path.join(args.out, name)
        os.makedirs(d, exist_ok=True)
        tok.save(os.path.join(d, "tokenizer.json"), pretty=True)
        if name == "bpe-split":
            legacy_merges(os.path.join(d, "tokenizer.json"))
        # reload from disk so the cases are what the file (not the in-memory object) produces
        tok = Tokenizer.from_file(os.path.join(d, "tokenizer.json"))
        rng = random.Random(1234)
        texts = GENERIC + special_texts(specials)
        if name == "char":
            texts = texts + special_texts([dl.MASK, dl.SEP, dl.PAD, dl.UNK]) + task_texts(14)
        texts += random_texts(rng, 30)
        texts = dedup(texts)
        cases = [case(tok, t) for t in texts]
        write_jsonl(os.path.join(d, "cases.jsonl"), cases)
        dcs = decode_cases(tok, random.Random(99), specials)
        write_jsonl(os.path.join(d, "decode_cases.jsonl"), dcs)
        summary[name] = dict(json_types(tok), vocab=tok.get_vocab_size(with_added_tokens=True),
                             cases=len(cases), decode_cases=len(dcs))
    write_readme(os.path.join(args.out, "README.md"), summary)
    for k, v in summary.items():
        print(k, json.dumps(v, ensure_ascii=False))
    print("tokenizers", tokenizers.__version__)


if __name__ == "__main__":
    main()
