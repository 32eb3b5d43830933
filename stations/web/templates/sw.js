/* Service worker of the locator: keeps the page and its scripts so it opens without a network.
 * Rendered by stations.web.pages.service_worker: the cache is named after the hash of every
 * static file, and the files are listed by their versioned URLs (?v=<hash of the bytes>). A
 * deploy that changes any file changes this script, so the browser installs the new worker,
 * which deletes the old cache when it takes over: stale code is never served.
 * Pages: network first, the kept copy when offline. Static files: a versioned URL never
 * changes, so the kept copy is served as is. API answers are not kept here (the page keeps
 * its last answer itself). */
'use strict';
var CACHE = {{ cache_name|tojson }};
var SHELL = {{ shell|tojson }};

self.addEventListener('install', function (e) {
  e.waitUntil(caches.open(CACHE).then(function (c) { return c.addAll(SHELL); }).then(function () {
    return self.skipWaiting();
  }));
});

self.addEventListener('activate', function (e) {
  e.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) { return k !== CACHE; }).map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});

self.addEventListener('fetch', function (e) {
  var url = new URL(e.request.url);
  if (e.request.method !== 'GET' || url.origin !== self.location.origin) return;
  if (e.request.mode === 'navigate' && url.pathname === '/') {
    e.respondWith(fetch(e.request).then(function (resp) {
      var copy = resp.clone();
      caches.open(CACHE).then(function (c) { c.put('/', copy); });
      return resp;
    }).catch(function () { return caches.match('/'); }));
    return;
  }
  if (url.pathname.indexOf('/static/') === 0) {
    e.respondWith(caches.match(e.request).then(function (hit) {
      return hit || fetch(e.request).then(function (resp) {
        if (resp.ok) { var copy = resp.clone(); caches.open(CACHE).then(function (c) { c.put(e.request, copy); }); }
        return resp;
      });
    }));
  }
});
