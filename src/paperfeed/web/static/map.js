// The map of the papers (/map): every paper a dot on a canvas, coloured by its topic, the
// topics named where there is room; drag, wheel or pinch to move and zoom, hover or click a
// dot for its paper's card. Dots are written straight into the canvas's pixels (one 32-bit
// store each), which keeps 50,000 of them well under a frame; names and rings are drawn on
// top with the 2-D context. Sets data-ready on #map once the first frame is drawn, and
// data-view ("scale tx ty": a quantised coordinate times scale, plus tx or ty, is a CSS
// pixel) on every frame.
"use strict";

const root = document.getElementById("map");
if (root) start(root);

async function start(root) {
  const canvas = root.querySelector("canvas");
  const status = root.querySelector(".map-status");
  const card = root.querySelector(".map-card");
  const response = await fetch(root.dataset.src, { credentials: "same-origin" });
  if (!response.ok) {
    status.textContent = (await response.json()).error || "The map could not be loaded.";
    return;
  }
  const data = await response.json();
  status.textContent = data.count
    ? `${data.count.toLocaleString()} papers${data.truncated ? " (the newest)" : ""}`
    : "No papers on the map yet: topics are fitted by `paperfeed topics` or the worker.";
  new PaperMap(root, canvas, card, data).draw();
}

class PaperMap {
  constructor(root, canvas, card, data) {
    Object.assign(this, { root, canvas, card, data, pending: false, cards: new Map() });
    this.context = canvas.getContext("2d");
    this.n = data.count;
    this.xs = Float32Array.from(data.x);
    this.ys = Float32Array.from(data.y);
    this.colours = Uint32Array.from(data.topic, (t) => rgba(t < 0 ? "#9aa4b2" : data.topics[t].color));
    this.saved = new Set(data.saved);
    this.grid = grid(this.xs, this.ys, data.scale);
    this.fit();
    this.listen();
    new ResizeObserver(() => { this.fit(); this.draw(); }).observe(canvas);
  }

  fit() {
    const { width, height } = this.canvas.getBoundingClientRect();
    const ratio = window.devicePixelRatio || 1;
    this.width = width; this.height = height; this.ratio = ratio;
    this.canvas.width = Math.round(width * ratio);
    this.canvas.height = Math.round(height * ratio);
    const scale = (Math.min(width, height) * 0.92) / this.data.scale;
    this.view = { scale, tx: (width - this.data.scale * scale) / 2, ty: (height - this.data.scale * scale) / 2 };
  }

  draw() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => { this.pending = false; this.render(); });
  }

  render() {
    const { context, ratio, view } = this;
    const w = this.canvas.width, h = this.canvas.height;
    if (!w || !h) return;  // not laid out (hidden, or the page closing)
    const image = context.createImageData(w, h);
    const pixels = new Uint32Array(image.data.buffer);
    const s = view.scale * ratio, tx = view.tx * ratio, ty = view.ty * ratio;
    const size = Math.max(2, Math.min(6, Math.round(Math.sqrt(view.scale / this.fitted()) * 2 * ratio)));
    for (let i = 0; i < this.n; i++) {
      const x = Math.round(this.xs[i] * s + tx), y = Math.round(this.ys[i] * s + ty);
      if (x < 0 || y < 0 || x + size > w || y + size > h) continue;
      const colour = this.colours[i];
      for (let dy = 0, at = y * w + x; dy < size; dy++, at += w) pixels.fill(colour, at, at + size);
    }
    context.putImageData(image, 0, 0);
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    this.rings();
    this.names();
    context.setTransform(1, 0, 0, 1, 0, 0);
    this.root.dataset.view = `${view.scale} ${view.tx} ${view.ty}`;
    this.root.dataset.ready = "1";
  }

  fitted() { return (Math.min(this.width, this.height) * 0.92) / this.data.scale; }

  screen(i) {
    const { scale, tx, ty } = this.view;
    return [this.xs[i] * scale + tx, this.ys[i] * scale + ty];
  }

  rings() {
    const context = this.context;
    context.strokeStyle = "#111827"; context.lineWidth = 1.5;
    context.beginPath();
    for (const i of [...this.saved, ...(this.chosen != null ? [this.chosen] : [])]) {
      const [x, y] = this.screen(i);
      context.moveTo(x + 6, y + 1);
      context.arc(x + 1, y + 1, 5, 0, 2 * Math.PI);
    }
    context.stroke();
  }

  names() {
    // the largest topics first; a name that would overlap one drawn already is left out
    const context = this.context, taken = [];
    context.font = "600 12px system-ui, sans-serif";
    context.textAlign = "center"; context.textBaseline = "middle";
    context.lineWidth = 3; context.strokeStyle = "rgba(255,255,255,.85)";
    const { scale, tx, ty } = this.view;
    const order = [...this.data.topics].sort((a, b) => b.papers - a.papers);
    for (const topic of order) {
      const x = topic.x * scale + tx, y = topic.y * scale + ty;
      const width = context.measureText(topic.name).width + 8;
      const box = [x - width / 2, y - 9, x + width / 2, y + 9];
      if (box[2] < 0 || box[0] > this.width || box[3] < 0 || box[1] > this.height) continue;
      if (taken.some((o) => box[0] < o[2] && o[0] < box[2] && box[1] < o[3] && o[1] < box[3])) continue;
      taken.push(box);
      context.fillStyle = "#111827";
      context.strokeText(topic.name, x, y);
      context.fillText(topic.name, x, y);
    }
  }

  nearest(px, py, within = 8) {
    // the grid cells around the pointer, then the dots in them
    const { scale, tx, ty } = this.view, cells = this.grid.cells, side = this.grid.side;
    const qx = (px - tx) / scale, qy = (py - ty) / scale, reach = within / scale;
    const cell = this.data.scale / side;
    let best = null, bestDistance = reach * reach;
    for (let cx = Math.max(0, Math.floor((qx - reach) / cell)); cx <= Math.min(side - 1, Math.floor((qx + reach) / cell)); cx++) {
      for (let cy = Math.max(0, Math.floor((qy - reach) / cell)); cy <= Math.min(side - 1, Math.floor((qy + reach) / cell)); cy++) {
        for (const i of cells[cy * side + cx] || []) {
          const d = (this.xs[i] - qx) ** 2 + (this.ys[i] - qy) ** 2;
          if (d <= bestDistance) { best = i; bestDistance = d; }
        }
      }
    }
    return best;
  }

  zoom(factor, px, py) {
    const v = this.view, scale = Math.min(Math.max(v.scale * factor, this.fitted() / 2), this.fitted() * 400);
    const k = scale / v.scale;
    this.view = { scale, tx: px - (px - v.tx) * k, ty: py - (py - v.ty) * k };
    this.draw();
  }

  listen() {
    const canvas = this.canvas, pointers = new Map();
    let moved = false, hover = null;
    const at = (event) => { const r = canvas.getBoundingClientRect(); return [event.clientX - r.left, event.clientY - r.top]; };
    canvas.addEventListener("wheel", (event) => {
      event.preventDefault();
      this.zoom(Math.exp(-event.deltaY * 0.0015), ...at(event));
    }, { passive: false });
    canvas.addEventListener("pointerdown", (event) => {
      canvas.setPointerCapture(event.pointerId);
      pointers.set(event.pointerId, at(event));
      moved = false;
    });
    canvas.addEventListener("pointermove", (event) => {
      const now = at(event), before = pointers.get(event.pointerId);
      if (!before) {
        clearTimeout(hover);
        const i = this.nearest(...now);
        canvas.style.cursor = i == null ? "" : "pointer";
        if (i != null) hover = setTimeout(() => this.show(i), 150);
        return;
      }
      if (pointers.size === 2) {  // pinch: zoom by the change of the fingers' distance
        const other = [...pointers].find(([id]) => id !== event.pointerId)[1];
        const factor = Math.hypot(now[0] - other[0], now[1] - other[1]) / Math.max(1, Math.hypot(before[0] - other[0], before[1] - other[1]));
        this.zoom(factor, (now[0] + other[0]) / 2, (now[1] + other[1]) / 2);
      } else {
        this.view = { ...this.view, tx: this.view.tx + now[0] - before[0], ty: this.view.ty + now[1] - before[1] };
        canvas.classList.add("dragging");
        this.draw();
      }
      if (Math.hypot(now[0] - before[0], now[1] - before[1]) > 2) moved = true;
      pointers.set(event.pointerId, now);
    });
    const release = (event) => {
      pointers.delete(event.pointerId);
      canvas.classList.remove("dragging");
      if (event.type === "pointerup" && !moved) {
        const i = this.nearest(...at(event), event.pointerType === "touch" ? 16 : 8);
        if (i != null) this.show(i);
      }
    };
    canvas.addEventListener("pointerup", release);
    canvas.addEventListener("pointercancel", release);
  }

  async show(i) {
    this.chosen = i;
    this.draw();
    const id = this.data.ids[i];
    if (!this.cards.has(id)) {
      this.cards.set(id, fetch(`/api/papers/${id}`, { credentials: "same-origin" }).then((r) => r.ok ? r.json() : null));
    }
    const paper = await this.cards.get(id);
    if (this.chosen !== i || !paper) return;
    const topic = this.data.topic[i] >= 0 ? this.data.topics[this.data.topic[i]] : null;
    const link = element("a", paper.title, { href: `/papers/${id}` });
    const authors = (paper.authors || []).slice(0, 6).map((a) => a.name).join(", ");
    const summary = paper.summary || "";
    this.card.replaceChildren(
      element("h2", link),
      element("p", `${authors}${paper.authors.length > 6 ? " et al." : ""}`, { class: "meta" }),
      element("p", [paper.announcedOn, id, topic && topic.name, `${paper.upvotes} upvotes`].filter(Boolean).join(" · "), { class: "meta" }),
      element("p", summary.length > 400 ? `${summary.slice(0, 400)}…` : summary),
    );
    this.card.hidden = false;
  }
}

function element(tag, content, attributes = {}) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  node.append(content);
  return node;
}

function rgba(hex) {
  // little-endian pixels: alpha in the high byte, red in the low one
  const n = parseInt(hex.slice(1), 16);
  return (0xff << 24 | (n & 0xff) << 16 | (n >> 8 & 0xff) << 8 | n >> 16) >>> 0;
}

function grid(xs, ys, scale) {
  const side = 128, cells = new Array(side * side), cell = scale / side;
  for (let i = 0; i < xs.length; i++) {
    const at = Math.min(side - 1, Math.floor(ys[i] / cell)) * side + Math.min(side - 1, Math.floor(xs[i] / cell));
    (cells[at] ||= []).push(i);
  }
  return { side, cells };
}
