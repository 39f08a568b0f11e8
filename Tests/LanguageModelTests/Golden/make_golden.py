#!/usr/bin/env python3
"""Trains tiny character language models in PyTorch (pytorch/examples' RNNModel layout) and
records what `zoo eval` and `zoo sample --temperature 0` must reproduce.

Regenerate (from the repository root, with torch and safetensors installed):

    python3 Tests/LanguageModelTests/Golden/make_golden.py

Writes char_lstm.safetensors, char_gru.safetensors and expected.json beside this script.
"""
import json
import math
import os

import torch
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))

TRAIN = (
    "the quick brown fox jumps over the lazy dog.\n"
    "a lazy dog sleeps while the quick fox runs.\n"
    "über den faulen hund springt der schnelle fuchs.\n"
) * 8
TEST = "the quick dog jumps over the lazy fox.\nthe fox sleeps. ü!\n"
PROMPT = "the quick"


class RNNModel(torch.nn.Module):
    def __init__(self, cell, ntoken, ninp, nhid, nlayers):
        super().__init__()
        self.encoder = torch.nn.Embedding(ntoken, ninp)
        self.rnn = getattr(torch.nn, cell)(ninp, nhid, nlayers)
        self.decoder = torch.nn.Linear(nhid, ntoken)

    def forward(self, x, hidden=None):
        out, hidden = self.rnn(self.encoder(x), hidden)
        return self.decoder(out), hidden


def train(cell, vocab, ids):
    torch.manual_seed(7)
    model = RNNModel(cell, len(vocab), 12, 24, 2 if cell == "GRU" else 1)
    opt = torch.optim.Adam(model.parameters(), 1e-2)
    data = torch.tensor(ids)
    for step in range(150):
        start = (step * 37) % (len(ids) - 33)
        x = data[start:start + 32].unsqueeze(1)
        y = data[start + 1:start + 33].unsqueeze(1)
        logits, _ = model(x)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, len(vocab)), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()


def stream_loss(model, vocab, text):
    ids = [vocab.index(c) for c in text if c in vocab]
    with torch.no_grad():
        logits, _ = model(torch.tensor(ids[:-1]).unsqueeze(1))
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, len(vocab)), torch.tensor(ids[1:]), reduction="sum")
    return loss.item() / (len(ids) - 1), len(ids) - 1, sum(1 for c in text if c not in vocab)


def greedy(model, vocab, prompt, length):
    with torch.no_grad():
        logits, hidden = model(torch.tensor([vocab.index(c) for c in prompt]).unsqueeze(1))
        out = []
        for _ in range(length):
            nxt = int(logits[-1, 0].argmax())
            out.append(vocab[nxt])
            logits, hidden = model(torch.tensor([[nxt]]), hidden)
    return "".join(out)


def main():
    vocab = []
    for c in TRAIN:
        if c not in vocab:
            vocab.append(c)
    ids = [vocab.index(c) for c in TRAIN]
    expected = {"test_text": TEST, "prompt": PROMPT}
    for cell in ("LSTM", "GRU"):
        model = train(cell, vocab, ids)
        name = f"char_{cell.lower()}"
        config = {"cell": cell.lower(), "embedding_size": 12, "hidden_size": 24,
                  "layers": model.rnn.num_layers, "tokens": "char", "tied": False}
        metadata = {"zoo.task": "language-model", "zoo.config": json.dumps(config),
                    "zoo.vocabulary": json.dumps(vocab, ensure_ascii=False)}
        save_file({k: v.contiguous() for k, v in model.state_dict().items()},
                  os.path.join(HERE, name + ".safetensors"), metadata)
        loss, tokens, unknown = stream_loss(model, vocab, TEST)
        expected[name] = {"loss": loss, "tokens": tokens, "unknown": unknown,
                          "bits_per_char": loss / math.log(2), "greedy": greedy(model, vocab, PROMPT, 40)}
    with open(os.path.join(HERE, "expected.json"), "w", encoding="utf-8") as f:
        json.dump(expected, f, indent=2, ensure_ascii=False)
    print(json.dumps(expected, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
