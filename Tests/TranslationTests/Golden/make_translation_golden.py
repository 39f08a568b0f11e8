"""Golden values of the translation model from its PyTorch twin (scripts/reference/torch_translation.py).

    /tmp/torchref/bin/python Tests/TranslationTests/Golden/make_translation_golden.py

writes model.safetensors (a tiny model's state_dict, zoo's names) and expected.safetensors
(the batch, the label-smoothed loss and every parameter's gradient) beside this file.
"""
import os
import sys

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "..", "scripts", "reference"))
from torch_translation import BOS, EOS, PAD, Seq2Seq, pad  # noqa: E402

torch.manual_seed(7)
model = Seq2Seq(9, 11, embed=6, hidden=8, dropout=0.0)
# Three sources of different lengths (padding in the encoder, its final state and the
# attention) and targets of different lengths (padding in the loss).
sources = [[4, 5, 6, 7, 8], [3, 4], [8, 7, 6]]
targets = [[4, 5, 6], [7, 8, 9, 10, 4, 5], [6]]
src, src_len = pad(sources)
tgt_in, _ = pad([[BOS] + t for t in targets])
tgt_out, _ = pad([t + [EOS] for t in targets])
loss = F.cross_entropy(model(src, src_len, tgt_in), tgt_out.reshape(-1), ignore_index=PAD, label_smoothing=0.1)
loss.backward()

save_file({k: v.detach().contiguous() for k, v in model.state_dict().items()}, os.path.join(here, "model.safetensors"))
expected = {"loss": loss.detach().reshape(1)}
for name, p in model.named_parameters():
    expected["grad." + name] = p.grad.contiguous()
flat = lambda rows: torch.tensor([x for r in rows for x in r + [-1] * (6 - len(r))], dtype=torch.int64).reshape(len(rows), 6)
expected["sources"] = flat(sources)
expected["targets"] = flat(targets)
save_file(expected, os.path.join(here, "expected.safetensors"))
print("loss", loss.item())
