#!/usr/bin/env python3
"""The PyTorch side of `zoo bench`: every workload zoo benchmarks, with the same names, sizes and
JSON fields, run by PyTorch on the CPU.

    python3 -m venv /tmp/torchref && /tmp/torchref/bin/pip install torch numpy sacrebleu pillow safetensors
    /tmp/torchref/bin/python scripts/reference/torch_bench.py --only lstm-lm
    scripts/benchmarks.sh --print   # both sides alternately, ratios of medians

Language-model workloads: Embedding -> LSTM/GRU layers -> Linear, time-major (T, B) ids. A
training step is the forward pass, softmax cross-entropy, the backward pass, clipping of the
global gradient norm at 5 and one Adam update; an inference step is the forward pass alone.
`ctc-loss` is the CTC loss (log-softmax included) forward and backward alone. `seq2seq-attn`
is the translation model of torch_translation.py: a training step, and greedy decoding of 22
tokens for a batch of 64. `asr-ctc` is the speech model: a training step with CTC, and
inference (the forward pass and the best path). `caption` is the captioning model of
torch_captioning.py: a training step with the attention penalty, and greedy captions of 16
tokens for a batch of 32 images. Each workload is
warmed up three times, then timed for --seconds.
"""
import argparse
import json
import time

import torch
import torch.nn.functional as F

# name -> model and batch sizes, as zoo's BenchmarkWorkloads defines them.
LANGUAGE_MODELS = [
    dict(name="lstm-lm", cell="lstm", batch=32, seq=64, embed=128, hidden=512, vocab=96, layers=1),
    dict(name="lstm-lm-2layer", cell="lstm", batch=32, seq=64, embed=128, hidden=512, vocab=96, layers=2),
    dict(name="lstm-lm-large", cell="lstm", batch=64, seq=100, embed=256, hidden=1024, vocab=96, layers=1),
    dict(name="lstm-lm-batch1", cell="lstm", batch=1, seq=64, embed=128, hidden=512, vocab=96, layers=1),
    dict(name="gru-lm", cell="gru", batch=32, seq=64, embed=128, hidden=512, vocab=96, layers=1),
]
CTC = dict(batch=16, frames=200, symbols=29, label_length=40)
ASR = dict(batch=16, frames=200, features=240, hidden=256, layers=3, bidirectional=True, symbols=29)
CAPTION = dict(batch=32, image_size=64, caption_length=16, vocab=500, embed=128, hidden=256, attention=256)
SEQ2SEQ = dict(batch=64, source_length=20, target_length=22, vocab=8000, embed=128, hidden=256, attention="general")


def seconds_per_step(step, seconds):
    for _ in range(3):
        step()
    start, steps = time.perf_counter(), 0
    while True:
        step()
        steps += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return elapsed / steps


def emit(**fields):
    print(json.dumps(fields), flush=True)


def language_model(w, seconds):
    torch.manual_seed(0)
    recurrent = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[w["cell"]]
    embedding = torch.nn.Embedding(w["vocab"], w["embed"])
    rnn = recurrent(w["embed"], w["hidden"], w["layers"])
    output = torch.nn.Linear(w["hidden"], w["vocab"])
    parameters = [*embedding.parameters(), *rnn.parameters(), *output.parameters()]
    adam = torch.optim.Adam(parameters, lr=1e-3)
    T, B, V = w["seq"], w["batch"], w["vocab"]
    inputs, targets = torch.randint(0, V, (T, B)), torch.randint(0, V, (T, B))

    def logits():
        hidden, _ = rnn(embedding(inputs))
        return output(hidden)

    def train():
        adam.zero_grad()
        F.cross_entropy(logits().view(-1, V), targets.view(-1)).backward()
        torch.nn.utils.clip_grad_norm_(parameters, 5.0)
        adam.step()

    def infer():
        with torch.no_grad():
            logits()

    config = {k: v for k, v in w.items() if k != "name"}
    for kind, step in (("train", train), ("infer", infer)):
        dt = seconds_per_step(step, seconds)
        emit(bench=f"{w['name']}-{kind}", tokens_per_s=round(T * B / dt, 1), ms_per_step=round(dt * 1000, 3), **config)


def ctc_loss(seconds):
    torch.manual_seed(0)
    B, T, C, S = CTC["batch"], CTC["frames"], CTC["symbols"], CTC["label_length"]
    logits = torch.randn(T, B, C, requires_grad=True)
    labels = torch.randint(1, C, (B, S))
    frames, lengths = torch.full((B,), T), torch.full((B,), S)

    def step():
        logits.grad = None
        F.ctc_loss(logits.log_softmax(-1), labels, frames, lengths, blank=0).backward()

    dt = seconds_per_step(step, seconds)
    emit(bench="ctc-loss", frames_per_s=round(B * T / dt, 1), ms_per_step=round(dt * 1000, 3), **CTC)


def seq2seq_attention(seconds):
    """zoo's translation model (torch_translation.py beside this file), without dropout: 64 pairs,
    sources of 10 to 20 tokens padded to 20, 22 target steps, vocabularies of 8000."""
    from torch_translation import Seq2Seq
    torch.manual_seed(0)
    w = SEQ2SEQ
    B, S, T, V = w["batch"], w["source_length"], w["target_length"], w["vocab"]
    model = Seq2Seq(V, V, w["embed"], w["hidden"], dropout=0.0)
    adam = torch.optim.Adam(model.parameters(), lr=1e-3)
    lengths = torch.randint(10, S + 1, (B,))
    src = torch.randint(1, V, (S, B)) * (torch.arange(S)[:, None] < lengths[None, :])
    tgt_in, tgt_out = torch.randint(1, V, (T, B)), torch.randint(1, V, (T, B))

    def train():
        adam.zero_grad()
        F.cross_entropy(model(src, lengths, tgt_in), tgt_out.reshape(-1), ignore_index=0).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        adam.step()

    def decode():  # greedy, exactly T tokens for the whole batch
        with torch.no_grad():
            memory, keys, mask, state = model.encode(src, lengths)
            y, feed = torch.full((B,), 2, dtype=torch.long), memory.new_zeros(B, w["hidden"])
            for _ in range(T):
                feed, state, _ = model.step(y, state, feed, memory, keys, mask)
                y = model.generator(feed).argmax(1)

    model.eval()  # dropout is 0 anyway; the same modules in both steps
    for kind, step in (("train", train), ("decode", decode)):
        dt = seconds_per_step(step, seconds)
        emit(bench=f"seq2seq-attn-{kind}", tokens_per_s=round(B * T / dt, 1), ms_per_step=round(dt * 1000, 3), **w)


def asr_ctc(seconds):
    """zoo's speech model: a 3-layer bidirectional LSTM of 256 over 240 features (80 log-mel × 3
    stacked), a linear layer to 29 classes, CTC against 40 labels per utterance; 16 utterances of
    100 to 200 frames (the first 200), packed."""
    torch.manual_seed(0)
    w = ASR
    B, T, Fdim, H, L, C, S = w["batch"], w["frames"], w["features"], w["hidden"], w["layers"], w["symbols"], 40
    rnn = torch.nn.LSTM(Fdim, H, L, bidirectional=True)
    output = torch.nn.Linear(2 * H, C)
    parameters = [*rnn.parameters(), *output.parameters()]
    adam = torch.optim.Adam(parameters, lr=1e-3)
    lengths = torch.randint(T // 2, T + 1, (B,))
    lengths[0] = T
    x = torch.randn(T, B, Fdim)
    labels = torch.randint(1, C, (B, S))
    label_lengths = torch.full((B,), S)

    def logits():
        packed = torch.nn.utils.rnn.pack_padded_sequence(x, lengths, enforce_sorted=False)
        hidden, _ = torch.nn.utils.rnn.pad_packed_sequence(rnn(packed)[0], total_length=T)
        return output(hidden)

    def train():
        adam.zero_grad()
        F.ctc_loss(logits().log_softmax(-1), labels, lengths, label_lengths, blank=0, zero_infinity=True).backward()
        torch.nn.utils.clip_grad_norm_(parameters, 5.0)
        adam.step()

    def infer():
        with torch.no_grad():
            logits().argmax(-1)

    frames = int(lengths.sum())
    for kind, step in (("train", train), ("infer", infer)):
        dt = seconds_per_step(step, seconds)
        emit(bench=f"asr-ctc-{kind}", frames_per_s=round(frames / dt, 1), ms_per_step=round(dt * 1000, 3), **w)


def caption(seconds):
    """zoo's captioner: 32 images of 64 x 64, captions of 15 words and the end token (16 steps),
    a vocabulary of 500, no dropout, attention penalty 1."""
    from torch_captioning import START, Captioner

    torch.manual_seed(0)
    w = CAPTION
    B, S, T, V = w["batch"], w["image_size"], w["caption_length"], w["vocab"]
    model = Captioner(V, E=w["embed"], H=w["hidden"], A=w["attention"], dropout=0.0)
    adam = torch.optim.Adam(model.parameters(), lr=1e-3)
    images = torch.rand(B, 3, S, S) * 2 - 1
    captions = torch.randint(1, V, (B, T - 1)).tolist()

    def train():
        adam.zero_grad()
        model.loss(images, captions, penalty=1.0).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        adam.step()

    def decode():
        with torch.no_grad():
            feats, proj, h, c = model.start(images)
            y = torch.full((B,), START, dtype=torch.long)
            for _ in range(T):
                h, c, _ = model.step(y, h, c, feats, proj)
                y = model.output(h).argmax(1)

    for kind, step in (("train", train), ("decode", decode)):
        dt = seconds_per_step(step, seconds)
        emit(bench=f"caption-{kind}", images_per_s=round(B / dt, 1), ms_per_step=round(dt * 1000, 3), **w)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    names = [w["name"] for w in LANGUAGE_MODELS] + ["ctc-loss", "seq2seq-attn", "asr-ctc", "caption"]
    parser.add_argument("--only", choices=names, help="one workload (default: all)")
    parser.add_argument("--seconds", type=float, default=3.0, help="timed seconds per workload (default 3)")
    parser.add_argument("--threads", type=int, default=2, help="PyTorch threads (default 2, as zoo)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    for w in LANGUAGE_MODELS:
        if args.only in (None, w["name"]):
            language_model(w, args.seconds)
    if args.only in (None, "ctc-loss"):
        ctc_loss(args.seconds)
    if args.only in (None, "seq2seq-attn"):
        seq2seq_attention(args.seconds)
    if args.only in (None, "asr-ctc"):
        asr_ctc(args.seconds)
    if args.only in (None, "caption"):
        caption(args.seconds)


if __name__ == "__main__":
    main()
