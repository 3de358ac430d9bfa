// Entry that survives a dropped connection (issue 31). Forms marked data-offline are sent with
// fetch and an Idempotency-Key; when the network fails the save is kept in IndexedDB (photos too)
// and sent when the connection is back (the "online" event) or on the next page load. Before
// sending, the queue asks /field/session for the signed-in account and a fresh CSRF token: an
// expired session asks to log in first; another account's saves are never sent under this one.
// A save that meets a newer version (409) or is refused (422) stays as a problem for the clerk to
// decide. Without this script (or IndexedDB) every form still posts as a plain form.
(function () {
  "use strict";
  var body = document.body;
  var user = body.getAttribute("data-user");
  var DB = "hygiene-field", STORE = "saves", MAX_SIDE = 1600;
  if (!user) { return; }

  function newKey() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  // --- IndexedDB -----------------------------------------------------------------------------------
  function open() {
    return new Promise(function (resolve, reject) {
      if (!window.indexedDB) { reject(new Error("no IndexedDB")); return; }
      var req = indexedDB.open(DB, 1);
      req.onupgradeneeded = function () { req.result.createObjectStore(STORE, { keyPath: "key" }); };
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { reject(req.error); };
    });
  }
  function tx(mode, work) {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        var t = db.transaction(STORE, mode), result;
        result = work(t.objectStore(STORE));
        t.oncomplete = function () { db.close(); resolve(result && result.result !== undefined ? result.result : result); };
        t.onerror = function () { db.close(); reject(t.error); };
      });
    });
  }
  function all() { return tx("readonly", function (s) { return s.getAll(); }).then(function (rows) { return (rows || []).sort(function (a, b) { return a.created - b.created; }); }); }
  function put(entry) { return tx("readwrite", function (s) { s.put(entry); }); }
  function remove(key) { return tx("readwrite", function (s) { s["delete"](key); }); }

  // --- photos: resized on the phone, the camera's EXIF (time, place) carried over ------------------
  function exifSegment(buffer) {
    var v = new DataView(buffer), i = 2;
    if (v.byteLength < 4 || v.getUint16(0) !== 0xFFD8) { return null; }
    while (i + 4 < v.byteLength) {
      var marker = v.getUint16(i), length = v.getUint16(i + 2);
      if (marker === 0xFFE1 && v.getUint32(i + 4) === 0x45786966) {
        var segment = buffer.slice(i, i + 2 + length), s = new DataView(segment), t = 10;
        var le = s.getUint16(t) === 0x4949, ifd = t + s.getUint32(t + 4, le), n = s.getUint16(ifd, le);
        for (var k = 0; k < n; k++) {  // the canvas already turned the picture upright
          var e = ifd + 2 + k * 12;
          if (s.getUint16(e, le) === 0x0112) { s.setUint16(e + 8, 1, le); }
        }
        return segment;
      }
      if ((marker & 0xFF00) !== 0xFF00 || marker === 0xFFDA) { return null; }
      i += 2 + length;
    }
    return null;
  }
  function resize(file) {
    if (!window.createImageBitmap || !/^image\/(jpeg|png)$/.test(file.type)) { return Promise.resolve(file); }
    return Promise.all([createImageBitmap(file), file.arrayBuffer()]).then(function (got) {
      var bitmap = got[0], scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
      if (scale === 1 && file.size < 1024 * 1024) { return file; }
      var canvas = document.createElement("canvas");
      canvas.width = Math.round(bitmap.width * scale);
      canvas.height = Math.round(bitmap.height * scale);
      canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
      return new Promise(function (resolve) { canvas.toBlob(resolve, "image/jpeg", 0.8); }).then(function (blob) {
        if (!blob) { return file; }
        var exif = exifSegment(got[1]);
        var parts = exif ? [blob.slice(0, 2), exif, blob.slice(2)] : [blob];
        return new File(parts, file.name.replace(/\.[^.]*$/, "") + ".jpg", { type: "image/jpeg" });
      });
    }).catch(function () { return file; });
  }

  // --- sending -------------------------------------------------------------------------------------
  function fields(form, submitter) {
    var data = new FormData(form), out = [], waits = [];
    if (submitter && submitter.name) { data.append(submitter.name, submitter.value); }
    data.forEach(function (value, name) {
      if (value instanceof File) {
        if (!value.name || !value.size) { return; }
        var slot = out.length;
        out.push(null);
        waits.push(resize(value).then(function (f) { out[slot] = [name, f, f.name]; }));
      } else if (name !== "idempotency_key") {
        out.push([name, value]);
      }
    });
    return Promise.all(waits).then(function () { return out; });
  }
  function send(entry, csrf) {
    var data = new FormData();
    entry.fields.forEach(function (f) {
      if (f[0] === "csrf_token" && csrf) { data.append(f[0], csrf); } else if (f.length === 3) { data.append(f[0], f[1], f[2]); } else { data.append(f[0], f[1]); }
    });
    data.append("idempotency_key", entry.key);
    var headers = { "Accept": "application/json", "Idempotency-Key": entry.key };
    if (csrf) { headers["X-CSRFToken"] = csrf; }
    return fetch(entry.url, { method: "POST", body: data, headers: headers, credentials: "same-origin" }).then(function (r) {
      var json = (r.headers.get("Content-Type") || "").indexOf("application/json") === 0;
      return (json ? r.json() : Promise.resolve({})).then(function (answer) { return { status: r.status, json: json, answer: answer }; });
    });
  }
  function session() {
    return fetch("/field/session", { headers: { "Accept": "application/json" }, credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.json().then(function (j) { j.status = r.status; return j; }); });
  }

  var flushing = false, loginNeeded = false;
  function flush() {
    if (flushing) { return Promise.resolve(); }
    flushing = true;
    return all().then(function (entries) {
      var mine = entries.filter(function (e) { return e.user === user && e.state === "waiting"; });
      if (!mine.length) { return; }
      return session().then(function (s) {
        loginNeeded = s.status === 401 || String(s.user) !== user;
        if (loginNeeded) { return; }
        return mine.reduce(function (chain, entry) {
          return chain.then(function () {
            return send(entry, s.csrf).then(function (result) {
              if (result.json && result.answer.ok) { return remove(entry.key); }
              entry.state = result.status === 409 ? "conflict" : "refused";
              entry.message = result.answer.message || (result.status === 409 ? "该户已被他人修改，这条未保存" : "内容有误，未保存：请打开表单改正");
              return put(entry);
            });
          });
        }, Promise.resolve());
      });
    }).catch(function () { /* still offline: try again on the next "online" or page load */ })
      .then(function () { flushing = false; return show(); });
  }

  // --- the "N 条待上传" panel ----------------------------------------------------------------------
  var panel = document.getElementById("field-queue");
  function show() {
    return all().then(function (entries) {
      if (!panel) { return; }
      var mine = entries.filter(function (e) { return e.user === user; });
      var waiting = mine.filter(function (e) { return e.state === "waiting"; });
      var problems = mine.filter(function (e) { return e.state !== "waiting"; });
      var others = entries.length - mine.length;
      panel.textContent = "";
      panel.hidden = !(mine.length || others);
      panel.setAttribute("data-waiting", String(waiting.length));
      function line(text, cls) { var p = document.createElement("p"); p.textContent = text; if (cls) { p.className = cls; } panel.appendChild(p); return p; }
      if (waiting.length) {
        line(waiting.length + " 条待上传：" + waiting.map(function (e) { return e.label; }).join("、"), "queue-count");
      }
      if (loginNeeded && waiting.length) {
        var p = line("登录已过期，待上传的记录仍在本机。请 ");
        var a = document.createElement("a");
        a.href = "/login?next=" + encodeURIComponent(location.pathname + location.search);
        a.textContent = "重新登录";
        p.appendChild(a);
        p.appendChild(document.createTextNode("，登录后自动上传。"));
      }
      problems.forEach(function (e) {
        var p = line((e.state === "conflict" ? "冲突：" : "未保存：") + e.label + "，" + e.message + " ", "queue-problem");
        var a = document.createElement("a"); a.href = e.url; a.textContent = "打开表单（显示最新内容）"; p.appendChild(a);
        var b = document.createElement("button"); b.type = "button"; b.className = "link"; b.textContent = "放弃这条";
        b.addEventListener("click", function () { remove(e.key).then(function () { show(); }); });
        p.appendChild(document.createTextNode(" ")); p.appendChild(b);
      });
      if (others) { line(others + " 条待上传的记录属于其他账号，需该账号登录后上传。"); }
    }).catch(function () { /* no IndexedDB: nothing is queued */ });
  }

  // --- the forms -----------------------------------------------------------------------------------
  // A save sent by this script is answered in JSON (no flash): its message is shown on the page it leads to.
  var SAVED = "hygiene-saved";
  (function () {
    var message = null;
    try { message = sessionStorage.getItem(SAVED); sessionStorage.removeItem(SAVED); } catch (e) { return; }
    if (!message || !panel) { return; }
    var p = document.createElement("p");
    p.className = "flash flash-success";
    p.setAttribute("role", "status");
    p.textContent = message;
    panel.parentNode.insertBefore(p, panel);
  })();
  document.querySelectorAll("form[data-offline]").forEach(function (form) {
    var key = newKey(), busy = false;
    form.addEventListener("submit", function (event) {
      if (!window.indexedDB || !window.fetch || !window.FormData) { return; }
      event.preventDefault();
      if (busy) { return; }
      busy = true;
      var submitter = event.submitter, note = form.querySelector(".queue-note");
      fields(form, submitter).then(function (list) {
        var entry = { key: key, user: user, url: location.href, label: form.getAttribute("data-label") || document.title, fields: list, created: Date.now(), state: "waiting" };
        return send(entry, null).then(function (result) {
          if (result.json && result.answer.ok) {
            try { sessionStorage.setItem(SAVED, result.answer.message); } catch (e) { /* shown nowhere */ }
            location.assign(result.answer.location);
            return;
          }
          // a form the server refused (wrong values, each shown in its place) or a conflict: the page
          // posts itself as a plain form (the same key: a refused save stored nothing) and shows it as always
          var hidden = form.querySelector("input[name=idempotency_key]");
          if (hidden) { hidden.value = key; }
          if (submitter && submitter.name) { var h = document.createElement("input"); h.type = "hidden"; h.name = submitter.name; h.value = submitter.value; form.appendChild(h); }
          HTMLFormElement.prototype.submit.call(form);
        }, function () {
          return put(entry).then(function () {
            key = newKey();
            form.reset();
            if (!note) { note = form.appendChild(document.createElement("p")); note.className = "flash flash-warning queue-note"; note.setAttribute("role", "status"); }
            note.textContent = "网络不通：已保存在本机（" + entry.label + "），联网后自动上传。";
            return show();
          });
        });
      }).catch(function (problem) {
        if (!note) { note = form.appendChild(document.createElement("p")); note.className = "flash flash-error queue-note"; note.setAttribute("role", "alert"); }
        note.textContent = (problem && problem.message) || "未保存，请重试";
      }).then(function () { busy = false; });
    });
  });

  // --- logging out clears this account's pages and queue; the worker ------------------------------
  document.querySelectorAll("form[action='/logout']").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      all().catch(function () { return []; }).then(function (entries) {
        var waiting = entries.filter(function (e) { return e.user === user; }).length;
        if (waiting && !window.confirm("本机还有 " + waiting + " 条待上传的记录，退出登录将清除它们。确定退出？")) { return; }
        var cleared = [new Promise(function (resolve) { var r = window.indexedDB ? indexedDB.deleteDatabase(DB) : null; if (!r) { resolve(); return; } r.onsuccess = r.onerror = r.onblocked = function () { resolve(); }; })];
        if (navigator.serviceWorker && navigator.serviceWorker.controller) { navigator.serviceWorker.controller.postMessage({ type: "clear" }); }
        if (window.caches) { cleared.push(caches.keys().then(function (n) { return Promise.all(n.map(function (c) { return caches.delete(c); })); })); }
        Promise.all(cleared).then(function () { HTMLFormElement.prototype.submit.call(form); });
      });
    });
  });

  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/sw.js").then(function () { return navigator.serviceWorker.ready; }).then(function (reg) {
      if (reg.active) { reg.active.postMessage({ type: "user", user: user }); }
    }).catch(function () { /* pages still work without the worker */ });
  }
  window.addEventListener("online", flush);
  show().then(flush);
  window.hygieneField = { flush: flush, count: function () { return all().then(function (e) { return e.filter(function (x) { return x.user === user && x.state === "waiting"; }).length; }); } };
})();
