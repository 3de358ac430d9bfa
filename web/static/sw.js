// The service worker of the field pages (issue 31): the app shell and the entry forms a phone has
// visited load again without a connection. Network first: a page is read from the cache only when
// the network fails. A page is kept only when the server marks it (X-Offline-Page) and only in the
// cache of the account it was shown to (X-Offline-User); caching one account's pages drops every
// other account's, and logging out (a "clear" message, and the server's Clear-Site-Data) drops all.
"use strict";
var SHELL = "shell-v1";
var SHELL_FILES = ["/static/app.css", "/static/field.js", "/static/group_entry.js"];
var PAGES = "pages-";

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(SHELL).then(function (cache) { return cache.addAll(SHELL_FILES); }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (n) { return n.indexOf("shell-") === 0 && n !== SHELL; }).map(function (n) { return caches.delete(n); }));
  }).then(function () { return self.clients.claim(); }));
});

function dropPages(except) {
  return caches.keys().then(function (names) {
    return Promise.all(names.filter(function (n) { return n.indexOf(PAGES) === 0 && n !== except; }).map(function (n) { return caches.delete(n); }));
  });
}

self.addEventListener("message", function (event) {
  var data = event.data || {};
  if (data.type === "clear") {
    event.waitUntil(caches.keys().then(function (names) { return Promise.all(names.map(function (n) { return caches.delete(n); })); }));
  } else if (data.type === "user") {
    event.waitUntil(dropPages(PAGES + data.user));
  }
});

function offlinePage() {
  var html = "<!doctype html><meta charset=utf-8><meta name=viewport content='width=device-width'><title>离线</title>" +
    "<p>当前没有网络，这个页面还没有在本机打开过。请回到已打开过的录入页面，或联网后再试。</p>";
  return new Response(html, { status: 503, headers: { "Content-Type": "text/html; charset=utf-8" } });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) { return; }
  if (url.pathname.indexOf("/static/") === 0) {
    event.respondWith(fetch(request).then(function (response) {
      if (response.ok && SHELL_FILES.indexOf(url.pathname) >= 0) {
        var copy = response.clone();
        caches.open(SHELL).then(function (cache) { cache.put(url.pathname, copy); });
      }
      return response;
    }).catch(function () {
      return caches.match(url.pathname).then(function (hit) { return hit || Response.error(); });
    }));
    return;
  }
  if (request.mode !== "navigate") { return; }
  event.respondWith(fetch(request).then(function (response) {
    var user = response.headers.get("X-Offline-User");
    if (response.ok && response.headers.get("X-Offline-Page") && user) {
      var copy = response.clone();
      var name = PAGES + user;
      event.waitUntil(dropPages(name).then(function () { return caches.open(name); }).then(function (cache) { return cache.put(request.url, copy); }));
    }
    return response;
  }).catch(function () {
    return caches.match(request.url, { ignoreVary: true }).then(function (hit) { return hit || offlinePage(); });
  }));
});
