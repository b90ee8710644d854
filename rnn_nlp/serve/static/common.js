// Shared by the page (try.js) and the model page (report.js): building elements, calling the API.
"use strict";

// el("div", {class: "x", onclick: f}, child, "text", ...): an element; text children are never read as HTML.
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "style" && typeof value === "object") Object.assign(node.style, value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

// The API's answer as JSON; a refusal (4xx/5xx) throws an Error carrying the server's own message.
async function api(path, body) {
  const init = body === undefined ? {} : {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)};
  const response = await fetch(path, init);
  let data = null;
  try { data = await response.json(); } catch (e) { data = null; }
  if (!response.ok) throw new Error((data && data.error) || `${response.status} ${response.statusText}`);
  return data;
}

// A slicer of `text` by Python's character offsets, as the API's results give them (entity and answer
// starts and ends): they count code points, where String.slice counts UTF-16 units, two for a character
// outside the BMP (an emoji); slicing by them would shift every mark after an emoji.
function codePointSlicer(text) {
  const chars = Array.from(text);
  return (start, end) => chars.slice(start, end).join("");
}

function showError(target, error) {
  target.replaceChildren(el("div", {class: "error", role: "alert"}, error.message || String(error)));
}

function fmt(value, digits = 4) {
  if (typeof value !== "number") return value === null || value === undefined ? "" : String(value);
  if (Number.isInteger(value)) return value.toLocaleString("en");
  return Math.abs(value) >= 1000 ? value.toFixed(1) : String(parseFloat(value.toPrecision(digits)));
}

// displaCy's entity colours (spaCy's labels, and CoNLL's PER and MISC beside them).
const ENTITY_COLOURS = {
  ORG: "#7aecec", PRODUCT: "#bfeeb7", GPE: "#feca74", LOC: "#ff9561", PERSON: "#aa9cfc", PER: "#aa9cfc",
  NORP: "#c887fb", FAC: "#9cc9cc", EVENT: "#ffeb80", LAW: "#ff8197", LANGUAGE: "#ff8197", WORK_OF_ART: "#f0d0ff",
  DATE: "#bfe1d9", TIME: "#bfe1d9", MONEY: "#e4e7d2", QUANTITY: "#e4e7d2", ORDINAL: "#e4e7d2", CARDINAL: "#e4e7d2",
  PERCENT: "#e4e7d2", MISC: "#f0d0ff",
};

function entityColour(label) {
  if (ENTITY_COLOURS[label]) return ENTITY_COLOURS[label];
  let hash = 0;
  for (const ch of label) hash = (hash * 31 + ch.codePointAt(0)) % 360;
  return `hsl(${hash}, 70%, 80%)`;
}
