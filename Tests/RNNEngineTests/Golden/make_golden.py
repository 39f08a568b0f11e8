#!/usr/bin/env python3
"""Writes the golden files the RNNEngine tests compare against, from PyTorch.

Regenerate (from the repository root, with torch, numpy and safetensors installed):

    python3 Tests/RNNEngineTests/Golden/make_golden.py

Every file is small: tiny shapes, float32, fixed seeds.
"""
import os

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
torch.manual_seed(1234)


def save(name, tensors, metadata=None):
    tensors = {k: v.detach().contiguous().clone() for k, v in tensors.items()}
    save_file(tensors, os.path.join(HERE, name), metadata or {})


def recurrent(cell, nonlinearity=None):
    """Two layers, bidirectional, a padded batch (lengths 5, 2, 4), initial state, and a loss
    that weighs every output and final state so all their gradients are checked."""
    T, B, I, H, L = 5, 3, 4, 3, 2
    kwargs = dict(num_layers=L, bidirectional=True)
    if nonlinearity:
        kwargs["nonlinearity"] = nonlinearity
    rnn = getattr(torch.nn, cell)(I, H, **kwargs).double().float()
    x = torch.randn(T, B, I, requires_grad=True)
    lengths = torch.tensor([5, 2, 4])
    h0 = torch.randn(L * 2, B, H, requires_grad=True)
    c0 = torch.randn(L * 2, B, H, requires_grad=True)
    packed = torch.nn.utils.rnn.pack_padded_sequence(x, lengths, enforce_sorted=False)
    if cell == "LSTM":
        out, (hn, cn) = rnn(packed, (h0, c0))
    else:
        out, hn = rnn(packed, h0)
        cn = None
    y, _ = torch.nn.utils.rnn.pad_packed_sequence(out, total_length=T)
    wy, wh = torch.randn_like(y), torch.randn_like(hn)
    loss = (y * wy).sum() + (hn * wh).sum()
    tensors = {"x": x, "lengths": lengths.float(), "h0": h0, "y": y, "h_n": hn, "w_y": wy, "w_h": wh}
    if cn is not None:
        wc = torch.randn_like(cn)
        loss = loss + (cn * wc).sum()
        tensors.update({"c0": c0, "c_n": cn, "w_c": wc})
    loss.backward()
    tensors["loss"] = loss.reshape(1)
    tensors["grad.x"] = x.grad
    tensors["grad.h0"] = h0.grad
    if cn is not None:
        tensors["grad.c0"] = c0.grad
    for name, p in rnn.named_parameters():
        tensors["rnn." + name] = p
        tensors["grad.rnn." + name] = p.grad
    kind = cell.lower() if not nonlinearity else "rnn_" + nonlinearity
    save(f"recurrent_{kind}.safetensors", tensors, {"cell": kind, "layers": str(L), "bidirectional": "true"})


def optimizers():
    """A few steps of Adam, AdamW and SGD (momentum, Nesterov, weight decay) from given gradients."""
    p0 = torch.randn(7)
    grads = [torch.randn(7) for _ in range(4)]
    tensors = {"p0": p0}
    for i, g in enumerate(grads):
        tensors[f"g{i}"] = g
    configs = {
        "adam": lambda p: torch.optim.Adam([p], lr=0.01, weight_decay=0.1),
        "adamw": lambda p: torch.optim.AdamW([p], lr=0.01, weight_decay=0.1),
        "sgd": lambda p: torch.optim.SGD([p], lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
    }
    for name, make in configs.items():
        p = torch.nn.Parameter(p0.clone())
        opt = make(p)
        for i, g in enumerate(grads):
            p.grad = g.clone()
            opt.step()
            tensors[f"{name}.p{i + 1}"] = p.detach().clone()
    save("optimizers.safetensors", tensors)


def clipping():
    g = [torch.randn(3, 4) * 3, torch.randn(5) * 3]
    params = [torch.nn.Parameter(torch.zeros_like(t)) for t in g]
    for p, t in zip(params, g):
        p.grad = t.clone()
    norm = torch.nn.utils.clip_grad_norm_(params, 2.0)
    save("clipping.safetensors", {"g0": g[0], "g1": g[1], "clipped0": params[0].grad,
                                  "clipped1": params[1].grad, "norm": norm.reshape(1)})


def cross_entropy():
    logits = torch.randn(6, 5, requires_grad=True)
    targets = torch.tensor([0, 4, 2, -100, 1, 3])
    loss = F.cross_entropy(logits, targets, ignore_index=-100, label_smoothing=0.1)
    loss.backward()
    save("cross_entropy.safetensors", {"logits": logits, "targets": targets.float(),
                                       "loss": loss.reshape(1), "grad": logits.grad})


def ctc():
    T, B, C = 12, 3, 6
    logits = torch.randn(T, B, C, requires_grad=True)
    targets = [[1, 2, 2, 3], [5], [4, 1, 4]]
    input_lengths = torch.tensor([12, 7, 10])
    flat = torch.tensor([c for t in targets for c in t])
    target_lengths = torch.tensor([len(t) for t in targets])
    loss = F.ctc_loss(logits.log_softmax(2), flat, input_lengths, target_lengths, blank=0)
    loss.backward()
    padded = torch.zeros(B, 4)
    for b, t in enumerate(targets):
        padded[b, :len(t)] = torch.tensor(t, dtype=torch.float)
    save("ctc.safetensors", {"logits": logits, "targets": padded, "target_lengths": target_lengths.float(),
                             "input_lengths": input_lengths.float(), "loss": loss.reshape(1), "grad": logits.grad})


def dtypes():
    """A file as Python's safetensors writes it, with every dtype the engine converts."""
    base = torch.tensor([[0.5, -1.25, 3.0], [1e-3, -65504.0, 2.0 ** -20]])
    save_file({"f32": base, "f16": base.half(), "bf16": base.bfloat16(), "f64": base.double(),
               "i64": torch.arange(3)}, os.path.join(HERE, "python_dtypes.safetensors"),
              {"zoo.task": "test", "note": "written by safetensors.torch.save_file"})


if __name__ == "__main__":
    recurrent("LSTM")
    recurrent("GRU")
    recurrent("RNN", "tanh")
    recurrent("RNN", "relu")
    optimizers()
    clipping()
    cross_entropy()
    ctc()
    dtypes()
    print("golden files written to", HERE)
