#!/usr/bin/env python3
"""Print the figures for docs/fixture.md from a fixture's training_log.json.

  python3 Scripts/fixture_summary.py [Tests/Fixtures/llada-tiny/training_log.json]
"""
import json
import sys

path = sys.argv[1] if len(sys.argv) > 1 else "Tests/Fixtures/llada-tiny/training_log.json"
log = json.load(open(path))
fin = log.get("final")
print(f"parameters: {log['n_params']:,}")
print("eval snapshots (step, tokens, minutes, n/task, acc):")
for e in log["eval"]:
    print(f"  {e['step']:>6} {e['tokens_seen']:>11,} {e['elapsed_min']:>7} {e['n_per_task']:>5} "
          + " ".join(f"{k}={v * 100:.1f}%" for k, v in e["acc"].items()))
if log["train"]:
    t = log["train"][-1]
    print(f"last train entry: step {t['step']} loss {t['loss']} ema {t['loss_ema']}")
if fin:
    print()
    print(f"| task | exact match ({fin['n_per_task']} held-out) |")
    print("|---|---|")
    for k, v in fin["acc"].items():
        print(f"| {k} | {v * 100:.1f}% |")
    print()
    print(f"Training: {fin['step']} steps, {fin['tokens_seen']:,} tokens, {fin['train_wall_min']} minutes on "
          f"{log['args']['threads']} CPU thread(s); derived_total_steps {log.get('derived_total_steps')}.")
    print(f"ONNX: {log.get('onnx')}")
else:
    print("(no final entry yet: run still in progress or cut short)")
