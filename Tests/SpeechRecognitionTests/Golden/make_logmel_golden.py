"""A reference implementation of zoo's log-mel features (docs/reference.md, Data formats), in NumPy.

    /tmp/torchref/bin/python Tests/SpeechRecognitionTests/Golden/make_logmel_golden.py

writes sweep.wav (0.8 s of a rising tone with a harmonic and noise, 16 kHz, 16-bit) and
logmel.safetensors (its features, 80 × frames, float32) beside this file.
"""
import os
import wave

import numpy as np
from safetensors.numpy import save_file

here = os.path.dirname(os.path.abspath(__file__))
rate, n_fft, window_length, hop, mels, fmin, fmax, floor = 16000, 512, 400, 160, 80, 0.0, 8000.0, 1e-10

# The test signal, quantised to 16 bits as the file holds it.
rng = np.random.default_rng(7)
t = np.arange(int(0.8 * rate)) / rate
phase = 2 * np.pi * (200 * t + 2000 * t * t)          # 200 Hz rising 4 kHz a second
signal = 0.4 * np.sin(phase) + 0.2 * np.sin(2 * phase) + 0.02 * rng.standard_normal(t.size)
pcm = np.round(np.clip(signal, -1, 1) * 32767).astype(np.int16)
with wave.open(os.path.join(here, "sweep.wav"), "wb") as f:
    f.setnchannels(1)
    f.setsampwidth(2)
    f.setframerate(rate)
    f.writeframes(pcm.tobytes())
x = pcm.astype(np.float64) / 32768.0                   # libsndfile's scaling of 16-bit PCM

frames = 1 + (x.size - window_length) // hop
window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(window_length) / window_length)   # periodic Hann
segments = np.stack([x[f * hop: f * hop + window_length] * window for f in range(frames)])
power = np.abs(np.fft.rfft(segments, n=n_fft)) ** 2    # (frames, 257)


def mel(f):
    return 2595 * np.log10(1 + f / 700)


def hertz(m):
    return 700 * (10 ** (m / 2595) - 1)


centres = hertz(np.linspace(mel(fmin), mel(fmax), mels + 2))
bins = np.arange(n_fft // 2 + 1) * rate / n_fft
up = (bins[:, None] - centres[None, :-2]) / (centres[1:-1] - centres[:-2])[None, :]
down = (centres[None, 2:] - bins[:, None]) / (centres[2:] - centres[1:-1])[None, :]
filterbank = np.maximum(0, np.minimum(up, down))       # (257, 80)
features = np.log(np.maximum(power @ filterbank, floor)).astype(np.float32)
save_file({"features": features}, os.path.join(here, "logmel.safetensors"))
print(features.shape, float(features.min()), float(features.max()))
