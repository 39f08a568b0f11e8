#!/usr/bin/env python3
"""Loads a `zoo train lm` checkpoint into pytorch/examples' RNNModel with
`load_state_dict(strict=True)` and scores a text split as one stream, as `zoo eval lm` does.

    zoo train lm --tied --hidden-size 64 --out /tmp/tied
    zoo eval lm --checkpoint /tmp/tied/best.safetensors --split test --json
    python3 scripts/reference/load_zoo_lm.py /tmp/tied/best.safetensors --text /tmp/lmdata/test.txt

The loss printed (nats per token) equals zoo's to float rounding. Character models only: the
vocabulary comes from the checkpoint's `zoo.vocabulary`, characters outside it are dropped.
"""
import argparse
import json
import os
import sys

import torch
from safetensors import safe_open
from safetensors.torch import load_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_char_lm import RNNModel, stream_loss  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("checkpoint")
    p.add_argument("--text", required=True, help="the split to score, e.g. test.txt")
    a = p.parse_args()
    with safe_open(a.checkpoint, "pt") as f:
        metadata = f.metadata()
    config = json.loads(metadata["zoo.config"])
    vocabulary = json.loads(metadata["zoo.vocabulary"])
    if config["tokens"] != "char":
        sys.exit("only character models are scored here")
    model = RNNModel(config["cell"], len(vocabulary), config["embedding_size"], config["hidden_size"], config["layers"])
    if config.get("tied"):
        model.decoder.weight = model.encoder.weight   # pytorch/examples' --tied
    model.load_state_dict(load_file(a.checkpoint), strict=True)
    ids = {token: i for i, token in enumerate(vocabulary)}
    text = open(a.text, encoding="utf-8").read()
    stream = torch.tensor([ids[c] for c in text if c in ids])
    loss = stream_loss(model, stream)
    print(json.dumps({"loss": loss, "tokens": len(stream) - 1, "strict_load": True}))


if __name__ == "__main__":
    main()
