#!/usr/bin/env python3
"""Writes the metric goldens the RNNEngine tests compare against: sacreBLEU's corpus BLEU and
chrF and its 13a tokenization, and jiwer's WER and CER, on the sentences in metrics/; and
CIDEr-D of the COCO evaluation code (pycocoevalcap) on a few captioned images.

Regenerate (from the repository root, with sacrebleu, jiwer and pycocoevalcap installed):

    python3 Tests/EngineSupportTests/Golden/make_metric_golden.py
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



def cider():
    """CIDEr-D of the COCO evaluation code (pycocoevalcap) on tokenized captions of a few images
    with several references each; writes inputs and expected scores to metrics/cider.json."""
    from pycocoevalcap.cider.cider import Cider
    images = {
        "1": (["a red circle above a blue square"],
              ["a red circle is above a blue square", "a blue square below a red circle", "red circle over blue square"]),
        "2": (["two green triangles"],
              ["two green triangles side by side", "a pair of green triangles", "two small green triangles"]),
        "3": (["a yellow star left of a big purple circle"],
              ["a yellow star to the left of a large purple circle", "a purple circle right of a yellow star"]),
        "4": (["a small square"],
              ["a small orange square in the corner", "an orange square", "a tiny orange square",
               "a little square that is orange"]),
        "5": (["a blue circle and a blue circle"],
              ["two blue circles", "a pair of blue circles next to each other"]),
    }
    gts = {k: refs for k, (_, refs) in images.items()}
    res = {k: hyp for k, (hyp, _) in images.items()}
    score, scores = Cider().compute_score(gts, res)
    out = {"images": [{"candidate": res[k][0], "references": gts[k]} for k in images],
           "cider": float(score), "per_image": [float(s) for s in scores]}
    with open(os.path.join(HERE, "cider.json"), "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
    cider()
