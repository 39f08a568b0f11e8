#!/usr/bin/env python3
"""Writes the metric goldens the RNNEngine tests compare against: sacreBLEU's corpus BLEU and
chrF and its 13a tokenization, and jiwer's WER and CER, on the sentences in metrics/.

Regenerate (from the repository root, with sacrebleu and jiwer installed):

    python3 Tests/RNNEngineTests/Golden/make_metric_golden.py
"""
import json
import os
from importlib.metadata import version

import jiwer
import sacrebleu
from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "metrics")


def lines(name):
    with open(os.path.join(HERE, name), encoding="utf-8") as f:
        return f.read().split("\n")[:-1]   # one entry per line, the file's last newline ends the last


def main():
    hyps, ref1, ref2 = lines("hypotheses.txt"), lines("references1.txt"), lines("references2.txt")
    tokenize = Tokenizer13a()
    golden = {
        "sacrebleu": sacrebleu.__version__,
        "jiwer": version("jiwer"),
        "tokenized_13a": [tokenize(line) for line in hyps + ref1 + ref2],
        "bleu_two_references": sacrebleu.corpus_bleu(hyps, [ref1, ref2]).score,
        "bleu_one_reference": sacrebleu.corpus_bleu(hyps, [ref1]).score,
        "bleu_precisions_two_references": sacrebleu.corpus_bleu(hyps, [ref1, ref2]).precisions,
        "bleu_brevity_penalty_one_reference": sacrebleu.corpus_bleu(hyps, [ref1]).bp,
        "bleu_no_match": sacrebleu.corpus_bleu(["xyz qqq"], [["a b c d e"]]).score,
        "bleu_short": sacrebleu.corpus_bleu(["the cat"], [["the cat sat"]]).score,
        "chrf_two_references": sacrebleu.corpus_chrf(hyps, [ref1, ref2]).score,
        "chrf_one_reference": sacrebleu.corpus_chrf(hyps, [ref1]).score,
        "wer": jiwer.wer(ref1, hyps),
        "cer": jiwer.cer(ref1, hyps),
        "wer_empty_references": jiwer.wer(["", ""], ["a b", ""]),
    }
    with open(os.path.join(HERE, "expected.json"), "w", encoding="utf-8") as f:
        json.dump(golden, f, ensure_ascii=False, indent=1)
    print("wrote", os.path.join(HERE, "expected.json"))


if __name__ == "__main__":
    main()
