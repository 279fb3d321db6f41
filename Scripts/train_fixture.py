#!/usr/bin/env python3
"""Train the tiny LLaDA fixture (Tests/Fixtures/llada-tiny/) with LLaDA's SFT
masked-diffusion objective on a suite of synthetic tasks with checkable answers.

Tasks (prompt text ends with the separator token <|sep|>; answers are padded
with <|eos|> to a fixed per-task length, as LLaDA's SFT pads with EOS):
  rev   "rev:<3-8 lowercase letters>"             -> the letters reversed        (gen length 8)
  sort  "sort:<3-6 single-digit numbers, comma-sep>" -> ascending, same format   (gen length 11)
        (--sort-max 100 --sort-nmax 5 gives the harder two-digit variant of the first fixture,
        which reached only 29% in an hour on this machine)
  add   "add:<aaa>+<bbb>" (3-digit, zero padded)  -> a+b written least-significant digit first (gen length 4)

Held-out evaluation problems are those whose crc32("<task>|<prompt>") % 100 < 3;
training never samples them (rejection), so eval and calib/train sets are disjoint.

Objective (LLaDA SFT): t ~ U(eps, 1] per sample (stratified over the batch), every
answer token (including EOS padding) is replaced by <|mask|> with prob t, the
prompt is never masked, loss = sum over masked tokens of CE / t / answer_length,
averaged over the batch.

Example:
  python3 Scripts/train_fixture.py --time-budget-min 88 --threads 1 --seed 0
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time
import zlib

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dqc_llada as dl  # noqa: E402

VOCAB = dl.char_vocab()
PAD_ID, EOS_ID, MASK_ID, SEP_ID = VOCAB[dl.PAD], VOCAB[dl.EOS], VOCAB[dl.MASK], VOCAB[dl.SEP]
LETTERS = "abcdefghijklmnopqrstuvwxyz"
EVAL_MOD, EVAL_CUT = 100, 3


# --------------------------------------------------------------------------------------
# Tasks
# --------------------------------------------------------------------------------------


class Tasks:
    def __init__(self, args):
        self.rev_min, self.rev_max = args.rev_min, args.rev_max
        self.sort_nmin, self.sort_nmax, self.sort_max = args.sort_nmin, args.sort_nmax, args.sort_max
        self.add_digits = args.add_digits
        self.sort_pad = not args.sort_no_pad
        self.sort_width = len(str(self.sort_max - 1))
        self.gen_length = {
            "rev": self.rev_max,
            "sort": self.sort_nmax * len(str(self.sort_max - 1)) + self.sort_nmax - 1,
            "add": self.add_digits + 1,
        }
        self.names = list(args.tasks.split(","))
        for n in self.names:
            assert n in self.gen_length, n

    def raw(self, name: str, rng: random.Random):
        if name == "rev":
            n = rng.randint(self.rev_min, self.rev_max)
            w = "".join(rng.choice(LETTERS) for _ in range(n))
            return "rev:" + w, w[::-1]
        if name == "sort":
            n = rng.randint(self.sort_nmin, self.sort_nmax)
            xs = [rng.randrange(self.sort_max) for _ in range(n)]
            f = (lambda v: f"{v:0{self.sort_width}d}") if self.sort_pad else str
            return "sort:" + ",".join(map(f, xs)), ",".join(map(f, sorted(xs)))
        if name == "add":
            lim = 10 ** self.add_digits
            a, b = rng.randrange(lim), rng.randrange(lim)
            d = self.add_digits
            return f"add:{a:0{d}d}+{b:0{d}d}", str(a + b)[::-1]
        raise KeyError(name)

    @staticmethod
    def is_eval(name: str, prompt: str) -> bool:
        return zlib.crc32(f"{name}|{prompt}".encode()) % EVAL_MOD < EVAL_CUT

    def sample(self, name: str, rng: random.Random, split: str):
        want_eval = split == "eval"
        while True:
            p, a = self.raw(name, rng)
            if self.is_eval(name, p) == want_eval:
                return p, a

    def encode(self, name: str, prompt: str, answer: str):
        pid = [VOCAB[c] for c in prompt] + [SEP_ID]
        L = self.gen_length[name]
        aid = [VOCAB[c] for c in answer]
        assert len(aid) <= L, (prompt, answer, L)
        aid = aid + [EOS_ID] * (L - len(aid))
        return pid, aid

    def record(self, name, prompt, answer):
        pid, aid = self.encode(name, prompt, answer)
        return {
            "task": name,
            "prompt": prompt + dl.SEP,
            "answer": answer,
            "prompt_ids": pid,
            "answer_ids": aid,
            "gen_length": self.gen_length[name],
        }


def make_eval_sets(tasks: Tasks, n: int, seed: int):
    out = {}
    for ti, name in enumerate(tasks.names):
        rng = random.Random(seed * 1000003 + 7919 * (ti + 1))
        seen, recs = set(), []
        tries = 0
        while len(recs) < n:
            p, a = tasks.sample(name, rng, "eval")
            tries += 1
            if p in seen:
                if tries > 200 * n:
                    raise RuntimeError(f"eval space for {name} too small")
                continue
            seen.add(p)
            recs.append(tasks.record(name, p, a))
        out[name] = recs
    return out


# --------------------------------------------------------------------------------------
# Training batch (LLaDA SFT forward process)
# --------------------------------------------------------------------------------------


def task_batch(tasks: Tasks, name: str, n: int, rng: random.Random):
    seqs, plens = [], []
    for _ in range(n):
        p, a = tasks.sample(name, rng, "train")
        pid, aid = tasks.encode(name, p, a)
        seqs.append(pid + aid)
        plens.append(len(pid))
    T = max(len(s) for s in seqs)
    # right-pad with EOS (treated as answer tokens, exactly as LLaDA SFT does)
    ids = torch.tensor([s + [EOS_ID] * (T - len(s)) for s in seqs], dtype=torch.long)
    return ids, torch.tensor(plens, dtype=torch.long)


def sft_loss(model, ids, plens, t, eps=1e-3):
    B, T = ids.shape
    p_mask = ((1 - eps) * t + eps)[:, None].expand(B, T)
    masked = torch.rand(B, T) < p_mask
    pos = torch.arange(T)[None, :]
    prompt_mask = pos < plens[:, None]
    masked = masked & ~prompt_mask
    noisy = torch.where(masked, torch.full_like(ids, MASK_ID), ids)
    ans_len = (~prompt_mask).sum(-1, keepdim=True).expand(B, T)
    logits = model(noisy)
    tok = F.cross_entropy(logits[masked], ids[masked], reduction="none") / p_mask[masked]
    return (tok / ans_len[masked]).sum() / B, int(masked.sum())


# --------------------------------------------------------------------------------------
# Evaluation with the LLaDA sampler
# --------------------------------------------------------------------------------------


@torch.no_grad()
def evaluate(model, eval_sets, limit=None, batch_size=256, block_length=None):
    model.eval()
    res = {}
    for name, recs in eval_sets.items():
        recs = recs[:limit] if limit else recs
        groups = {}
        for r in recs:
            groups.setdefault(len(r["prompt_ids"]), []).append(r)
        correct = 0
        for _, grp in sorted(groups.items()):
            for i in range(0, len(grp), batch_size):
                chunk = grp[i : i + batch_size]
                L = chunk[0]["gen_length"]
                prompt = torch.tensor([r["prompt_ids"] for r in chunk], dtype=torch.long)
                out = dl.generate(model, prompt, steps=L, gen_length=L, block_length=block_length or L,
                                  temperature=0.0, remasking="low_confidence", mask_id=MASK_ID)
                gen = out[:, prompt.shape[1]:].tolist()
                for r, g in zip(chunk, gen):
                    correct += int(g == r["answer_ids"])
        res[name] = correct / len(recs)
    model.train()
    return res


# --------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------


def lr_at(step, total, warmup, peak, final_frac):
    if step < warmup:
        return peak * (step + 1) / warmup
    prog = min(1.0, (step - warmup) / max(1, total - warmup))
    return peak * (final_frac + (1 - final_frac) * 0.5 * (1 + math.cos(math.pi * prog)))


def write_jsonl(path, recs):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        for r in recs:
            f.write(json.dumps(r) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out-dir", default="Tests/Fixtures/llada-tiny")
    ap.add_argument("--work-dir", default="/tmp/llada-tiny-run", help="checkpoints (not committed)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--d-model", type=int, default=256)
    ap.add_argument("--n-layers", type=int, default=4)
    ap.add_argument("--n-heads", type=int, default=8)
    ap.add_argument("--n-kv-heads", type=int, default=0, help="0 = n_heads")
    ap.add_argument("--mlp-hidden", type=int, default=512)
    ap.add_argument("--rope-theta", type=float, default=10000.0)
    ap.add_argument("--tasks", default="rev,sort,add")
    ap.add_argument("--task-weights", default="1,3,2", help="sub-batch weights per task")
    ap.add_argument("--rev-min", type=int, default=3)
    ap.add_argument("--rev-max", type=int, default=8)
    ap.add_argument("--sort-nmin", type=int, default=3)
    ap.add_argument("--sort-nmax", type=int, default=6)
    ap.add_argument("--sort-max", type=int, default=10, help="numbers drawn from [0, sort_max)")
    ap.add_argument("--sort-no-pad", action="store_true", help="write sort numbers without zero padding")
    ap.add_argument("--add-digits", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--min-lr-frac", type=float, default=0.05)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--weight-decay", type=float, default=0.1)
    ap.add_argument("--grad-clip", type=float, default=1.0)
    ap.add_argument("--steps", type=int, default=0,
                    help="total optimizer steps; 0 = derive from --time-budget-min after --calib-steps steps")
    ap.add_argument("--calib-steps", type=int, default=60)
    ap.add_argument("--time-budget-min", type=float, default=88.0, help="hard wall-clock limit for training")
    ap.add_argument("--reserve-min", type=float, default=4.0,
                    help="minutes of the budget kept for periodic evals when deriving --steps")
    ap.add_argument("--eval-every-min", type=float, default=10.0)
    ap.add_argument("--eval-limit", type=int, default=150, help="per-task eval subset for snapshots")
    ap.add_argument("--n-eval", type=int, default=1000)
    ap.add_argument("--n-calib", type=int, default=256)
    ap.add_argument("--log-every", type=int, default=25)
    ap.add_argument("--no-export", action="store_true")
    ap.add_argument("--resume", default="", help="checkpoint .pt to resume from")
    ap.add_argument("--extend-steps", type=int, default=0,
                    help="with --resume: train this many steps past the checkpoint's schedule")
    ap.add_argument("--extend-lr", type=float, default=3e-4,
                    help="constant learning rate for the extension steps")
    ap.add_argument("--finalize-from", default="", help="skip training: export outputs from this checkpoint")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    t_start = time.time()

    tasks = Tasks(args)
    weights = [float(w) for w in args.task_weights.split(",")]
    assert len(weights) == len(tasks.names)
    sub = [max(1, round(args.batch_size * w / sum(weights))) for w in weights]
    max_len = 0
    for name in tasks.names:
        # longest prompt: prefix + max-length body + SEP
        longest = {"rev": 4 + args.rev_max,
                   "sort": 5 + tasks.gen_length["sort"],
                   "add": 4 + 2 * args.add_digits + 1}[name] + 1
        max_len = max(max_len, longest + tasks.gen_length[name])
    cfg = dl.LLaDAConfig(
        d_model=args.d_model, n_heads=args.n_heads, n_kv_heads=args.n_kv_heads or args.n_heads,
        n_layers=args.n_layers, mlp_hidden_size=args.mlp_hidden,
        mlp_ratio=max(1, round(args.mlp_hidden / args.d_model)), vocab_size=64, embedding_size=64,
        max_sequence_length=64 if max_len <= 64 else 128, rope_theta=args.rope_theta,
        mask_token_id=MASK_ID, eos_token_id=EOS_ID, pad_token_id=PAD_ID,
    )
    model = dl.LLaDAModelLM(cfg)
    nparams = model.num_parameters()
    print(f"params {nparams} cfg {cfg} sub-batches {dict(zip(tasks.names, sub))} max_len {max_len}", flush=True)

    eval_sets = make_eval_sets(tasks, args.n_eval, args.seed)
    os.makedirs(args.work_dir, exist_ok=True)

    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=args.lr, betas=(0.9, 0.98), eps=1e-8)

    log = {"args": vars(args), "n_params": nparams, "config": cfg.to_hf_dict(), "train": [], "eval": []}
    step, tokens_seen, total_steps = 0, 0, args.steps
    data_rng = random.Random(args.seed + 1)
    if args.resume or args.finalize_from:
        ck = torch.load(args.resume or args.finalize_from, weights_only=False)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        step, tokens_seen, total_steps = ck["step"], ck["tokens_seen"], ck["total_steps"]
        log = ck["log"]
        log.setdefault("extensions", []).append(
            {"from_step": step, "extend_steps": args.extend_steps, "extend_lr": args.extend_lr,
             "task_weights": args.task_weights, "threads": args.threads})
        data_rng.setstate(ck["data_rng"])
        torch.set_rng_state(ck["torch_rng"])
        print(f"resumed at step {step}", flush=True)

    def save_ckpt(tag):
        path = os.path.join(args.work_dir, f"ckpt_{tag}.pt")
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step, "tokens_seen": tokens_seen,
                    "total_steps": total_steps, "log": log, "data_rng": data_rng.getstate(),
                    "torch_rng": torch.get_rng_state()}, path)
        model.save_pretrained(args.out_dir)  # partial fixture (weights + config) always present
        with open(os.path.join(args.out_dir, "training_log.json"), "w") as f:
            json.dump(log, f, indent=1)
        return path

    def snapshot(limit):
        t0 = time.time()
        acc = evaluate(model, eval_sets, limit=limit)
        ent = {"step": step, "tokens_seen": tokens_seen, "elapsed_min": round((time.time() - t_start) / 60, 2),
               "n_per_task": limit or args.n_eval, "acc": acc}
        log["eval"].append(ent)
        print(f"EVAL step {step} {json.dumps(acc)} ({time.time() - t0:.1f}s)", flush=True)
        return acc

    extend_from = None
    if args.resume and args.extend_steps > 0:
        extend_from = max(step, total_steps)
        total_steps = extend_from + args.extend_steps
        print(f"extending to step {total_steps} at lr {args.extend_lr}", flush=True)
    model.train()
    budget_s = args.time_budget_min * 60
    t_train0 = time.time()
    step0 = step
    last_eval = time.time()
    ema = None
    run_loss, run_n = 0.0, 0
    while not args.finalize_from:
        if total_steps and step >= total_steps:
            break
        if time.time() - t_start > budget_s:
            print(f"time budget reached at step {step}", flush=True)
            break
        if extend_from is not None and step >= extend_from:
            lr = args.extend_lr
        else:
            lr = lr_at(step, total_steps or 10 ** 9, args.warmup, args.lr, args.min_lr_frac)
        for g in opt.param_groups:
            g["lr"] = lr
        opt.zero_grad(set_to_none=True)
        B = sum(sub)
        # stratified t over the whole batch (low-discrepancy U(0,1])
        u = (torch.rand(1) + torch.arange(B) / B) % 1.0
        t_all = (1.0 - u)[torch.randperm(B)]
        off, loss_sum = 0, 0.0
        for name, n in zip(tasks.names, sub):
            ids, plens = task_batch(tasks, name, n, data_rng)
            loss, _ = sft_loss(model, ids, plens, t_all[off:off + n])
            (loss * n / B).backward()
            loss_sum += loss.item() * n / B
            tokens_seen += ids.numel()
            off += n
        torch.nn.utils.clip_grad_norm_(model.parameters(), args.grad_clip)
        opt.step()
        step += 1
        ema = loss_sum if ema is None else 0.98 * ema + 0.02 * loss_sum
        run_loss += loss_sum
        run_n += 1
        if not total_steps and step == step0 + args.calib_steps:
            per_step = (time.time() - t_train0) / (step - step0)
            avail = budget_s - (time.time() - t_start) - args.reserve_min * 60
            total_steps = step + int(avail / per_step)
            log["derived_total_steps"] = total_steps
            print(f"{per_step:.3f}s/step -> total_steps = {total_steps} (reproduce with --steps {total_steps})",
                  flush=True)
        if step % args.log_every == 0:
            el = time.time() - t_train0
            ent = {"step": step, "tokens_seen": tokens_seen, "loss": round(run_loss / run_n, 5),
                   "loss_ema": round(ema, 5), "lr": lr, "elapsed_min": round((time.time() - t_start) / 60, 2)}
            log["train"].append(ent)
            print(f"step {step}/{total_steps} loss {run_loss / run_n:.4f} ema {ema:.4f} lr {lr:.2e} "
                  f"tok/s {tokens_seen / el:.0f} elapsed {el / 60:.1f}m", flush=True)
            run_loss, run_n = 0.0, 0
        if time.time() - last_eval > args.eval_every_min * 60:
            if not args.steps and total_steps and step < 0.8 * total_steps:
                # auto mode: re-estimate the step count from the measured rate so that the
                # cosine schedule ends near the wall-clock budget (machine load varies)
                per_step = (time.time() - t_train0) / max(1, step - step0)
                avail = budget_s - (time.time() - t_start) - args.reserve_min * 60
                total_steps = max(step + 1, step + int(avail / per_step))
                log.setdefault("total_steps_history", []).append([step, total_steps])
                log["derived_total_steps"] = total_steps
                print(f"re-estimated total_steps = {total_steps}", flush=True)
            snapshot(args.eval_limit)
            p = save_ckpt("latest")
            print(f"checkpoint {p}", flush=True)
            last_eval = time.time()

    train_min = (time.time() - t_start) / 60
    if not args.finalize_from:
        save_ckpt("final")

    # ---------------- final evaluation + outputs ----------------
    model.eval()
    acc = snapshot(None)
    log["final"] = {"step": step, "tokens_seen": tokens_seen, "acc": acc, "train_wall_min": round(train_min, 2),
                    "eval": "exact match of the full generated answer region (answer + EOS padding), "
                            "steps = gen_length = block_length, temperature 0, low_confidence remasking",
                    "n_per_task": args.n_eval}
    out = args.out_dir
    os.makedirs(out, exist_ok=True)
    model.save_pretrained(out)
    dl.build_tokenizer().save(os.path.join(out, "tokenizer.json"))
    for name, recs in eval_sets.items():
        write_jsonl(os.path.join(out, "eval", f"{name}.jsonl"), recs)
    crng = random.Random(args.seed + 99991)
    calib = []
    for i in range(args.n_calib):
        name = tasks.names[i % len(tasks.names)]
        calib.append(tasks.record(name, *tasks.sample(name, crng, "train")))
    write_jsonl(os.path.join(out, "calib", "train_slice.jsonl"), calib)
    if not args.no_export:
        dl.export_onnx(model, os.path.join(out, "model.onnx"))
        log["onnx"] = check_onnx(model, os.path.join(out, "model.onnx"), eval_sets)
    log["total_wall_min"] = round((time.time() - t_start) / 60, 2)
    with open(os.path.join(out, "training_log.json"), "w") as f:
        json.dump(log, f, indent=1)
    write_readme(out, args, cfg, nparams, log, tasks)
    print("DONE", json.dumps(log["final"]), flush=True)


def check_onnx(model, path, eval_sets):
    try:
        import onnxruntime as ort
    except ImportError:
        return {"checked": False}
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    worst = 0.0
    for name, recs in eval_sets.items():
        r = recs[0]
        ids = torch.tensor([r["prompt_ids"] + [MASK_ID] * r["gen_length"]] * 3, dtype=torch.long)
        with torch.no_grad():
            ref = model(ids).numpy()
        got = sess.run(["logits"], {"input_ids": ids.numpy()})[0]
        worst = max(worst, float(np.abs(ref - got).max()))
    print(f"onnx max |diff| vs torch: {worst:.2e}", flush=True)
    return {"checked": True, "max_abs_diff_logits": worst}


def write_readme(out, args, cfg, nparams, log, tasks):
    fin = log["final"]
    acc = "\n".join(f"| {k} | {v * 100:.1f}% |" for k, v in fin["acc"].items())
    cmd = "python3 Scripts/train_fixture.py " + " ".join(
        f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items()
        if k in ("seed", "threads", "time_budget_min", "steps", "task_weights", "sort_nmin", "sort_nmax", "sort_max") and v)
    steps = log.get("derived_total_steps", args.steps)
    txt = f"""# llada-tiny

A tiny LLaDA-architecture masked diffusion LM (HF `LLaDAModelLM` layout and names),
trained from scratch by `Scripts/train_fixture.py` (model code: `Scripts/dqc_llada.py`)
with LLaDA's SFT masked-diffusion objective on three synthetic tasks.

- Parameters: {nparams:,} (d_model {cfg.d_model}, {cfg.n_layers} layers, {cfg.n_heads} heads,
  {cfg.n_kv_heads} kv heads, MLP hidden {cfg.mlp_hidden_size}, vocab/embedding {cfg.vocab_size}, rope_theta {cfg.rope_theta})
- Training: seed {args.seed}, {fin['step']} steps (total_steps {steps}), {fin['tokens_seen']:,} tokens,
  batch {args.batch_size}, AdamW lr {args.lr} warmup {args.warmup} cosine to {args.min_lr_frac}x,
  {args.threads} CPU thread(s), {fin['train_wall_min']:.1f} min of training wall time.
- Command: `{cmd}`; exact reproduction of the step count: add `--steps {steps}`.

## Tasks and format

Prompts end with the separator token `<|sep|>`; the answer region has a fixed
per-task length (`gen_length`) and is padded with `<|eos|>`.
Token ids: `<|pad|>`=0, `<|eos|>`=1, `<|mask|>`=2, `<|sep|>`=3, `<|unk|>`=4, then characters.

| task | prompt | answer | gen_length |
|---|---|---|---|
| rev | `rev:` + {args.rev_min}-{args.rev_max} letters | reversed letters | {tasks.gen_length['rev']} |
| sort | `sort:` + {args.sort_nmin}-{args.sort_nmax} integers in [0,{args.sort_max}) comma-separated{'' if args.sort_no_pad else ', zero-padded to equal width'} | ascending, same format | {tasks.gen_length['sort']} |
| add | `add:aaa+bbb` ({args.add_digits}-digit zero-padded) | sum, least-significant digit first | {tasks.gen_length['add']} |

Held-out problems: crc32("task|prompt") % {EVAL_MOD} < {EVAL_CUT}; training never samples them.
`eval/<task>.jsonl`: {args.n_eval} unique held-out problems per task
(`prompt` includes `<|sep|>`, plus `prompt_ids`, `answer_ids` (EOS-padded), `gen_length`).
`calib/train_slice.jsonl`: {args.n_calib} problems from the training distribution.

## Accuracy (LLaDA sampler, steps = gen_length = block_length, temperature 0, low-confidence remasking; exact match of the whole answer region)

| task | exact match |
|---|---|
{acc}

ONNX (`model.onnx`, legacy exporter opset 17, input `input_ids` int64 [batch, seq], output `logits`):
{json.dumps(log.get('onnx', {}))}

Loss curve and periodic eval snapshots: `training_log.json`.
"""
    with open(os.path.join(out, "README.md"), "w") as f:
        f.write(txt)


if __name__ == "__main__":
    main()
