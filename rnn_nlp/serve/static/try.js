// The page at /: one tab per served model, each with a panel to try it (what it shows depends on its task).
"use strict";

const EXAMPLES = {
  ner: "Angela Merkel met Emmanuel Macron in Paris on Tuesday.",
  pos: "The quick brown fox jumps over the lazy dog .",
  classify: "A gorgeous, moving film with a superb cast.",
  lm: "the",
  seq2seq: "In the beginning God created the heaven and the earth.",
  qa: {question: "Who met Macron in Paris?", context: "Angela Merkel met Emmanuel Macron in Paris on Tuesday."},
  other: "Some text.",
};

function runButton(label, action) {
  const button = el("button", {class: "run", type: "submit"}, label);
  const form = el("form", {onsubmit: async (event) => {
    event.preventDefault();
    button.disabled = true;
    try { await action(); } finally { button.disabled = false; }
  }});
  return {button, form};
}

function header(model) {
  const labels = model.labels ? `${model.labels.length} labels` : `${model.vocab_size.toLocaleString("en")} ${model.unit}s`;
  return [
    el("h2", {}, model.name, el("span", {class: "badge"}, model.task)),
    el("p", {class: "about"}, `${labels} · endpoints: ${Object.keys(model.endpoints).join(", ")} · `,
      el("a", {href: model.page}, "metrics, training curves and model card")),
  ];
}

// ---- taggers: entities as displaCy draws them, and each token's tag under it ----------------------
function renderEntities(result) {
  const box = el("div", {class: "entities"});
  const slice = codePointSlicer(result.text);
  let at = 0;
  for (const entity of result.entities || []) {
    box.append(slice(at, entity.start));
    box.append(el("mark", {class: "entity", "data-label": entity.label, style: {background: entityColour(entity.label)}},
      slice(entity.start, entity.end), el("span", {class: "label"}, entity.label)));
    at = entity.end;
  }
  box.append(slice(at));
  return box;
}

function renderTokens(result) {
  return el("div", {class: "tokens"}, result.tokens.map((token, i) => el("span",
    {class: result.tags[i] !== "O" && result.entities ? "token in-entity" : "token"},
    el("span", {class: "word"}, token), el("span", {class: "tag"}, result.tags[i]))));
}

function taggerPanel(model, out) {
  const input = el("textarea", {class: "input-text", "aria-label": "text to tag"}, EXAMPLES[model.kind]);
  const {button, form} = runButton(model.kind === "ner" ? "Find entities" : "Tag", async () => {
    try {
      const result = await api(model.endpoints.predict, {text: input.value});
      out.replaceChildren(
        model.kind === "ner" ? renderEntities(result) : "",
        model.kind === "ner" && !(result.entities || []).length ? el("p", {class: "muted"}, "no entities found") : "",
        renderTokens(result), result.warning ? el("p", {class: "warning"}, result.warning) : "");
    } catch (error) { showError(out, error); }
  });
  form.append(input, el("div", {class: "row"}, button));
  return form;
}

// ---- classifiers: a bar per label ------------------------------------------------------------------
function classifierPanel(model, out) {
  const input = el("textarea", {class: "input-text", "aria-label": "text to classify"}, EXAMPLES.classify);
  const {button, form} = runButton("Classify", async () => {
    try {
      const result = await api(model.endpoints.predict, {text: input.value});
      const chosen = new Set([].concat(result.label));
      const rows = Object.entries(result.probabilities).sort((a, b) => b[1] - a[1]);
      out.replaceChildren(el("div", {class: "bars"}, rows.map(([label, p]) => {
        const mark = chosen.has(label) ? " chosen" : "";
        return [
          el("span", {class: "bar-label" + mark, "data-label": label}, label),
          el("span", {class: "bar-track" + mark}, el("span", {class: "bar-fill", style: {width: `${(100 * p).toFixed(1)}%`, display: "block"}})),
          el("span", {class: "bar-value", "data-label": label}, `${(100 * p).toFixed(1)}%`),
        ];
      })), result.warning ? el("p", {class: "warning"}, result.warning) : "");
    } catch (error) { showError(out, error); }
  });
  form.append(input, el("div", {class: "row"}, button));
  return form;
}

// ---- decoding controls (language models and encoder-decoders) ----------------------------------------
function decodingControls(defaults) {
  const number = (name, value, attrs) => el("input", {type: "number", name, value, ...attrs});
  const controls = {
    mode: el("select", {name: "mode"}, el("option", {value: "greedy"}, "greedy"), el("option", {value: "sample"}, "sample"), el("option", {value: "beam"}, "beam search")),
    max_tokens: number("max_tokens", defaults.max_tokens, {min: 1, max: 200}),
    temperature: number("temperature", 0.8, {min: 0.05, max: 100, step: 0.05}),
    top_k: number("top_k", 40, {min: 0, step: 1}),
    top_p: number("top_p", 0.95, {min: 0.05, max: 1, step: 0.05}),
    beam: number("beam", 4, {min: 2, max: 8}),
    num_samples: number("num_samples", 1, {min: 1, max: 8}),
    seed: number("seed", 0, {min: 0}),
  };
  const labelled = (text, node) => el("label", {}, text, node);
  const sampling = el("span", {class: "row"}, labelled("temperature", controls.temperature), labelled("top-k", controls.top_k),
    labelled("top-p", controls.top_p), labelled("seed", controls.seed));
  const beam = el("span", {class: "row"}, labelled("beam width", controls.beam));
  const show = () => {
    sampling.hidden = controls.mode.value !== "sample";
    beam.hidden = controls.mode.value !== "beam";
  };
  controls.mode.addEventListener("change", show);
  show();
  const box = el("div", {}, el("div", {class: "row"}, labelled("decoding", controls.mode), labelled("max tokens", controls.max_tokens),
    labelled("results", controls.num_samples)), sampling, beam);
  const options = () => {
    const body = {max_tokens: Number(controls.max_tokens.value), num_samples: Number(controls.num_samples.value)};
    if (controls.mode.value === "sample") {
      Object.assign(body, {sample: true, temperature: Number(controls.temperature.value), top_k: Number(controls.top_k.value),
        top_p: Number(controls.top_p.value), seed: Number(controls.seed.value)});
    } else if (controls.mode.value === "beam") {
      body.beam = Number(controls.beam.value);
    }
    return body;
  };
  return {box, options};
}

function percent(p) {
  return p >= 0.001 ? `${(100 * p).toFixed(1)}%` : "<0.1%";
}

function alternatives(list) {
  return list && list.length ? el("ol", {class: "alternatives", start: 2}, list.map((text) => el("li", {}, text))) : "";
}

// ---- language models: generation, and next-word suggestions as you type -------------------------------
function lmPanel(model) {
  const prompt = el("input", {type: "text", class: "input-text", "aria-label": "prompt", value: EXAMPLES.lm});
  const decoding = decodingControls({max_tokens: 20});
  const stop = el("input", {type: "checkbox", name: "stop_at_eos", checked: true});
  const out = el("div", {class: "output", "aria-live": "polite"});
  const {button, form} = runButton("Generate", async () => {
    try {
      const result = await api(model.endpoints.generate, {prompt: prompt.value, stop_at_eos: stop.checked, ...decoding.options()});
      out.replaceChildren(el("div", {class: "generation"}, el("span", {class: "prompt"}, result.prompt + " "),
        el("span", {class: "continuation"}, result.text)), alternatives(result.alternatives));
    } catch (error) { showError(out, error); }
  });
  form.append(el("h3", {}, "Continue a prompt"), prompt, decoding.box,
    el("div", {class: "row"}, button, el("label", {}, stop, "stop at the end of the sentence")), out);
  if (model.endpoints.suggest) form.append(typingBox(model));
  return form;
}

function typingBox(model) {
  const input = el("textarea", {class: "typing-input", "aria-label": "type here", placeholder: "Start typing…"});
  const chips = el("div", {class: "suggestions", "aria-live": "polite"});
  const state = el("p", {class: "typing-state muted"});
  let session = null, partial = "", sent = 0, shown = 0, timer = null, first = null;
  const accept = (word) => {
    input.value = input.value.slice(0, input.value.length - partial.length) + word + " ";
    input.focus();
    update();
  };
  async function update() {
    const mine = ++sent;
    try {
      const data = await api(model.endpoints.suggest, {text: input.value, session, k: 5});
      if (mine < shown) return;  // an older answer arriving late
      shown = mine;
      session = data.session;
      partial = data.partial;
      first = data.suggestions.length ? data.suggestions[0].word : null;
      chips.replaceChildren(...data.suggestions.map((s) => el("button", {type: "button", class: "suggestion", "data-word": s.word,
        onclick: () => accept(s.word)}, s.word, el("small", {}, percent(s.probability)))));
      if (!data.suggestions.length) chips.replaceChildren(el("span", {class: "muted"}, `no word in the vocabulary starts with “${data.partial}”`));
      state.textContent = `this keystroke read ${data.read} new word${data.read === 1 ? "" : "s"}; the state holds ${data.words}`;
    } catch (error) { showError(chips, error); }
  }
  input.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(update, 60); });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Tab" && first !== null && !event.shiftKey) { event.preventDefault(); accept(first); }
  });
  update();
  return el("div", {class: "typing"}, el("h3", {}, "Predictive typing"),
    el("p", {class: "about"}, "Next-word suggestions as you type; ", el("kbd", {}, "Tab"), " or a click takes one. The model's state is carried from word to word: each keystroke reads only the new words."),
    input, chips, state);
}

// ---- encoder-decoders --------------------------------------------------------------------------------
function seq2seqPanel(model, out) {
  const input = el("textarea", {class: "input-text", "aria-label": "source text"}, EXAMPLES.seq2seq);
  const decoding = decodingControls({max_tokens: 60});
  const {button, form} = runButton("Translate", async () => {
    try {
      const result = await api(model.endpoints.translate, {text: input.value, ...decoding.options()});
      out.replaceChildren(el("div", {class: "generation translation"}, result.output), alternatives(result.alternatives));
    } catch (error) { showError(out, error); }
  });
  form.append(input, decoding.box, el("div", {class: "row"}, button));
  return form;
}

// ---- readers: the answer highlighted in its passage ----------------------------------------------------
function qaPanel(model, out) {
  const question = el("input", {type: "text", class: "question", "aria-label": "question", value: EXAMPLES.qa.question});
  const context = el("textarea", {class: "context", "aria-label": "passage"}, EXAMPLES.qa.context);
  const candidates = el("input", {type: "text", class: "candidates", placeholder: "optional: candidate answers, separated by |"});
  const {button, form} = runButton("Answer", async () => {
    try {
      const body = {question: question.value, context: context.value};
      const listed = candidates.value.split("|").map((c) => c.trim()).filter(Boolean);
      if (listed.length) body.candidates = listed;
      const result = await api(model.endpoints.answer, body);
      const passage = el("div", {class: "passage"});
      const slice = codePointSlicer(body.context);
      if (result.start === null) passage.append(body.context);
      else passage.append(slice(0, result.start), el("mark", {}, slice(result.start, result.end)), slice(result.end));
      out.replaceChildren(el("div", {class: "answer"}, "Answer: ", el("strong", {}, result.answer || "(no answer)"),
        result.score !== null ? el("span", {class: "muted"}, ` (score ${fmt(result.score)})`) : ""), passage,
        result.warning ? el("p", {class: "warning"}, result.warning) : "");
    } catch (error) { showError(out, error); }
  });
  form.append(el("label", {}, "Question"), question, el("label", {}, "Passage"), context, candidates, el("div", {class: "row"}, button));
  return form;
}

function otherPanel(model, out) {
  const input = el("textarea", {class: "input-text"}, EXAMPLES.other);
  const {button, form} = runButton("Predict", async () => {
    try { out.replaceChildren(el("pre", {}, JSON.stringify(await api(model.endpoints.predict, {text: input.value}), null, 2))); } catch (error) { showError(out, error); }
  });
  form.append(input, el("div", {class: "row"}, button));
  return form;
}

const PANELS = {ner: taggerPanel, pos: taggerPanel, classify: classifierPanel, lm: lmPanel, seq2seq: seq2seqPanel, qa: qaPanel, other: otherPanel};

async function main() {
  const panels = document.getElementById("panels");
  const tabs = document.getElementById("tabs");
  try {
    const [{models}, health] = await Promise.all([api("/models"), api("/health")]);
    panels.replaceChildren();
    const shown = new Set();
    const select = (name) => {
      for (const b of tabs.children) b.setAttribute("aria-selected", String(b.dataset.model === name));
      for (const p of panels.children) p.hidden = p.dataset.model !== name;
      if (decodeURIComponent(location.hash.slice(1)) !== name) history.replaceState(null, "", `#${encodeURIComponent(name)}`);
      if (!shown.has(name)) {  // the first look at a model shows its example's result
        shown.add(name);
        panels.querySelector(`section[data-model="${CSS.escape(name)}"] form`).requestSubmit();
      }
    };
    for (const model of models) {
      const out = el("div", {class: "output", "aria-live": "polite"});
      panels.append(el("section", {class: "panel", "data-model": model.name, "data-kind": model.kind},
        header(model), PANELS[model.kind](model, out), out));
      tabs.append(el("button", {type: "button", role: "tab", "data-model": model.name, onclick: () => select(model.name)},
        model.name, el("span", {class: "badge"}, model.task)));
    }
    const wanted = () => decodeURIComponent(location.hash.slice(1));
    select(models.some((m) => m.name === wanted()) ? wanted() : models[0].name);
    window.addEventListener("hashchange", () => { if (models.some((m) => m.name === wanted())) select(wanted()); });
    document.getElementById("footer").textContent =
      `rnn-nlp ${health.version} · ${models.length} model${models.length === 1 ? "" : "s"} · at most ${health.limits.max_chars.toLocaleString("en")} characters a text`;
  } catch (error) { showError(panels, error); }
}

main();
