"""Golden values of the captioner from its PyTorch twin (scripts/reference/torch_captioning.py).

    /tmp/torchref/bin/python Tests/ImageCaptioningTests/Golden/make_captioning_golden.py

writes model.safetensors (a tiny captioner's state_dict, zoo's names, with batch norm) and
expected.safetensors (the images, the loss with the attention penalty, every gradient).
"""
import os
import sys

import torch
from safetensors.torch import save_file

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "..", "scripts", "reference"))
from torch_captioning import Captioner  # noqa: E402

torch.manual_seed(3)
model = Captioner(9, E=5, H=6, A=4, channels=(3, 4), batch_norm=True, dropout=0.0)
images = torch.rand(3, 3, 8, 8) * 2 - 1
captions = [[4, 5, 6], [7, 8, 4, 5, 6], [8]]          # different lengths: padding in the loss and the penalty
save_file({k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}, os.path.join(here, "model.safetensors"))
loss = model.loss(images, captions, penalty=0.5)
loss.backward()
expected = {"loss": loss.detach().reshape(1), "images": images.contiguous()}
for name, p in model.named_parameters():
    expected["grad." + name] = p.grad.contiguous()
# The running statistics after this one training batch.
for name, b in model.state_dict().items():
    if "running" in name:
        expected["after." + name] = b.contiguous()
save_file(expected, os.path.join(here, "expected.safetensors"))
print("loss", loss.item())
