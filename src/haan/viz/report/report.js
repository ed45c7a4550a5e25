// haan report: the page's behaviour. Every string from the data is put in with textContent (or
// as a property: title, src); nothing from the data ever goes through innerHTML. Only the
// selected video's timeline and table exist in the page, and the video list draws only the rows
// in view, so a report of 1,000 videos x 100 detections opens without freezing.
"use strict";
(function () {
  const DATA = JSON.parse(document.getElementById("report-data").textContent);
  const $ = (id) => document.getElementById(id);
  const ROW = 26;             // px, one row of the video list
  const MAX_TABLE_ROWS = 1000;
  const SUBROW = 20;          // px, one row of overlapping detections in a lane
  const C = DATA.classes.length, M = DATA.thresholds.length;
  const hasEval = DATA.evaluation !== null && M > 0;
  const [scoreMin, scoreMax] = DATA.score_range;
  const state = {
    threshold: scoreMin, tiou: 0, enabled: new Uint8Array(C).fill(1), selected: -1,
    filtered: [], counts: new Int32Array(DATA.videos.length), time: 0,
    currentDet: -1, sort: { det: { key: 1, dir: 1 }, "ap-fine": { key: 2, dir: -1 },
                            "ap-coarse": { key: 2, dir: -1 } },
  };

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  function fmt(x, digits) { return x === null || x === undefined ? "n/a" : Number(x).toFixed(digits); }
  function pct(x) { return x === null || x === undefined ? "n/a" : (100 * x).toFixed(2); }
  function isTP(bits, m) { return bits >= 0 && Math.floor(bits / Math.pow(2, m)) % 2 === 1; }
  function visible(d) { return d[3] >= state.threshold && state.enabled[d[0]] === 1; }
  function opacity(score) {
    if (scoreMax <= scoreMin) return 1;
    return 0.2 + 0.8 * Math.max(0, Math.min(1, (score - scoreMin) / (scoreMax - scoreMin)));
  }

  // ---- counts over every video (cheap: one pass over the numbers) ----
  function recount() {
    let shown = 0, tp = 0, scored = 0, withDets = 0;
    DATA.videos.forEach((v, i) => {
      let n = 0;
      for (const d of v.det) {
        if (!visible(d)) continue;
        n++;
        if (hasEval && d[4] >= 0) { scored++; if (isTP(d[4], state.tiou)) tp++; }
      }
      state.counts[i] = n; shown += n; if (n) withDets++;
    });
    let text = `${shown} detections shown in ${withDets} of ${DATA.videos.length} videos`;
    if (hasEval) text += ` · TP ${tp} / FP ${scored - tp} at tIoU ${fmt(DATA.thresholds[state.tiou], 2)}`;
    $("totals").textContent = text;
    $("totals").dataset.shown = String(shown);
  }

  // ---- the video list: searchable, only the rows in view exist ----
  function filterVideos() {
    const q = $("video-search").value.trim().toLowerCase();
    state.filtered = [];
    DATA.videos.forEach((v, i) => { if (!q || v.name.toLowerCase().includes(q)) state.filtered.push(i); });
    $("video-list-spacer").style.height = `${state.filtered.length * ROW}px`;
    $("video-list-info").textContent = `${state.filtered.length} of ${DATA.videos.length} videos`;
    drawList();
  }
  function drawList() {
    const list = $("video-list"), spacer = $("video-list-spacer");
    const first = Math.max(0, Math.floor(list.scrollTop / ROW) - 5);
    const last = Math.min(state.filtered.length, first + Math.ceil(list.clientHeight / ROW) + 10);
    clear(spacer);
    for (let k = first; k < last; k++) {
      const i = state.filtered[k], v = DATA.videos[i];
      const row = el("div", "vrow" + (i === state.selected ? " selected" : ""));
      row.style.top = `${k * ROW}px`;
      row.dataset.index = String(i);
      const name = el("span", "vname", v.name); name.title = v.name;
      row.append(name, el("span", "vcount", `${state.counts[i]}/${v.det.length}`));
      row.addEventListener("click", () => select(i));
      spacer.appendChild(row);
    }
  }

  // ---- the selected video ----
  function span(v) {
    let end = v.duration || 0;
    const player = $("player");
    if (v.src && player.src && isFinite(player.duration)) end = Math.max(end, player.duration);
    for (const d of v.det) end = Math.max(end, d[2]);
    for (const g of v.gt) end = Math.max(end, g[2]);
    return end > 0 ? end : 1;
  }
  function niceStep(total) {
    const raw = total / 8, p = Math.pow(10, Math.floor(Math.log10(raw)));
    return [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw);
  }
  function select(i) {
    state.selected = i; state.currentDet = -1; state.time = 0;
    const v = DATA.videos[i], player = $("player");
    $("video-name").textContent = v.name;
    const info = [];
    if (v.subset !== null && v.subset !== undefined) info.push(`subset ${v.subset}`);
    if (v.duration) info.push(`${fmt(v.duration, 1)} s`);
    info.push(`${v.det.length} detections`, `${v.gt.length} ground truths`);
    $("video-info").textContent = info.join(" · ");
    if (v.src) {
      player.hidden = false; $("no-video").hidden = true;
      player.src = v.src;
    } else {
      player.removeAttribute("src"); player.load(); player.hidden = true;
      $("no-video").hidden = false;
      $("no-video").textContent = "No video file for this video (give --videos DIR).";
    }
    drawList(); drawVideo();
  }
  function drawVideo() {
    if (state.selected < 0) return;
    drawTimeline(); drawDetTable();
  }
  function lane(labelText, kind) {
    const row = el("div", "lane" + (kind ? " " + kind : ""));
    const label = el("div", "lane-label", labelText); label.title = labelText;
    const track = el("div", "track");
    row.append(label, track);
    return [row, track];
  }
  function drawTimeline() {
    const v = DATA.videos[state.selected], box = $("timeline"), total = span(v);
    clear(box);
    const axis = el("div", "axis");
    const axisTrack = el("div", "track");
    axis.append(el("div", "lane-label", "seconds"), axisTrack);
    const step = niceStep(total);
    for (let t = 0; t <= total + 1e-9; t += step) {
      const tick = el("span", "tick", step < 1 ? t.toFixed(1) : String(Math.round(t)));
      tick.style.left = `${(100 * t) / total}%`;
      axisTrack.appendChild(tick);
    }
    box.appendChild(axis);
    const lanes = new Map();
    const classOf = (c) => { if (!lanes.has(c)) lanes.set(c, { det: [], gt: [] }); return lanes.get(c); };
    v.det.forEach((d, k) => { if (state.enabled[d[0]]) classOf(d[0]).det.push(k); });
    v.gt.forEach((g) => { if (state.enabled[g[0]]) classOf(g[0]).gt.push(g); });
    const classes = [...lanes.keys()].sort((a, b) => a - b);
    for (const c of classes) {
      const { det, gt } = lanes.get(c);
      const shown = det.filter((k) => visible(v.det[k]));
      if (!shown.length && !gt.length) continue;   // every detection under the threshold
      const [row, track] = lane(`${DATA.classes[c]} (${shown.length})`);
      // Overlapping detections go to stacked rows, so that each one can be seen and clicked.
      const rowEnds = [];
      shown.sort((a, b) => v.det[a][1] - v.det[b][1] || a - b);
      for (const k of shown) {
        const d = v.det[k];
        let r = rowEnds.findIndex((end) => end <= d[1]);
        if (r < 0) { r = rowEnds.length; rowEnds.push(0); }
        rowEnds[r] = d[2];
        const bar = detBar(v, k, total);
        bar.style.top = `${3 + r * SUBROW}px`;
        track.appendChild(bar);
      }
      track.style.height = `${Math.max(1, rowEnds.length) * SUBROW + 6}px`;
      box.appendChild(row);
      if (gt.length) {
        const [gtRow, gtTrack] = lane("ground truth", "gt");
        for (const g of gt) {
          const bar = el("div", "gtbar");
          place(bar, g[1], g[2], total);
          bar.title = `ground truth: ${DATA.classes[c]} ${fmt(g[1], 2)}–${fmt(g[2], 2)} s`;
          gtTrack.appendChild(bar);
        }
        box.appendChild(gtRow);
      }
    }
    if (!box.querySelector(".lane")) box.appendChild(el("div", "lane-label muted", "nothing to show"));
    box.querySelectorAll(".track").forEach((track) => track.addEventListener("click", (ev) => {
      const r = track.getBoundingClientRect();
      seek(((ev.clientX - r.left) / r.width) * total, -1);
    }));
    const head = el("div"); head.id = "playhead"; box.appendChild(head);
    movePlayhead();
  }
  function place(node, start, end, total) {
    node.style.left = `${(100 * Math.max(0, start)) / total}%`;
    node.style.width = `${(100 * Math.max(0, end - start)) / total}%`;
  }
  function detBar(v, k, total) {
    const d = v.det[k], bar = el("div", "det");
    place(bar, d[1], d[2], total);
    bar.style.opacity = String(opacity(d[3]));
    let flag = "";
    if (hasEval && d[4] >= 0) {
      const tp = isTP(d[4], state.tiou);
      bar.classList.add(tp ? "tp" : "fp"); flag = tp ? " · TP" : " · FP";
    }
    if (k === state.currentDet) bar.classList.add("current");
    bar.dataset.index = String(k); bar.dataset.start = String(d[1]);
    bar.title = `${DATA.classes[d[0]]} ${fmt(d[1], 2)}–${fmt(d[2], 2)} s · score ${fmt(d[3], 4)}${flag}`;
    bar.addEventListener("click", (ev) => { ev.stopPropagation(); seek(d[1], k); });
    return bar;
  }
  function seek(t, k) {
    state.currentDet = k; state.time = t;
    const player = $("player");
    if (!player.hidden && player.src) player.currentTime = t;
    drawVideo();
  }
  function movePlayhead() {
    const head = $("playhead"), track = document.querySelector("#timeline .lane .track, #timeline .axis .track");
    if (!head || !track || state.selected < 0) return;
    const player = $("player");
    const t = !player.hidden && player.src ? player.currentTime : state.time;
    const frac = Math.max(0, Math.min(1, t / span(DATA.videos[state.selected])));
    head.style.left = `${track.offsetLeft + frac * track.offsetWidth}px`;
  }

  // ---- tables: sortable by any column ----
  function sortRows(rows, table) {
    const { key, dir } = state.sort[table];
    return rows.sort((a, b) => {
      const x = a.cells[key], y = b.cells[key];
      if (x === y) return a.order - b.order;
      if (x === null) return 1;
      if (y === null) return -1;
      return (x < y ? -1 : 1) * dir;
    });
  }
  function fillTable(table, id, headers, rows, shown) {
    const thead = table.tHead, tbody = table.tBodies[0];
    clear(thead); clear(tbody);
    const tr = el("tr");
    headers.forEach((h, j) => {
      const th = el("th", j === 0 ? "text" : "", h);
      if (state.sort[id]) {
        if (state.sort[id].key === j) th.setAttribute("aria-sort", state.sort[id].dir > 0 ? "ascending" : "descending");
        th.addEventListener("click", () => {
          const s = state.sort[id];
          state.sort[id] = { key: j, dir: s.key === j ? -s.dir : (j === 0 ? 1 : -1) };
          redraw[id]();
        });
      }
      tr.appendChild(th);
    });
    thead.appendChild(tr);
    const ordered = state.sort[id] ? sortRows(rows, id) : rows;
    for (const row of ordered.slice(0, shown || ordered.length)) {
      const r = el("tr");
      row.text.forEach((t, j) => {
        const td = el("td", j === 0 ? "text" : (row.classes && row.classes[j]) || "", t);
        if (j === 0) td.title = t;
        r.appendChild(td);
      });
      if (row.onclick) r.addEventListener("click", row.onclick);
      if (row.current) r.className = "current";
      tbody.appendChild(r);
    }
    return ordered.length;
  }
  function drawDetTable() {
    const v = DATA.videos[state.selected];
    const headers = ["class", "start (s)", "end (s)", "length (s)", "score"];
    if (hasEval) headers.push(`TP/FP @ ${fmt(DATA.thresholds[state.tiou], 2)}`);
    const rows = [];
    v.det.forEach((d, k) => {
      if (!visible(d)) return;
      const cells = [DATA.classes[d[0]], d[1], d[2], d[2] - d[1], d[3]];
      const text = [DATA.classes[d[0]], fmt(d[1], 2), fmt(d[2], 2), fmt(d[2] - d[1], 2), fmt(d[3], 4)];
      const classes = [];
      if (hasEval) {
        const flag = d[4] < 0 ? "—" : (isTP(d[4], state.tiou) ? "TP" : "FP");
        cells.push(flag); text.push(flag); classes[5] = flag === "TP" ? "flag-tp" : (flag === "FP" ? "flag-fp" : "");
      }
      rows.push({ cells, text, classes, order: k, current: k === state.currentDet,
                  onclick: () => seek(d[1], k) });
    });
    const n = fillTable($("det-table"), "det", headers, rows, MAX_TABLE_ROWS);
    $("table-info").textContent = `${n} shown of ${v.det.length}` + (n > MAX_TABLE_ROWS ? ` (first ${MAX_TABLE_ROWS} listed)` : "");
  }

  // ---- evaluation ----
  function drawEvaluation() {
    const ev = DATA.evaluation;
    const info = [`${ev.num_ground_truths} ground truths`, `${ev.num_predictions} predictions scored`];
    if (ev.subset !== null) info.unshift(`subset ${ev.subset}`);
    if (ev.ignored_labels.length) info.push(`ignored prediction labels: ${ev.ignored_labels.join(", ")}`);
    $("evaluation-info").textContent = `haan's ActivityNet evaluator: ${info.join(" · ")}. AP in percent.`;
    const headers = ["tIoU", "fine mAP"]; if (ev.coarse) headers.push("coarse mAP");
    const rows = DATA.thresholds.map((t, m) => {
      const text = [fmt(t, 2), pct(ev.fine.map[m])]; if (ev.coarse) text.push(pct(ev.coarse.map[m]));
      return { text, cells: text, order: m, current: m === state.tiou };
    });
    const avg = ["average", pct(ev.fine.average)]; if (ev.coarse) avg.push(pct(ev.coarse.average));
    rows.push({ text: avg, cells: avg, order: M });
    fillTable($("map-table"), "map", headers, rows);
    drawAP("ap-fine", ev.fine);
    if (ev.coarse) { $("coarse-box").hidden = false; drawAP("ap-coarse", ev.coarse); }
  }
  function drawAP(id, level) {
    const t = fmt(DATA.thresholds[state.tiou], 2);
    const headers = ["class", "ground truths", `AP @ ${t}`, "mean AP"];
    const rows = level.names.map((name, k) => {
      const ap = level.has_gt[k] ? level.ap[k][state.tiou] : null;
      const mean = level.has_gt[k] ? level.ap[k].reduce((a, b) => a + b, 0) / M : null;
      return { cells: [name, level.num_gt[k], ap, mean], order: k,
               text: [name, String(level.num_gt[k]), level.has_gt[k] ? pct(ap) : "— (no ground truth)", pct(mean)] };
    });
    fillTable($(id), id, headers, rows);
  }
  const redraw = { det: drawDetTable, "ap-fine": () => drawAP("ap-fine", DATA.evaluation.fine),
                   "ap-coarse": () => drawAP("ap-coarse", DATA.evaluation.coarse) };

  // ---- diagnosis ----
  function drawDiagnosis() {
    const dg = DATA.diagnosis, body = $("summary-table").tBodies[0];
    for (const [name, value] of dg.summary) {
      const r = el("tr");
      // the summary's numbers are percents and points: two decimals, small ones three digits
      const shown = value === null ? "n/a" : (value !== 0 && Math.abs(value) < 0.01
        ? Number(value).toPrecision(3) : Number(value).toFixed(2));
      r.append(el("td", "name", name), el("td", "num", shown));
      body.appendChild(r);
    }
    $("summary-table").hidden = dg.summary.length === 0;
    for (const [name, uri] of dg.images) {
      const fig = el("figure"), img = el("img");
      img.src = uri; img.alt = name;
      fig.append(img, el("figcaption", "", name));
      $("figures").appendChild(fig);
    }
  }

  // ---- controls ----
  function setThreshold() {
    const x = Number($("threshold").value) / 1000;
    state.threshold = scoreMin + x * (scoreMax - scoreMin);
    $("threshold-value").textContent = fmt(state.threshold, 3);
    recount(); drawList(); drawVideo();
  }
  function drawClassList() {
    const q = $("class-search").value.trim().toLowerCase(), list = $("class-list");
    clear(list);
    DATA.classes.forEach((name, c) => {
      if (q && !name.toLowerCase().includes(q)) return;
      const label = el("label"), box = el("input");
      box.type = "checkbox"; box.checked = state.enabled[c] === 1; box.dataset.class = String(c);
      box.addEventListener("change", () => { state.enabled[c] = box.checked ? 1 : 0; classesChanged(); });
      label.title = name;
      label.append(box, document.createTextNode(" " + name));
      list.appendChild(label);
    });
  }
  function classesChanged() {
    const on = state.enabled.reduce((a, b) => a + b, 0);
    $("class-count").textContent = `(${on}/${C})`;
    recount(); drawList(); drawVideo();
  }
  function setAllClasses(value) {
    const q = $("class-search").value.trim().toLowerCase();
    DATA.classes.forEach((name, c) => { if (!q || name.toLowerCase().includes(q)) state.enabled[c] = value; });
    drawClassList(); classesChanged();
  }
  function showTab(name) {
    document.querySelectorAll("#tabs button").forEach((b) => b.classList.toggle("active", b.dataset.tab === name));
    document.querySelectorAll(".tab").forEach((s) => { s.hidden = s.id !== `tab-${name}`; });
    if (name === "videos") { drawList(); movePlayhead(); }
  }

  function init() {
    $("title").textContent = DATA.title;
    $("threshold").addEventListener("input", setThreshold);
    $("video-search").addEventListener("input", () => { $("video-list").scrollTop = 0; filterVideos(); });
    $("video-list").addEventListener("scroll", drawList);
    $("class-search").addEventListener("input", drawClassList);
    $("class-all").addEventListener("click", () => setAllClasses(1));
    $("class-none").addEventListener("click", () => setAllClasses(0));
    $("class-button").addEventListener("click", () => {
      const panel = $("class-panel"); panel.hidden = !panel.hidden;
      $("class-button").setAttribute("aria-expanded", String(!panel.hidden));
    });
    document.querySelectorAll("#tabs button").forEach((b) => b.addEventListener("click", () => showTab(b.dataset.tab)));
    const player = $("player");
    player.addEventListener("timeupdate", movePlayhead);
    player.addEventListener("seeked", movePlayhead);
    player.addEventListener("loadedmetadata", () => { if (state.selected >= 0) drawTimeline(); });
    const follow = () => { movePlayhead(); if (!player.paused) requestAnimationFrame(follow); };
    player.addEventListener("play", () => requestAnimationFrame(follow));
    window.addEventListener("resize", () => { drawList(); movePlayhead(); });
    if (hasEval) {
      $("tiou-control").hidden = false;
      DATA.thresholds.forEach((t, m) => { const o = el("option", "", fmt(t, 2)); o.value = String(m); $("tiou").appendChild(o); });
      const half = DATA.thresholds.findIndex((t) => Math.abs(t - 0.5) < 1e-9);
      state.tiou = half >= 0 ? half : 0; $("tiou").value = String(state.tiou);
      $("tiou").addEventListener("change", () => {
        state.tiou = Number($("tiou").value); recount(); drawVideo(); drawEvaluation();
      });
      document.querySelector('#tabs [data-tab="evaluation"]').hidden = false;
      drawEvaluation();
      $("legend").append("detections:", el("span", "swatch tp"), "true positive", el("span", "swatch fp"), "false positive");
      if (DATA.videos.some((v) => v.det.some((d) => d[4] < 0))) $("legend").append(el("span", "swatch plain"), "not evaluated (label without ground truth)");
    } else {
      $("legend").append(el("span", "swatch plain"), "detection");
    }
    if (DATA.videos.some((v) => v.gt.length)) $("legend").append(el("span", "swatch gt"), "ground truth");
    $("legend").append(" · opacity grows with the score · click a detection or the timeline to seek");
    if (DATA.diagnosis) { document.querySelector('#tabs [data-tab="diagnosis"]').hidden = false; drawDiagnosis(); }
    drawClassList(); classesChanged();
    setThreshold(); filterVideos();
    if (DATA.videos.length) select(0);
    else $("video-name").textContent = "no videos in the detections file";
    document.body.dataset.ready = "true";
  }
  init();
})();
