"""The PyTorch twin of `zoo train captioning`: the same data, model (with zoo's tensor names) and
schedule, so the two BLEU-4 scores can be compared.

    /tmp/torchref/bin/pip install torch numpy pillow sacrebleu safetensors
    zoo data captioning --out /tmp/caption-data            # or any directory of TSV splits
    /tmp/torchref/bin/python scripts/reference/torch_captioning.py --data /tmp/caption-data --steps 2500

What it mirrors (zoo's defaults): images resized to 64 x 64 (area averaging, Pillow's BOX filter)
and scaled to -1..1; four 3x3 convolution blocks (32-64-128-256, ReLU, 2x2 max pooling after
the first three); a Show-Attend-Tell decoder (embedding 128, LSTMCell 256, additive attention
256 over the 8 x 8 grid, a sigmoid gate on the context, initial state from the mean feature);
dropout 0.3 before the output layer; cross-entropy per token plus the doubly stochastic penalty
sum over positions of (1 - sum over each caption's steps of alpha)^2, averaged over images;
Adam 1e-3, clipping at 5, caption-length-bucketed batches of 32 (image, caption) pairs,
validation BLEU-4 of greedy captions every epoch (at most 500 steps) with the learning rate
x 0.25 when it does not improve; the best checkpoint captions the test split with a beam of 3.
Prints one JSON line at the end.
"""
import argparse
import json
import math
import os
import re
import time

import numpy as np
import sacrebleu
import torch
import torch.nn.functional as F
from PIL import Image

PAD, UNK, START, END = 0, 1, 2, 3


def words(caption):
    return [w.rstrip("'") for w in re.findall(r"[^\W_]+(?:'[^\W_]*)*", caption.lower())]


class Captioner(torch.nn.Module):
    def __init__(self, V, E=128, H=256, A=256, channels=(32, 64, 128, 256), batch_norm=False, dropout=0.3):
        super().__init__()
        layers, c_in = [], 3
        for k, c in enumerate(channels):
            layers.append(torch.nn.Conv2d(c_in, c, 3, padding=1))
            if batch_norm:
                layers.append(torch.nn.BatchNorm2d(c))
            layers.append(torch.nn.ReLU())
            if k < len(channels) - 1:
                layers.append(torch.nn.MaxPool2d(2))
            c_in = c
        self.cnn = torch.nn.Sequential(*layers)
        D = c_in
        self.embedding = torch.nn.Embedding(V, E, padding_idx=PAD)
        self.init_h, self.init_c = torch.nn.Linear(D, H), torch.nn.Linear(D, H)
        self.att_feat, self.att_hidden, self.att_out = torch.nn.Linear(D, A), torch.nn.Linear(H, A), torch.nn.Linear(A, 1)
        self.gate = torch.nn.Linear(H, D)
        self.cell = torch.nn.LSTMCell(E + D, H)
        self.output = torch.nn.Linear(H, V)
        self.dropout = torch.nn.Dropout(dropout)

    def start(self, images):
        feats = self.cnn(images).flatten(2).transpose(1, 2)          # (B, L, D)
        mean = feats.mean(1)
        return feats, self.att_feat(feats), torch.tanh(self.init_h(mean)), torch.tanh(self.init_c(mean))

    def step(self, y, h, c, feats, proj):
        alpha = torch.softmax(self.att_out(torch.tanh(proj + self.att_hidden(h).unsqueeze(1))).squeeze(2), 1)
        context = torch.sigmoid(self.gate(h)) * torch.bmm(alpha.unsqueeze(1), feats).squeeze(1)
        h, c = self.cell(torch.cat([self.embedding(y), context], 1), (h, c))
        return h, c, alpha

    def loss(self, images, captions, penalty=1.0):
        """captions: lists of ids without start or end. Mean cross-entropy per token (end
        included) plus penalty * mean over images of sum over positions of (1 - sum_t alpha)^2."""
        B, T = len(captions), max(len(c) for c in captions) + 1
        tgt_in = torch.full((B, T), PAD, dtype=torch.long)
        tgt_out = torch.full((B, T), PAD, dtype=torch.long)
        for b, c in enumerate(captions):
            tgt_in[b, : len(c) + 1] = torch.tensor([START] + c)
            tgt_out[b, : len(c) + 1] = torch.tensor(c + [END])
        feats, proj, h, c = self.start(images)
        hidden, alphas = [], []
        for t in range(T):
            h, c, alpha = self.step(tgt_in[:, t], h, c, feats, proj)
            hidden.append(h)
            alphas.append(alpha)
        logits = self.output(self.dropout(torch.stack(hidden, 1)))
        ce = F.cross_entropy(logits.reshape(-1, logits.size(-1)), tgt_out.reshape(-1), ignore_index=PAD)
        mask = (tgt_out != PAD).float().unsqueeze(2)                  # each caption's own steps
        attended = (torch.stack(alphas, 1) * mask).sum(1)             # (B, L)
        return ce + penalty * ((1 - attended) ** 2).sum(1).mean()

    @torch.no_grad()
    def greedy(self, images, max_len=20):
        feats, proj, h, c = self.start(images)
        y = torch.full((images.size(0),), START, dtype=torch.long)
        out = []
        for _ in range(max_len):
            h, c, _ = self.step(y, h, c, feats, proj)
            logits = self.output(h)
            logits[:, PAD] = logits[:, START] = -math.inf
            y = logits.argmax(1)
            out.append(y)
        return [cut(row) for row in torch.stack(out, 1).tolist()]

    @torch.no_grad()
    def beam(self, image, K=3, max_len=20):
        """Beam search for one image; log p / length ranks finished and unfinished hypotheses."""
        feats, proj, h, c = self.start(image.unsqueeze(0))
        beams = [([], 0.0, h, c)]
        finished = []
        for _ in range(max_len):
            candidates = []
            for tokens, score, h, c in beams:
                y = torch.tensor([tokens[-1] if tokens else START])
                h2, c2, _ = self.step(y, h, c, feats, proj)
                logp = torch.log_softmax(self.output(h2), 1)[0]
                logp[PAD] = logp[START] = -math.inf
                top = torch.topk(logp, K)
                for lp, w in zip(top.values.tolist(), top.indices.tolist()):
                    candidates.append((tokens + [w], score + lp, h2, c2))
            candidates.sort(key=lambda x: -x[1])
            beams = []
            for cand in candidates:
                if cand[0][-1] == END:
                    finished.append((cand[0][:-1], cand[1] / len(cand[0])))
                else:
                    beams.append(cand)
                if len(beams) == K:
                    break
            if not beams or (len(finished) >= K and max(f[1] for f in finished) > beams[0][1] / len(beams[0][0])):
                break
        pool = finished + [(t, s / len(t)) for t, s, _, _ in beams]
        return max(pool, key=lambda x: x[1])[0]


def cut(ids):
    return ids[: ids.index(END)] if END in ids else ids


def load_split(data, split, size):
    by_image = {}
    with open(os.path.join(data, f"{split}.tsv"), encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            path, caption = line.rstrip("\n").split("\t")[:2]
            if words(caption):
                by_image.setdefault(path, []).append(caption)
    paths = list(by_image)
    images = []
    for p in paths:
        rgba = Image.open(os.path.join(data, p)).convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        rgb = Image.alpha_composite(white, rgba).convert("RGB")
        resample = Image.BOX if rgb.size[0] >= size else Image.BILINEAR
        images.append(np.asarray(rgb.resize((size, size), resample), dtype=np.float32).transpose(2, 0, 1) / 127.5 - 1)
    return torch.tensor(np.stack(images)), [by_image[p] for p in paths]


def bleu4(model, images, references, vocab, beam=0):
    model.eval()
    if beam:
        ids = [model.beam(images[i], beam) for i in range(len(images))]
    else:
        ids = []
        for s in range(0, len(images), 64):
            ids += model.greedy(images[s: s + 64])
    model.train()
    hyps = [" ".join(vocab[i] for i in row if i > END) for row in ids]
    refs = [[" ".join(words(r)) for r in rs] for rs in references]
    streams = [[rs[k] if k < len(rs) else rs[0] for rs in refs] for k in range(max(len(rs) for rs in refs))]
    return sacrebleu.corpus_bleu(hyps, streams).score, hyps


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True)
    p.add_argument("--steps", type=int, default=2500)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--image-size", type=int, default=64)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)

    started = time.time()
    train_images, train_refs = load_split(a.data, "train", a.image_size)
    valid_images, valid_refs = load_split(a.data, "valid", a.image_size)
    test_images, test_refs = load_split(a.data, "test", a.image_size)
    counts = {}
    for rs in train_refs:
        for r in rs:
            for w in words(r):
                counts[w] = counts.get(w, 0) + 1
    vocab = ["<pad>", "<unk>", "<start>", "<end>"] + sorted(counts, key=lambda w: (-counts[w], w))
    index = {w: i for i, w in enumerate(vocab)}
    pairs = [(i, [index.get(w, UNK) for w in words(r)]) for i, rs in enumerate(train_refs) for r in rs]
    print(f"data: {len(train_refs)} images, {len(pairs)} captions, vocabulary {len(vocab)} in {time.time() - started:.1f} s", flush=True)

    model = Captioner(len(vocab))
    opt = torch.optim.Adam(model.parameters(), a.lr)
    steps_per_epoch = math.ceil(len(pairs) / a.batch_size)
    eval_every = min(steps_per_epoch, 500)
    best, best_state, batches = -1.0, None, []
    train_started = time.time()
    for step in range(1, a.steps + 1):
        if not batches:
            order = rng.permutation(len(pairs))
            for s in range(0, len(order), a.batch_size * 50):
                chunk = sorted(order[s: s + a.batch_size * 50], key=lambda i: -len(pairs[i][1]))
                batches += [chunk[k: k + a.batch_size] for k in range(0, len(chunk), a.batch_size)]
            batches = [batches[i] for i in rng.permutation(len(batches))]
        chunk = batches.pop()
        loss = model.loss(train_images[[pairs[i][0] for i in chunk]], [pairs[i][1] for i in chunk])
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        if step % eval_every == 0 or step == a.steps:
            score, _ = bleu4(model, valid_images, valid_refs, vocab)
            lr = opt.param_groups[0]["lr"]
            if score > best + 1e-4 * abs(best) or best < 0:
                best, best_state = score, {k: v.clone() for k, v in model.state_dict().items()}
            else:
                for g in opt.param_groups:
                    g["lr"] = lr * 0.25
            print(json.dumps(dict(step=step, train_loss=round(loss.item(), 4), valid_bleu4=round(score, 2), learning_rate=lr)), flush=True)
    train_seconds = time.time() - train_started
    model.load_state_dict(best_state)
    score, hyps = bleu4(model, test_images, test_refs, vocab, beam=3)
    for h, rs in list(zip(hyps, test_refs))[:3]:
        print(f"  {h}\n    (reference: {rs[0]})")
    print(json.dumps(dict(test_bleu4=round(score, 2), best_valid_bleu4=round(best, 2), steps=a.steps,
                          train_seconds=round(train_seconds, 1), images=len(test_refs))), flush=True)


if __name__ == "__main__":
    main()
