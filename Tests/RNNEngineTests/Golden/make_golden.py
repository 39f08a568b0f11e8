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
               "i64": torch.arange(3), "i32": torch.tensor([-2, 0, 7], dtype=torch.int32),
               "u8": torch.tensor([0, 200, 255], dtype=torch.uint8), "bool": torch.tensor([True, False, True])}, os.path.join(HERE, "python_dtypes.safetensors"),
              {"zoo.task": "test", "note": "written by safetensors.torch.save_file"})


def weighted(outputs, tensors, prefix):
    """A loss Σ w∘y over `outputs` with random weights, saved as `<prefix>.w<i>` so the Swift
    test seeds the same output gradients."""
    loss = 0
    for i, y in enumerate(outputs):
        w = torch.randn_like(y)
        tensors[f"{prefix}.w{i}"] = w
        tensors[f"{prefix}.out{i}"] = y
        loss = loss + (y * torch.where(torch.isinf(y), torch.zeros_like(w), w)).nansum()
    return loss


def ops():
    """Each tape op on small shapes: inputs, outputs, loss weights and input gradients."""
    tensors = {}

    def case(name, inputs, f):
        xs = [t.clone().requires_grad_(True) for t in inputs]
        ys = f(*xs)
        ys = ys if isinstance(ys, (list, tuple)) else [ys]
        loss = weighted(ys, tensors, name)
        loss.backward()
        for i, x in enumerate(xs):
            tensors[f"{name}.in{i}"] = x
            tensors[f"{name}.grad{i}"] = x.grad if x.grad is not None else torch.zeros_like(x)

    r = torch.randn
    case("add", [r(2, 3, 4), r(2, 1, 4)], lambda a, b: a + b)
    case("subtract", [r(3, 4), r(4)], lambda a, b: a - b)
    case("multiply", [r(2, 1, 4), r(2, 3, 1)], lambda a, b: a * b)
    case("scale", [r(3, 5)], lambda a: 0.7 * a)
    case("tanh", [r(3, 5)], torch.tanh)
    case("sigmoid", [r(3, 5)], torch.sigmoid)
    case("relu", [r(3, 5)], torch.relu)
    case("concatenate", [r(2, 3, 4), r(2, 2, 4)], lambda a, b: torch.cat([a, b], 1))
    case("slice", [r(2, 3, 5)], lambda a: a[:, :, 1:4])
    case("split", [r(4, 6)], lambda a: list(torch.split(a, [2, 4], 1)))
    case("reshape", [r(2, 3, 4)], lambda a: a.reshape(6, 4))
    case("permute", [r(2, 3, 4)], lambda a: a.permute(2, 0, 1))
    case("matmul", [r(4, 3), r(4, 5)], lambda a, b: a.t() @ b)
    case("batched_matmul", [r(2, 3, 4), r(2, 5, 4)], lambda a, b: torch.bmm(a, b.transpose(1, 2)))
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0]], dtype=torch.bool)
    tensors["softmax.mask"] = mask.float().unsqueeze(1).expand(3, 2, 5).contiguous()
    case("softmax", [r(3, 2, 5)], lambda a: torch.softmax(a.masked_fill(~mask.unsqueeze(1), float("-inf")), 2))
    tensors["log_softmax.mask"] = mask.t().float().contiguous()
    case("log_softmax", [r(5, 3)], lambda a: torch.log_softmax(a.masked_fill(~mask.t(), float("-inf")), 0))
    case("sum", [r(2, 3, 4)], lambda a: a.sum(1))
    case("mean", [r(2, 3, 4)], lambda a: a.mean(0))
    case("index_select", [r(2, 3, 4)], lambda a: a.index_select(1, torch.tensor([2, 0, 2])))
    save("ops.safetensors", tensors)


def attention():
    """The three scores over a padded batch of memories, with the formulas of
    Sources/RNNEngine/Attention/Attention.swift written out in PyTorch."""
    B, S, Q, M, A, T = 3, 5, 4, 6, 7, 2
    lengths = torch.tensor([5, 2, 4])
    mask = torch.arange(S)[None, :] < lengths[:, None]                     # (B, S)
    tensors = {"lengths": lengths.float()}
    for score in ["dot", "general", "additive"]:
        m_size = Q if score == "dot" else M
        memory = torch.randn(B, S, m_size, requires_grad=True)
        query = torch.randn(B, T, Q, requires_grad=True)                   # T queries per item
        params = {}
        if score == "general":
            params["linear_in.weight"] = torch.randn(Q, M) * 0.4
        if score == "additive":
            params["key_layer.weight"] = torch.randn(A, M) * 0.4
            params["query_layer.weight"] = torch.randn(A, Q) * 0.4
            params["query_layer.bias"] = torch.randn(A) * 0.4
            params["energy.weight"] = torch.randn(1, A) * 0.4
        params = {k: v.requires_grad_(True) for k, v in params.items()}
        if score == "dot":
            scores = query @ memory.transpose(1, 2)
        elif score == "general":
            keys = memory @ params["linear_in.weight"].t()
            scores = query @ keys.transpose(1, 2)
        else:
            keys = memory @ params["key_layer.weight"].t()                 # (B, S, A)
            q = query @ params["query_layer.weight"].t() + params["query_layer.bias"]
            hidden = torch.tanh(keys[:, None, :, :] + q[:, :, None, :])    # (B, T, S, A)
            scores = (hidden @ params["energy.weight"].t()).squeeze(-1)
        weights = torch.softmax(scores.masked_fill(~mask[:, None, :], float("-inf")), 2)
        context = weights @ memory
        tensors.update({f"{score}.memory": memory, f"{score}.query": query})
        loss = weighted([context, weights], tensors, score)
        loss.backward()
        tensors[f"{score}.grad.memory"] = memory.grad
        tensors[f"{score}.grad.query"] = query.grad
        for k, v in params.items():
            tensors[f"{score}.attention.{k}"] = v
            tensors[f"{score}.grad.attention.{k}"] = v.grad
    save("attention.safetensors", tensors)


def convolution():
    """conv2d (stride 2, padding 1), max and average pooling, batch norm in training and
    evaluation mode (with the running statistics it leaves)."""
    tensors = {}
    x = torch.randn(2, 3, 7, 6, requires_grad=True)
    conv = torch.nn.Conv2d(3, 4, 3, stride=2, padding=1)
    y = conv(x)
    loss = weighted([y], tensors, "conv")
    loss.backward()
    tensors.update({"conv.x": x, "conv.weight": conv.weight, "conv.bias": conv.bias, "conv.grad.x": x.grad,
                    "conv.grad.weight": conv.weight.grad, "conv.grad.bias": conv.bias.grad})
    for name, pool in [("max_pool", torch.nn.MaxPool2d(2, 2)), ("avg_pool", torch.nn.AvgPool2d(3, 2, 1)),
                       ("max_pool_padded", torch.nn.MaxPool2d(3, 2, 1))]:
        x = torch.randn(2, 3, 7, 6, requires_grad=True)
        loss = weighted([pool(x)], tensors, name)
        loss.backward()
        tensors[f"{name}.x"] = x
        tensors[f"{name}.grad.x"] = x.grad
    bn = torch.nn.BatchNorm2d(3)
    with torch.no_grad():
        bn.weight.copy_(torch.randn(3))
        bn.bias.copy_(torch.randn(3))
    tensors["bn.weight"] = bn.weight.detach().clone()
    tensors["bn.bias"] = bn.bias.detach().clone()
    x = (torch.randn(4, 3, 5, 5) * 2 + 1).requires_grad_(True)
    loss = weighted([bn(x)], tensors, "bn_train")
    loss.backward()
    tensors.update({"bn_train.x": x, "bn_train.grad.x": x.grad, "bn_train.grad.weight": bn.weight.grad.clone(),
                    "bn_train.grad.bias": bn.bias.grad.clone(), "bn.running_mean": bn.running_mean.clone(),
                    "bn.running_var": bn.running_var.clone()})
    bn.eval()
    x = torch.randn(2, 3, 5, 5, requires_grad=True)
    bn.weight.grad = None
    loss = weighted([bn(x)], tensors, "bn_eval")
    loss.backward()
    tensors.update({"bn_eval.x": x, "bn_eval.grad.x": x.grad, "bn_eval.grad.weight": bn.weight.grad})
    save("convolution.safetensors", tensors)
    # A checkpoint as PyTorch writes a batch-norm state_dict (num_batches_tracked is I64).
    save_file({k: v.detach().clone() for k, v in bn.state_dict().items()},
              os.path.join(HERE, "batch_norm_state.safetensors"))


def cells():
    """Two steps of LSTMCell, GRUCell and RNNCell from a given state; the loss weighs both
    steps' outputs, so the gradient reaching the first step's state comes from two ops."""
    B, I, H = 3, 4, 5
    tensors = {}
    for name, make in [("lstm", torch.nn.LSTMCell), ("gru", torch.nn.GRUCell), ("rnn_tanh", torch.nn.RNNCell)]:
        cell = make(I, H)
        x1, x2 = torch.randn(B, I, requires_grad=True), torch.randn(B, I, requires_grad=True)
        h0, c0 = torch.randn(B, H, requires_grad=True), torch.randn(B, H, requires_grad=True)
        if name == "lstm":
            h1, c1 = cell(x1, (h0, c0))
            h2, c2 = cell(x2, (h1, c1))
            outputs = [h1, h2, c2]
        else:
            h1 = cell(x1, h0)
            h2 = cell(x2, h1)
            outputs = [h1, h2]
        loss = weighted(outputs, tensors, name)
        loss.backward()
        tensors.update({f"{name}.x1": x1, f"{name}.x2": x2, f"{name}.h0": h0,
                        f"{name}.grad.x1": x1.grad, f"{name}.grad.x2": x2.grad, f"{name}.grad.h0": h0.grad})
        if name == "lstm":
            tensors.update({f"{name}.c0": c0, f"{name}.grad.c0": c0.grad})
        for pname, p in cell.named_parameters():
            tensors[f"{name}.cell.{pname}"] = p
            tensors[f"{name}.grad.cell.{pname}"] = p.grad
    save("cells.safetensors", tensors)


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
    ops()
    attention()
    convolution()
    cells()
    print("golden files written to", HERE)
