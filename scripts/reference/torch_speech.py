"""The PyTorch twin of `zoo train speech`: the same data, features, model and schedule, so the
two error rates can be compared.

    /tmp/torchref/bin/pip install torch numpy scipy soundfile jiwer
    zoo data speech --out /tmp/speech-data           # or any directory of TSV manifests
    /tmp/torchref/bin/python scripts/reference/torch_speech.py --data /tmp/speech-data --steps 2000

What it mirrors (zoo's defaults): audio mixed down and resampled to 16 kHz (a Kaiser-windowed
polyphase filter here, zoo's windowed sinc there), 80 log-mel features computed as
docs/reference.md defines them, each utterance normalised to zero mean and unit variance per
bin, SpecAugment (2 frequency masks of up to 15 bins, 2 time masks of up to 20 frames, at most a
fifth of the utterance), 3 frames stacked, a 3-layer BiLSTM of 256 with dropout 0.1 between
layers and before the output, CTC over blank + " 'a-z" (each utterance's loss divided by its
transcript length, averaged over the batch), Adam 1e-3, clipping at 5, length-bucketed batches
of 16, validation WER every epoch (at most 200 steps) with the learning rate × 0.25 when it does
not improve, and the best validation checkpoint scored on the test split. Prints one JSON line.
"""
import argparse
import json
import math
import os
import time

import jiwer
import numpy as np
import soundfile
import torch
import torch.nn.functional as F
from scipy.signal import resample_poly

RATE, N_FFT, WINDOW, HOP, MELS, FLOOR = 16000, 512, 400, 160, 80, 1e-10
SYMBOLS = " 'abcdefghijklmnopqrstuvwxyz"


def mel_filterbank():
    mel = lambda f: 2595 * np.log10(1 + f / 700)
    hertz = lambda m: 700 * (10 ** (m / 2595) - 1)
    centres = hertz(np.linspace(mel(0.0), mel(RATE / 2), MELS + 2))
    bins = np.arange(N_FFT // 2 + 1) * RATE / N_FFT
    up = (bins[:, None] - centres[None, :-2]) / (centres[1:-1] - centres[:-2])[None, :]
    down = (centres[None, 2:] - bins[:, None]) / (centres[2:] - centres[1:-1])[None, :]
    return np.maximum(0, np.minimum(up, down))


FILTERBANK = mel_filterbank()
HANN = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(WINDOW) / WINDOW)


def features(path):
    x, rate = soundfile.read(path, dtype="float64", always_2d=True)
    x = x.mean(1)
    if rate != RATE:
        g = math.gcd(rate, RATE)
        x = resample_poly(x, RATE // g, rate // g)
    frames = max(0, 1 + (x.size - WINDOW) // HOP)
    segments = np.stack([x[f * HOP: f * HOP + WINDOW] * HANN for f in range(frames)])
    power = np.abs(np.fft.rfft(segments, n=N_FFT)) ** 2
    logmel = np.log(np.maximum(power @ FILTERBANK, FLOOR))
    mean, std = logmel.mean(0), logmel.std(0)
    return ((logmel - mean) / np.maximum(std, 1e-5)).astype(np.float32)


def normalise_text(text):
    text = " ".join(text.lower().replace("\u2019", "'").split())
    return "".join(c for c in text if c in SYMBOLS)


def load(data, split):
    items = []
    with open(os.path.join(data, f"{split}.tsv"), encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            audio, text = line.rstrip("\n").split("\t")[:2]
            text = normalise_text(text)
            items.append((features(os.path.join(data, audio)), text, [SYMBOLS.index(c) + 1 for c in text]))
    return items


def stack(feats, k):
    frames = (feats.shape[0] + k - 1) // k
    padded = np.zeros((frames * k, feats.shape[1]), np.float32)
    padded[: feats.shape[0]] = feats
    return padded.reshape(frames, k * feats.shape[1])


def spec_augment(x, rng):
    x = x.copy()
    frames, bins = x.shape
    for _ in range(2):
        w = rng.integers(0, min(15, bins) + 1)
        s = rng.integers(0, bins - w + 1)
        x[:, s: s + w] = 0
    for _ in range(2):
        w = rng.integers(0, min(20, frames // 5) + 1)
        s = rng.integers(0, frames - w + 1)
        x[s: s + w] = 0
    return x


class Recogniser(torch.nn.Module):
    def __init__(self, features, hidden, layers, dropout, classes):
        super().__init__()
        self.rnn = torch.nn.LSTM(features, hidden, layers, dropout=dropout, bidirectional=True, batch_first=True)
        self.dropout = torch.nn.Dropout(dropout)
        self.output = torch.nn.Linear(2 * hidden, classes)

    def forward(self, x, lengths):
        packed = torch.nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        h, _ = self.rnn(packed)
        h, _ = torch.nn.utils.rnn.pad_packed_sequence(h, batch_first=True, total_length=x.size(1))
        return self.output(self.dropout(h))


def batch_tensors(feats, k):
    stacked = [stack(f, k) for f in feats]
    lengths = torch.tensor([s.shape[0] for s in stacked])
    x = torch.zeros(len(stacked), int(lengths.max()), stacked[0].shape[1])
    for b, s in enumerate(stacked):
        x[b, : s.shape[0]] = torch.from_numpy(s)
    return x, lengths


def transcribe(model, items, k, batch):
    model.eval()
    texts = []
    with torch.no_grad():
        for start in range(0, len(items), batch):
            chunk = items[start: start + batch]
            x, lengths = batch_tensors([i[0] for i in chunk], k)
            best = model(x, lengths).argmax(-1)
            for b in range(len(chunk)):
                path = best[b, : lengths[b]].tolist()
                ids = [c for t, c in enumerate(path) if c != 0 and (t == 0 or c != path[t - 1])]
                texts.append("".join(SYMBOLS[c - 1] for c in ids))
    model.train()
    return texts


def error_rates(model, items, k, batch):
    hyps = transcribe(model, items, k, batch)
    refs = [i[1] for i in items]
    return 100 * jiwer.wer(refs, hyps), 100 * jiwer.cer(refs, hyps), hyps


def bucketed_batches(lengths, batch, rng, pool=50):
    order = rng.permutation(len(lengths))
    batches = []
    for start in range(0, len(order), batch * pool):
        chunk = sorted(order[start: start + batch * pool], key=lambda i: -lengths[i])
        batches += [chunk[s: s + batch] for s in range(0, len(chunk), batch)]
    return [batches[i] for i in rng.permutation(len(batches))]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, help="directory with train.tsv, valid.tsv, test.tsv")
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--hidden-size", type=int, default=256)
    p.add_argument("--layers", type=int, default=3)
    p.add_argument("--stacking", type=int, default=3)
    p.add_argument("--dropout", type=float, default=0.1)
    p.add_argument("--clip", type=float, default=5.0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)

    started = time.time()
    train, valid, test = (load(a.data, s) for s in ("train", "valid", "test"))
    print(f"features: {len(train)} train, {len(valid)} valid, {len(test)} test in {time.time() - started:.1f} s", flush=True)

    k = a.stacking
    model = Recogniser(MELS * k, a.hidden_size, a.layers, a.dropout, len(SYMBOLS) + 1)
    opt = torch.optim.Adam(model.parameters(), a.lr)
    lengths = [i[0].shape[0] for i in train]
    steps_per_epoch = math.ceil(len(train) / a.batch_size)
    eval_every = min(steps_per_epoch, 200)
    best_wer, best_state, batches = math.inf, None, []
    train_started = time.time()
    for step in range(1, a.steps + 1):
        if not batches:
            batches = bucketed_batches(lengths, a.batch_size, rng)
        chunk = batches.pop()
        x, x_len = batch_tensors([spec_augment(train[i][0], rng) for i in chunk], k)
        targets = torch.cat([torch.tensor(train[i][2]) for i in chunk])
        t_len = torch.tensor([len(train[i][2]) for i in chunk])
        log_probs = torch.log_softmax(model(x, x_len), -1).transpose(0, 1)
        loss = F.ctc_loss(log_probs, targets, x_len, t_len, blank=0, reduction="mean")
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), a.clip)
        opt.step()
        if step % eval_every == 0 or step == a.steps:
            wer, cer, _ = error_rates(model, valid, k, a.batch_size)
            lr = opt.param_groups[0]["lr"]
            if wer < best_wer - 1e-4 * abs(best_wer) or best_wer == math.inf:
                best_wer, best_state = wer, {n: t.clone() for n, t in model.state_dict().items()}
            else:
                for g in opt.param_groups:
                    g["lr"] = lr * 0.25
            print(json.dumps(dict(step=step, train_loss=round(loss.item(), 5), valid_wer=round(wer, 3),
                                  valid_cer=round(cer, 3), learning_rate=lr)), flush=True)
    train_seconds = time.time() - train_started
    model.load_state_dict(best_state)
    wer, cer, hyps = error_rates(model, test, k, a.batch_size)
    for (_, ref, _), hyp in list(zip(test, hyps))[:3]:
        print(f"  ref: {ref}\n  hyp: {hyp}")
    print(json.dumps(dict(test_wer=round(wer, 3), test_cer=round(cer, 3), best_valid_wer=round(best_wer, 3),
                          steps=a.steps, train_seconds=round(train_seconds, 1), utterances=len(test))), flush=True)


if __name__ == "__main__":
    main()
