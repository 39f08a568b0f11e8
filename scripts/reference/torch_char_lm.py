#!/usr/bin/env python3
"""The PyTorch side of the language-model comparison in docs/comparisons.md: the same char-level model,
data, batching and schedule as `zoo train lm`, for a given number of steps.

    zoo data lm --out /tmp/lmdata
    python3 scripts/reference/torch_char_lm.py --data /tmp/lmdata --steps 4000

Model: Embedding → LSTM/GRU → Linear (pytorch/examples' RNNModel, its init). Training: the
train split batchified into --batch-size streams, truncated BPTT of --bptt steps with the
state carried (detached) and reset each epoch, Adam, global-norm clipping, validation every
--eval-every steps with the learning rate ÷4 when it does not improve. Validation is scored
as one stream (batch 1, zero initial state), as `zoo eval` does. Prints JSON lines.
"""
import argparse
import json
import math
import os
import time

import torch
import torch.nn.functional as F


class RNNModel(torch.nn.Module):
    def __init__(self, cell, ntoken, ninp, nhid, nlayers):
        super().__init__()
        self.encoder = torch.nn.Embedding(ntoken, ninp)
        self.rnn = getattr(torch.nn, cell.upper())(ninp, nhid, nlayers)
        self.decoder = torch.nn.Linear(nhid, ntoken)
        torch.nn.init.uniform_(self.encoder.weight, -0.1, 0.1)
        torch.nn.init.uniform_(self.decoder.weight, -0.1, 0.1)
        torch.nn.init.zeros_(self.decoder.bias)

    def forward(self, x, hidden=None):
        out, hidden = self.rnn(self.encoder(x), hidden)
        return self.decoder(out), hidden


def detach(hidden):
    return tuple(h.detach() for h in hidden) if isinstance(hidden, tuple) else hidden.detach()


def stream_loss(model, ids, chunk=256):
    model.eval()
    total, count, hidden = 0.0, 0, None
    with torch.no_grad():
        for start in range(0, len(ids) - 1, chunk):
            x = ids[start:start + chunk + 1]
            logits, hidden = model(x[:-1].unsqueeze(1), hidden)
            total += F.cross_entropy(logits.reshape(-1, logits.size(-1)), x[1:], reduction="sum").item()
            count += len(x) - 1
    model.train()
    return total / count


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, help="directory with train.txt, valid.txt, test.txt")
    p.add_argument("--steps", type=int, required=True)
    p.add_argument("--cell", default="lstm")
    p.add_argument("--hidden-size", type=int, default=512)
    p.add_argument("--embedding-size", type=int, default=128)
    p.add_argument("--layers", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--bptt", type=int, default=64)
    p.add_argument("--learning-rate", type=float, default=2e-3)
    p.add_argument("--clip", type=float, default=5.0)
    p.add_argument("--eval-every", type=int, default=200)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)

    read = lambda name: open(os.path.join(a.data, name), encoding="utf-8").read()
    train_text, valid_text = read("train.txt"), read("valid.txt")
    vocab = {}
    for c in train_text:
        vocab.setdefault(c, len(vocab))
    train = torch.tensor([vocab[c] for c in train_text])
    valid = torch.tensor([vocab[c] for c in valid_text if c in vocab])
    rows = len(train) // a.batch_size
    batched = train[:rows * a.batch_size].view(a.batch_size, rows).t().contiguous()  # (rows, B)

    model = RNNModel(a.cell, len(vocab), a.embedding_size, a.hidden_size, a.layers)
    opt = torch.optim.Adam(model.parameters(), a.learning_rate)
    best, plateau_best, lr, position, hidden = math.inf, math.inf, a.learning_rate, 0, None
    train_seconds, train_tokens = 0.0, 0
    for step in range(1, a.steps + 1):
        t0 = time.perf_counter()
        if position >= rows - 1:
            position, hidden = 0, None
        T = min(a.bptt, rows - 1 - position)
        x, y = batched[position:position + T], batched[position + 1:position + 1 + T]
        position += T
        logits, hidden = model(x, hidden)
        hidden = detach(hidden)
        loss = F.cross_entropy(logits.reshape(-1, len(vocab)), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), a.clip)
        opt.step()
        train_seconds += time.perf_counter() - t0
        train_tokens += T * a.batch_size
        if step % a.eval_every == 0 or step == a.steps:
            v = stream_loss(model, valid)
            if step % a.eval_every == 0:  # as zoo's PlateauDecay(factor 0.25, patience 0)
                if v < plateau_best * (1 - 1e-4):
                    plateau_best = v
                else:
                    lr /= 4
                    for g in opt.param_groups:
                        g["lr"] = lr
            best = min(best, v)
            print(json.dumps({"step": step, "train_loss": loss.item(), "valid_loss": v,
                              "valid_bpc": v / math.log(2), "best_valid_bpc": best / math.log(2),
                              "tokens_per_s": train_tokens / train_seconds}), flush=True)


if __name__ == "__main__":
    main()
