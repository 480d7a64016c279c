// The HTML report's players (ganbench/report/player.py): draws each player's panels on
// <canvas> from the JSON data the page embeds, and steps them with one slider, play/pause and speed.
(function () {
  "use strict";
  var SIZE = 220, MISSING = -32768;
  var COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
                 "#e377c2", "#7f7f7f"];
  var all = document.querySelectorAll(".gb-player");
  if (!all.length) return;
  function bytes(b64) {
    var s = atob(b64), a = new Uint8Array(s.length);
    for (var i = 0; i < s.length; i++) a[i] = s.charCodeAt(i);
    return a;
  }
  function int16(b64) {
    var u = bytes(b64), v = new DataView(u.buffer), a = new Int16Array(u.length >> 1);
    for (var i = 0; i < a.length; i++) a[i] = v.getInt16(2 * i, true);
    return a;
  }
  function float32(b64) {
    var u = bytes(b64), v = new DataView(u.buffer), a = new Float32Array(u.length >> 2);
    for (var i = 0; i < a.length; i++) a[i] = v.getFloat32(4 * i, true);
    return a;
  }
  function frameAt(steps, step) {  // the last frame at or before step, -1 before the first
    var k = -1;
    for (var i = 0; i < steps.length && steps[i] <= step; i++) k = i;
    return k;
  }
  function box(root, p, w, h) {
    var div = document.createElement("div"), c = document.createElement("canvas"),
        cap = document.createElement("div");
    div.className = "gb-panel"; c.width = w; c.height = h;
    cap.textContent = p.label + " · seed" + (p.seeds.length > 1 ? "s " : " ") + p.seeds.join(", ");
    var note = document.createElement("div");
    div.appendChild(c); div.appendChild(cap); div.appendChild(note);
    root.querySelector(".gb-panels").appendChild(div);
    return {canvas: c, ctx: c.getContext("2d"), note: note};
  }
  function noteFor(panel, p, k, step) {
    var text = k < 0 ? "no evaluation yet" :
      (p.steps[k] !== step ? "last evaluation: step " + p.steps[k] : "");
    if (k >= 0 && p.stats && p.stats[k]) text = text ? text + " · " + p.stats[k] : p.stats[k];
    panel.note.textContent = text;
  }
  function cross(ctx, x, y) {
    ctx.beginPath(); ctx.moveTo(x - 4, y - 4); ctx.lineTo(x + 4, y + 4);
    ctx.moveTo(x - 4, y + 4); ctx.lineTo(x + 4, y - 4); ctx.stroke();
  }
  function samplesPanel(root, data, p) {
    var panel = box(root, p, SIZE, SIZE), q = data.quant, lut = bytes(data.lut);
    var pts = int16(p.points), start = [0];
    for (var i = 0; i < p.n.length; i++) start.push(start[i] + 2 * p.n[i]);
    var heat = p.heat ? bytes(p.heat) : null, hh = 0, hw = 0, off = null, img = null;
    if (heat) {
      hh = p.hshape[0]; hw = p.hshape[1];
      off = document.createElement("canvas"); off.width = hw; off.height = hh;
      img = off.getContext("2d").createImageData(hw, hh);
    }
    var e = p.extent;
    panel.draw = function (step) {
      var ctx = panel.ctx, k = frameAt(p.steps, step);
      ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, SIZE, SIZE);
      if (k >= 0 && heat && p.clim[k]) {
        var base = k * hh * hw, d = img.data;
        for (var r = 0; r < hh; r++) {  // stored rows run up the y axis; canvas rows run down
          for (var c = 0; c < hw; c++) {
            var v = heat[base + (hh - 1 - r) * hw + c], o = 4 * (r * hw + c);
            d[o] = lut[3 * v]; d[o + 1] = lut[3 * v + 1]; d[o + 2] = lut[3 * v + 2]; d[o + 3] = 255;
          }
        }
        off.getContext("2d").putImageData(img, 0, 0);
        ctx.imageSmoothingEnabled = true;  // D is smooth between the grid's cells
        ctx.drawImage(off, 0, 0, SIZE, SIZE);
      }
      if (k >= 0) {
        ctx.fillStyle = "rgba(0, 0, 0, 0.5)";
        for (var j = start[k]; j < start[k + 1]; j += 2) {
          if (pts[j] === MISSING || pts[j + 1] === MISSING) continue;
          ctx.fillRect((pts[j] / q + 1) / 2 * SIZE - 1, (1 - pts[j + 1] / q) / 2 * SIZE - 1, 2, 2);
        }
      }
      ctx.strokeStyle = "#e6550d"; ctx.lineWidth = 1.5;
      for (var m = 0; m < p.means.length; m++) {
        cross(ctx, (p.means[m][0] - e[0]) / (e[1] - e[0]) * SIZE,
              (e[3] - p.means[m][1]) / (e[3] - e[2]) * SIZE);
      }
      noteFor(panel, p, k, step);
    };
    panel.loaded = Promise.resolve(true);
    return panel;
  }
  function imagesPanel(root, data, p) {
    var panel = box(root, p, SIZE, SIZE), imgs = [];
    panel.loaded = Promise.all(p.png.map(function (b64) {
      return new Promise(function (resolve) {
        var im = new Image();
        im.onload = function () { resolve(im.naturalWidth > 0); };
        im.onerror = function () { resolve(false); };
        im.src = "data:image/png;base64," + b64;
        imgs.push(im);
      });
    })).then(function (ok) {
      var w = imgs[0].naturalWidth || SIZE, h = imgs[0].naturalHeight || SIZE,
          s = Math.max(1, Math.floor(SIZE / Math.max(w, h)));
      panel.canvas.width = w * s; panel.canvas.height = h * s;
      return ok.every(Boolean);
    });
    panel.draw = function (step) {
      var ctx = panel.ctx, k = frameAt(p.steps, step);
      ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, panel.canvas.width, panel.canvas.height);
      ctx.imageSmoothingEnabled = false;
      if (k >= 0) ctx.drawImage(imgs[k], 0, 0, panel.canvas.width, panel.canvas.height);
      noteFor(panel, p, k, step);
    };
    return panel;
  }
  function diracPanel(root, data, p) {
    var panel = box(root, p, SIZE, SIZE), paths = p.paths.map(float32), lim = p.lim;
    function px(v) { return Math.max(-10 * SIZE, Math.min(11 * SIZE, (v / lim + 1) / 2 * SIZE)); }
    function py(v) { return Math.max(-10 * SIZE, Math.min(11 * SIZE, (1 - v / lim) / 2 * SIZE)); }
    panel.draw = function (step) {
      var ctx = panel.ctx, shown = false;
      ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, SIZE, SIZE);
      ctx.strokeStyle = "#ccc"; ctx.lineWidth = 1;
      ctx.beginPath(); ctx.moveTo(0, SIZE / 2); ctx.lineTo(SIZE, SIZE / 2);
      ctx.moveTo(SIZE / 2, 0); ctx.lineTo(SIZE / 2, SIZE); ctx.stroke();
      for (var s = 0; s < paths.length; s++) {
        var a = paths[s], colour = COLOURS[s % COLOURS.length], pen = false, head = null;
        ctx.strokeStyle = colour; ctx.lineWidth = 1.2; ctx.beginPath();
        for (var i = 0; i < a.length && a[i] <= step; i += 3) {
          if (!isFinite(a[i + 1]) || !isFinite(a[i + 2])) { pen = false; continue; }
          var x = px(a[i + 1]), y = py(a[i + 2]);
          if (pen) ctx.lineTo(x, y); else ctx.moveTo(x, y);
          pen = true; head = [x, y];
        }
        ctx.stroke();
        if (a.length && a[0] <= step && isFinite(a[1]) && isFinite(a[2])) {
          ctx.fillStyle = "#000"; ctx.beginPath();
          ctx.arc(px(a[1]), py(a[2]), 2.5, 0, 2 * Math.PI); ctx.fill();
        }
        if (head) {
          shown = true; ctx.strokeStyle = colour; ctx.lineWidth = 2; ctx.beginPath();
          ctx.arc(head[0], head[1], 4, 0, 2 * Math.PI); ctx.stroke();
        }
      }
      ctx.fillStyle = "#e6550d"; ctx.font = "16px sans-serif"; ctx.textAlign = "center";
      ctx.textBaseline = "middle"; ctx.fillText("\u2605", SIZE / 2, SIZE / 2);
      panel.note.textContent = shown ? "" : "no step yet";
    };
    panel.loaded = Promise.resolve(true);
    return panel;
  }
  var MAKERS = {samples: samplesPanel, images: imagesPanel, dirac: diracPanel};
  function setup(root) {
    var data = JSON.parse(root.querySelector("script.gb-data").textContent);
    var steps = data.steps, slider = root.querySelector(".gb-slider"),
        label = root.querySelector(".gb-step"), button = root.querySelector(".gb-play"),
        speed = root.querySelector(".gb-speed"), timer = null, frame = steps.length - 1;
    var panels = data.panels.map(function (p) { return MAKERS[data.kind](root, data, p); });
    function show(i) {
      frame = i; slider.value = String(i);
      label.textContent = "step " + steps[i] + " · " + (i + 1) + " of " + steps.length;
      for (var k = 0; k < panels.length; k++) panels[k].draw(steps[i]);
      root.setAttribute("data-frame", String(i)); root.setAttribute("data-step", String(steps[i]));
    }
    function tick() {
      show((frame + 1) % steps.length);
      timer = setTimeout(tick, 1000 / Number(speed.value));
    }
    function stop() { clearTimeout(timer); timer = null; button.textContent = "play"; }
    button.addEventListener("click", function () {
      if (timer !== null) { stop(); return; }
      button.textContent = "pause";
      if (frame === steps.length - 1) show(0);
      timer = setTimeout(tick, 1000 / Number(speed.value));
    });
    slider.addEventListener("input", function () { show(Number(slider.value)); });
    return Promise.all(panels.map(function (p) { return p.loaded; })).then(function (ok) {
      show(frame);
      var good = ok.every(Boolean);
      root.setAttribute("data-ready", good ? "1" : "error");
      return good;
    });
  }
  // <body data-players-loaded="k/n"> once every player has decoded (k) or failed (n - k)
  Promise.all(Array.prototype.map.call(all, function (root) {
    try { return setup(root); } catch (err) {
      root.setAttribute("data-ready", "error");
      return false;
    }
  })).then(function (ok) {
    document.body.setAttribute("data-players-loaded", ok.filter(Boolean).length + "/" + ok.length);
  });
})();
