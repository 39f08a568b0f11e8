"""zoo's translation model in PyTorch: the same architecture, parameter names, initialisation,
tokenization, batching and schedule, to compare what the two learn on the same data.

    python3 -m venv /tmp/torchref && /tmp/torchref/bin/pip install torch numpy safetensors sacrebleu
    zoo data translation --out /tmp/mt
    /tmp/torchref/bin/python scripts/reference/torch_translation.py --data /tmp/mt --steps 4000
    # the same run in zoo:
    zoo train translation --data /tmp/mt --steps 4000 --out /tmp/mt-run
    zoo eval translation --checkpoint /tmp/mt-run/best.safetensors --data /tmp/mt --beam 1 --json
    # a zoo checkpoint read by this module (strict names and shapes), scored with greedy decoding:
    /tmp/torchref/bin/python scripts/reference/torch_translation.py --data /tmp/mt --load-zoo /tmp/mt-run/best.safetensors

The model (Luong et al. 2015, as OpenNMT-py builds it): embeddings -> bidirectional LSTM
encoder (hidden/2 per direction) -> LSTM decoder cells with input feeding -> Luong "general"
attention -> tanh(W_c [context; h]) -> generator. Every parameter uniform(-0.1, 0.1), padding
rows zero; dropout on embeddings, between layers and on the attentional vectors; label
smoothing; Adam, clipping at 5; validation BLEU (greedy) picks the best checkpoint.
"""
import argparse
import json
import math
import random
import time
import unicodedata

import torch
import torch.nn.functional as F

PAD, UNK, BOS, EOS = 0, 1, 2, 3
SPECIALS = ["<pad>", "<unk>", "<s>", "</s>"]


# ------------------------------------------------------------------ text, as zoo's WordTokenizer
def is_punctuation(c):
    return unicodedata.category(c)[0] in "PS"


def tokens(sentence):
    out = []
    for word in sentence.split():
        current = ""
        for i, c in enumerate(word):
            before = word[i - 1] if i > 0 else None
            after = word[i + 1] if i + 1 < len(word) else None
            joins = before is not None and after is not None and (
                (c in "'’-" and before.isalpha() and after.isalpha()) or (c in ".," and before.isdigit() and after.isdigit()))
            if is_punctuation(c) and not joins:
                if current:
                    out.append(current)
                    current = ""
                out.append(c)
            else:
                current += c
        if current:
            out.append(current)
    return out


CLOSING = set(".,!?;:)]}%…»”’。、！？")
OPENING = set("([{¿¡«“‘")


def detokenize(toks):
    text, quote_open, attach_next = "", False, True
    for t in toks:
        attach = attach_next or t in CLOSING
        if t in ('"', "'"):
            if quote_open:
                attach = True
            attach_next = not quote_open
            quote_open = not quote_open
        else:
            attach_next = t in OPENING
        text += ("" if attach else " ") + t
    return text


def read_tsv(path):
    pairs = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            fields = line.rstrip("\n").split("\t")
            if len(fields) >= 2 and fields[0].strip() and fields[1].strip():
                pairs.append((fields[0].strip(), fields[1].strip()))
    return pairs


def build_vocabulary(sentences):
    counts = {}
    for s in sentences:
        for t in tokens(s):
            counts[t] = counts.get(t, 0) + 1
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return SPECIALS + [t for t, _ in ranked]


def encode(sentence, index):
    return [index.get(t, UNK) for t in tokens(sentence)]


# ------------------------------------------------------------------ the model
class Seq2Seq(torch.nn.Module):
    def __init__(self, source_vocab, target_vocab, embed=128, hidden=256, dropout=0.1):
        super().__init__()
        self.hidden, self.dropout = hidden, dropout
        self.src_embedding = torch.nn.Embedding(source_vocab, embed, padding_idx=PAD)
        self.tgt_embedding = torch.nn.Embedding(target_vocab, embed, padding_idx=PAD)
        self.encoder = torch.nn.LSTM(embed, hidden // 2, 1, bidirectional=True)
        self.decoder = torch.nn.ModuleList([torch.nn.LSTMCell(embed + hidden, hidden)])
        self.attention = torch.nn.Module()
        self.attention.linear_in = torch.nn.Linear(hidden, hidden, bias=False)
        self.attention_out = torch.nn.Linear(2 * hidden, hidden, bias=False)
        self.generator = torch.nn.Linear(hidden, target_vocab)
        for p in self.parameters():
            torch.nn.init.uniform_(p, -0.1, 0.1)
        with torch.no_grad():
            self.src_embedding.weight[PAD].zero_()
            self.tgt_embedding.weight[PAD].zero_()

    def encode(self, src, lengths):
        """src (S, B) time-major, padded with 0."""
        x = F.dropout(self.src_embedding(src), self.dropout, self.training)
        packed = torch.nn.utils.rnn.pack_padded_sequence(x, lengths, enforce_sorted=False)
        out, (h, c) = self.encoder(packed)
        memory, _ = torch.nn.utils.rnn.pad_packed_sequence(out, total_length=src.size(0))
        memory = memory.transpose(0, 1)                                     # (B, S, H)
        state = (torch.cat([h[0], h[1]], 1), torch.cat([c[0], c[1]], 1))
        return memory, self.attention.linear_in(memory), (src != PAD).t(), state

    def step(self, y, state, feed, memory, keys, mask):
        h, c = self.decoder[0](torch.cat([self.tgt_embedding(y), feed], 1), state)
        scores = torch.bmm(keys, h.unsqueeze(2)).squeeze(2).masked_fill(~mask, float("-inf"))
        weights = torch.softmax(scores, 1)
        context = torch.bmm(weights.unsqueeze(1), memory).squeeze(1)
        return torch.tanh(self.attention_out(torch.cat([context, h], 1))), (h, c), weights

    def forward(self, src, lengths, tgt_in):
        memory, keys, mask, state = self.encode(src, lengths)
        embedded = F.dropout(self.tgt_embedding(tgt_in), self.dropout, self.training)
        feed, outs = memory.new_zeros(src.size(1), self.hidden), []
        for t in range(tgt_in.size(0)):
            h, c = self.decoder[0](torch.cat([embedded[t], feed], 1), state)
            state = (h, c)
            scores = torch.bmm(keys, h.unsqueeze(2)).squeeze(2).masked_fill(~mask, float("-inf"))
            context = torch.bmm(torch.softmax(scores, 1).unsqueeze(1), memory).squeeze(1)
            feed = torch.tanh(self.attention_out(torch.cat([context, h], 1)))
            outs.append(feed)
        return self.generator(F.dropout(torch.cat(outs, 0), self.dropout, self.training))

    @torch.no_grad()
    def greedy(self, src, lengths, max_len):
        memory, keys, mask, state = self.encode(src, lengths)
        B = src.size(1)
        y, feed = torch.full((B,), BOS, dtype=torch.long), memory.new_zeros(B, self.hidden)
        out, done = [], torch.zeros(B, dtype=torch.bool)
        for _ in range(max_len):
            feed, state, _ = self.step(y, state, feed, memory, keys, mask)
            logits = self.generator(feed)
            logits[:, PAD] = float("-inf")
            logits[:, BOS] = float("-inf")
            y = logits.argmax(1)
            out.append(y)
            done |= y == EOS
            if bool(done.all()):
                break
        return torch.stack(out, 1).tolist()


def pad(sequences):
    """(T, B) time-major, padded with 0, and the lengths."""
    T = max(len(s) for s in sequences)
    x = torch.zeros(T, len(sequences), dtype=torch.long)
    for b, s in enumerate(sequences):
        x[: len(s), b] = torch.tensor(s)
    return x, torch.tensor([len(s) for s in sequences])


def translate(model, sources, target_vocab, batch=64):
    model.eval()
    out = [None] * len(sources)
    order = sorted(range(len(sources)), key=lambda i: -len(sources[i]))
    for start in range(0, len(order), batch):
        items = order[start:start + batch]
        src, lengths = pad([sources[i] for i in items])
        for i, ids in zip(items, model.greedy(src, lengths, 2 * int(lengths.max()) + 10)):
            ids = ids[: ids.index(EOS)] if EOS in ids else ids
            out[i] = detokenize([target_vocab[t] for t in ids])
    return out


def bleu(model, pairs, source_index, target_vocab):
    """Corpus BLEU with every reference of a repeated source, as zoo's evaluation."""
    import sacrebleu
    by_source = {}
    for s, t in pairs:
        by_source.setdefault(s, []).append(t)
    sources = list(by_source)
    hypotheses = translate(model, [encode(s, source_index) or [UNK] for s in sources], target_vocab)
    refs = [by_source[s] for s in sources]
    most = max(len(r) for r in refs)
    streams = [[r[k] if k < len(r) else None for r in refs] for k in range(most)]
    return sacrebleu.corpus_bleu(hypotheses, streams).score, len(sources)


def batches(lengths, batch_size, seed, epoch, pool=50):
    """Length-bucketed batches: shuffle, sort within pools of 50 batches, shuffle the batches."""
    rng = random.Random(seed * 1000 + epoch)
    order = list(range(len(lengths)))
    rng.shuffle(order)
    result = []
    for start in range(0, len(order), batch_size * pool):
        chunk = sorted(order[start:start + batch_size * pool], key=lambda i: -lengths[i])
        result += [chunk[k:k + batch_size] for k in range(0, len(chunk), batch_size)]
    rng.shuffle(result)
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="directory with train.tsv, valid.tsv, test.tsv")
    parser.add_argument("--steps", type=int, default=4000)
    parser.add_argument("--eval-every", type=int, default=500)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--load-zoo", help="score this zoo checkpoint instead of training")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    train, valid, test = (read_tsv(f"{args.data}/{split}.tsv") for split in ("train", "valid", "test"))

    if args.load_zoo:
        from safetensors import safe_open
        from safetensors.torch import load_file
        with safe_open(args.load_zoo, "pt") as f:
            meta = f.metadata()
        source_vocab, target_vocab = json.loads(meta["zoo.source_vocabulary"]), json.loads(meta["zoo.target_vocabulary"])
        config = json.loads(meta["zoo.config"])
        model = Seq2Seq(len(source_vocab), len(target_vocab), config["embedding_size"], config["hidden_size"])
        model.load_state_dict(load_file(args.load_zoo), strict=True)
        score, n = bleu(model, test, {t: i for i, t in enumerate(source_vocab)}, target_vocab)
        print(json.dumps(dict(checkpoint=args.load_zoo, test_bleu_greedy=round(score, 2), sentences=n)))
        return

    source_vocab = build_vocabulary(s for s, _ in train)
    target_vocab = build_vocabulary(t for _, t in train)
    source_index = {t: i for i, t in enumerate(source_vocab)}
    target_index = {t: i for i, t in enumerate(target_vocab)}
    data = [(encode(s, source_index), encode(t, target_index)) for s, t in train]
    data = [(s, t) for s, t in data if s and t and len(s) <= 50 and len(t) <= 50]
    model = Seq2Seq(len(source_vocab), len(target_vocab))
    adam = torch.optim.Adam(model.parameters(), lr=1e-3)
    lengths = [max(len(s), len(t)) for s, t in data]
    best, best_state, epoch, queue, start = -1.0, None, 0, [], time.time()
    for step in range(1, args.steps + 1):
        if not queue:
            queue = batches(lengths, args.batch_size, args.seed, epoch)
            epoch += 1
        items = queue.pop(0)
        model.train()
        src, src_len = pad([data[i][0] for i in items])
        tgt_in, _ = pad([[BOS] + data[i][1] for i in items])
        tgt_out, _ = pad([data[i][1] + [EOS] for i in items])
        adam.zero_grad()
        loss = F.cross_entropy(model(src, src_len, tgt_in), tgt_out.reshape(-1), ignore_index=PAD, label_smoothing=0.1)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        adam.step()
        if step % args.eval_every == 0 or step == args.steps:
            score, _ = bleu(model, valid[:2000], source_index, target_vocab)
            print(json.dumps(dict(step=step, loss=round(loss.item(), 4), valid_bleu=round(score, 2),
                                  seconds=round(time.time() - start, 1))), flush=True)
            if score > best:
                best, best_state = score, {k: v.clone() for k, v in model.state_dict().items()}
    model.load_state_dict(best_state)
    score, n = bleu(model, test, source_index, target_vocab)
    print(json.dumps(dict(test_bleu_greedy=round(score, 2), best_valid_bleu=round(best, 2), sentences=n,
                          steps=args.steps, seconds=round(time.time() - start, 1))))


if __name__ == "__main__":
    main()
