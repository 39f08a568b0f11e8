// The page of `zoo serve`: four panels over the JSON API, no libraries, no build step.
"use strict";

const $ = (id) => document.getElementById(id);

function authHeaders(extra = {}) {
  const key = $("api-key").value;
  return key ? { ...extra, Authorization: "Bearer " + key } : extra;
}

// The answer as JSON, or an Error carrying the server's message.
async function call(path, options) {
  const response = await fetch(path, { ...options, headers: authHeaders(options.headers || {}) });
  const text = await response.text();
  let body;
  try { body = JSON.parse(text); } catch { body = { error: text || response.statusText }; }
  if (!response.ok) {
    if (response.status === 401) $("key-row").hidden = false;
    throw new Error(body.error || response.statusText);
  }
  return body;
}

function showError(element, error) {
  element.textContent = "Error: " + error.message;
  element.classList.add("error");
}

function showText(element, text) {
  element.textContent = text;
  element.classList.remove("error");
}

// Panels whose task has no model say how to train one.
async function loadModels() {
  try {
    const list = await call("/v1/models", {});
    for (const missing of list.missing) {
      const panel = document.querySelector(`[data-task="${missing.task}"]`);
      if (!panel) continue;
      const note = panel.querySelector(".missing");
      note.textContent = `No model loaded. Train one with \`${missing.train}\`, then start zoo serve again.`;
      note.hidden = false;
      panel.querySelector("form").classList.add("disabled");
    }
    for (const model of list.models) {
      const panel = document.querySelector(`[data-task="${model.task}"]`);
      if (!panel) continue;
      const metrics = Object.entries(model.validation).map(([k, v]) => `${k} ${Number(v).toFixed(3)}`).join(", ");
      const info = document.createElement("p");
      info.className = "model";
      info.textContent = `${model.checkpoint} · ${model.parameters.toLocaleString()} parameters` +
        (model.step ? ` · step ${model.step}` : "") + (metrics ? ` · ${metrics}` : "");
      panel.querySelector("h2").after(info);
    }
  } catch (error) {
    console.error(error);
  }
}

// Language model: the text appears as it is generated (server-sent events over fetch).
$("lm-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const output = $("lm-output");
  const body = {
    prompt: $("lm-prompt").value,
    length: Number($("lm-length").value),
    temperature: Number($("lm-temperature").value),
    stream: true,
  };
  if ($("lm-topk").value) body.top_k = Number($("lm-topk").value);
  showText(output, body.prompt);
  try {
    const response = await fetch("/v1/sample", {
      method: "POST", headers: authHeaders({ "Content-Type": "application/json" }), body: JSON.stringify(body),
    });
    if (!response.ok) {
      const text = await response.text();
      let message = text;
      try { message = JSON.parse(text).error; } catch {}
      throw new Error(message);
    }
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let pending = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      pending += decoder.decode(value, { stream: true });
      let end;
      while ((end = pending.indexOf("\n\n")) >= 0) {
        const event = pending.slice(0, end);
        pending = pending.slice(end + 2);
        const data = event.split("\n").find((line) => line.startsWith("data: "));
        if (event.startsWith("event: error")) throw new Error(JSON.parse(data.slice(6)).error);
        if (event.startsWith("data: ")) output.textContent += JSON.parse(data.slice(6)).text;
      }
    }
    output.dataset.done = "true";
  } catch (error) {
    showError(output, error);
  }
});

// Translation: the sentence, and the attention drawn over source × target tokens.
function drawAttention(canvas, rows, columns, weights) {
  const cell = 28, left = 10 + 7 * Math.max(...rows.map((t) => t.length), 1), top = 10 + 7 * Math.max(...columns.map((t) => t.length), 1);
  canvas.width = left + cell * columns.length + 10;
  canvas.height = top + cell * rows.length + 10;
  const context = canvas.getContext("2d");
  context.fillStyle = "white";
  context.fillRect(0, 0, canvas.width, canvas.height);
  context.font = "12px sans-serif";
  context.fillStyle = "black";
  columns.forEach((token, j) => {
    context.save();
    context.translate(left + cell * j + cell / 2 + 4, top - 4);
    context.rotate(-Math.PI / 2);
    context.fillText(token, 0, 0);
    context.restore();
  });
  rows.forEach((token, i) => {
    context.fillStyle = "black";
    context.textAlign = "right";
    context.fillText(token, left - 4, top + cell * i + cell / 2 + 4);
    context.textAlign = "left";
    weights[i].slice(0, columns.length).forEach((w, j) => {
      const shade = Math.round(255 * (1 - w));
      context.fillStyle = `rgb(${shade}, ${shade}, 255)`;
      context.fillRect(left + cell * j, top + cell * i, cell - 1, cell - 1);
    });
  });
}

$("mt-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const output = $("mt-output");
  try {
    const answer = await call("/v1/translate", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ text: $("mt-text").value, beam: Number($("mt-beam").value) }),
    });
    showText(output, answer.translation);
    drawAttention($("mt-attention"), answer.target_tokens, answer.source_tokens, answer.attention);
  } catch (error) {
    showError(output, error);
  }
});

// Speech: a file, or a recording encoded as 16-bit PCM WAV here (browsers record WebM/Opus).
// An upload to `path`: the answer's `field` into the output, its picture (a data URL) below;
// `more` gets the whole answer.
async function upload(path, body, outputId, pictureId, field, picture, more = () => {}) {
  const output = $(outputId);
  showText(output, "…");
  try {
    const answer = await call(path, { method: "POST", body });
    showText(output, answer[field] || "(nothing recognised)");
    if (answer[picture]) { $(pictureId).src = answer[picture]; $(pictureId).hidden = false; }
    more(answer);
  } catch (error) {
    showError(output, error);
  }
}

const transcribe = (blob) => upload("/v1/transcribe?alignment=true", blob, "asr-output", "asr-alignment", "transcript", "alignment");

$("asr-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const file = $("asr-file").files[0];
  if (!file) { showError($("asr-output"), new Error("choose an audio file first")); return; }
  transcribe(file);
});

function encodeWAV(samples, rate) {
  const buffer = new ArrayBuffer(44 + samples.length * 2);
  const view = new DataView(buffer);
  const text = (offset, s) => [...s].forEach((c, i) => view.setUint8(offset + i, c.charCodeAt(0)));
  text(0, "RIFF"); view.setUint32(4, 36 + samples.length * 2, true); text(8, "WAVE");
  text(12, "fmt "); view.setUint32(16, 16, true); view.setUint16(20, 1, true); view.setUint16(22, 1, true);
  view.setUint32(24, rate, true); view.setUint32(28, rate * 2, true); view.setUint16(32, 2, true); view.setUint16(34, 16, true);
  text(36, "data"); view.setUint32(40, samples.length * 2, true);
  samples.forEach((s, i) => view.setInt16(44 + i * 2, Math.max(-1, Math.min(1, s)) * 0x7fff, true));
  return new Blob([view], { type: "audio/wav" });
}

let recording = null;
$("asr-record").addEventListener("click", async () => {
  const status = $("asr-status");
  if (recording) {
    const { stream, context, processor, chunks } = recording;
    recording = null;
    processor.disconnect();
    stream.getTracks().forEach((t) => t.stop());
    const samples = new Float32Array(chunks.reduce((n, c) => n + c.length, 0));
    let offset = 0;
    for (const chunk of chunks) { samples.set(chunk, offset); offset += chunk.length; }
    const rate = context.sampleRate;
    await context.close();
    $("asr-record").textContent = "Record";
    status.textContent = `${(samples.length / rate).toFixed(1)} s recorded`;
    transcribe(encodeWAV(samples, rate));
    return;
  }
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    const context = new AudioContext();
    const source = context.createMediaStreamSource(stream);
    const processor = context.createScriptProcessor(4096, 1, 1);
    const chunks = [];
    processor.onaudioprocess = (e) => chunks.push(new Float32Array(e.inputBuffer.getChannelData(0)));
    source.connect(processor);
    processor.connect(context.destination);
    recording = { stream, context, processor, chunks };
    $("asr-record").textContent = "Stop";
    status.textContent = "recording…";
  } catch (error) {
    showError($("asr-output"), new Error("the microphone is not available here (" + error.message + ")"));
  }
});

// Captioning: upload or drop a PNG.
// The beam's alternatives, with their scores (log p / length), under the caption.
function showAlternatives(answer) {
  const list = $("cap-alternatives");
  list.replaceChildren(...(answer.alternatives.length > 1 ? answer.alternatives : []).map((a) => {
    const item = document.createElement("li");
    item.textContent = `${a.caption}  (${a.score.toFixed(3)})`;
    return item;
  }));
}

const caption = (file) =>
  upload(`/v1/caption?beam=${$("cap-beam").value}&attention_map=true`, file, "cap-output", "cap-attention", "caption",
    "attention_map", showAlternatives);

$("cap-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const file = $("cap-file").files[0];
  if (!file) { showError($("cap-output"), new Error("choose a PNG image first")); return; }
  caption(file);
});

const drop = $("cap-drop");
drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (event) => {
  event.preventDefault();
  drop.classList.remove("over");
  if (event.dataTransfer.files[0]) caption(event.dataTransfer.files[0]);
});

loadModels();
