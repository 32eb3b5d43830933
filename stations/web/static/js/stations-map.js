/* The stations map: markers by status, popups, layer control, legend, search, outlines.
 *
 * StationsMap.init(map, layerControl, config) is called by the page that
 * stations.mapping.build_map renders. config.source is "embed" (stations in config.data,
 * clustered here with leaflet.markercluster) or "api" (what is in view is fetched from
 * config.api + "/clusters", clustered on the server; popups from config.api + "/stations/<id>").
 * Positions in config and in API answers are in config.crs, the tiles' system.
 */
(function (global) {
  'use strict';
  var C = global.StationsCommon;
  var UI = {
    zh: {
      outlines: '行政区划界线', filterTitle: '须有设施', statusTitle: '状态', legend: '图例',
      approxLegend: '空心：位置仅到区县', asOf: '状态时间', inView: '视野内驿站', search: '搜索驿站名称…',
      noMatch: '没有匹配的驿站', tilesDown: '底图无法加载（无网络？），显示行政区划界线', amenityIcons: '设施图标',
      clusterTitle: '个驿站，点击放大', searchLabel: '按名称搜索驿站'
    },
    en: {
      outlines: 'Admin boundaries', filterTitle: 'Must have', statusTitle: 'Status', legend: 'Legend',
      approxLegend: 'Hollow: position known only to the county', asOf: 'Status as of', inView: 'Stations in view',
      search: 'Search stations by name…', noMatch: 'No matching station',
      tilesDown: 'Basemap unavailable (offline?): showing admin boundaries', amenityIcons: 'Amenity icons',
      clusterTitle: ' stations, click to zoom in', searchLabel: 'Search stations by name'
    }
  };

  function StationsMapView(map, control, cfg) {
    this.map = map;
    this.control = control;
    this.cfg = cfg;
    this.lang = cfg.lang;
    this.ui = UI[cfg.lang];
    this.ctx = { lang: cfg.lang, statuses: cfg.statuses, amenities: cfg.amenities };
    this.statusOn = cfg.statuses.map(function () { return true; });
    this.amenitiesOn = {};
    this.renderer = L.canvas({ padding: 0.3 });
    this.matched = 0;
    this.ready = false;
    this.requests = 0;
  }

  StationsMapView.prototype.start = function () {
    C.statusStyles(this.cfg.statuses);
    // Without a tile layer a map has no maxZoom, and markercluster refuses to draw (DOMAIN.md).
    if (this.map.options.maxZoom === undefined) this.map.setMaxZoom(this.cfg.tiles.maxZoom || 18);
    this.map.getContainer().classList.add('st-map');
    this._outlines();
    this._statusToggles();
    this._amenityFilter();
    this._legend();
    this._counter();
    this._search();
    if (this.cfg.planning && global.StationsPlanning) this.planning = global.StationsPlanning.init(this);
    this._watchTiles();
    if (this.cfg.source === 'embed') this._embed(); else this._api();
    if (this.control && window.innerWidth >= 900 && window.innerHeight >= 700) this.control.expand();
    return this;
  };

  /* ---- markers ---------------------------------------------------------------------------- */

  /* The code of a status index of a station row (the server's, see stations.mapping.status). */
  StationsMapView.prototype.statusCode = function (statusIdx) {
    return (this.cfg.statuses[statusIdx] || {}).code;
  };

  StationsMapView.prototype.stationIcon = function (statusIdx, approx) {
    var s = this.cfg.statuses[statusIdx] || this.cfg.statuses[3];
    return L.divIcon({
      className: 'st-mk st-s-' + s.code + (approx ? ' st-approx' : ''),
      html: C.icon(s.icon), iconSize: [26, 26], iconAnchor: [13, 13], popupAnchor: [0, -12]
    });
  };

  StationsMapView.prototype.clusterIcon = function (count, byStatus) {
    var total = byStatus.reduce(function (a, b) { return a + b; }, 0) || 1, acc = 0;
    var stops = this.cfg.statuses.map(function (s, i) {
      var from = acc; acc += 100 * byStatus[i] / total;
      return s.color + ' ' + from.toFixed(1) + '% ' + acc.toFixed(1) + '%';
    });
    var size = Math.round(30 + 7 * Math.log10(Math.max(count, 1)));
    var label = count >= 10000 ? Math.round(count / 1000) + 'k' : count >= 1000 ? (count / 1000).toFixed(1) + 'k' : count;
    return L.divIcon({
      className: 'st-cl',
      html: '<div class="st-cl-ring" style="width:' + size + 'px;height:' + size + 'px;background:conic-gradient(' +
        stops.join(',') + ')"><span>' + label + '</span></div>',
      iconSize: [size, size], iconAnchor: [size / 2, size / 2]
    });
  };

  StationsMapView.prototype.marker = function (row, latlng) {
    // row: [id, lat, lon, status, name, approximate]
    var self = this;
    var m = L.marker(latlng || [row[1], row[2]], {
      icon: this.stationIcon(row[3], row[5]), title: row[4], alt: row[4], riseOnHover: true, keyboard: true
    });
    m.stationId = row[0];
    m.stationStatus = row[3];
    if (this.cfg.source === 'embed') {
      m.bindPopup(function () {
        return C.popupHtml(self.cfg.data.details[row[0]], self.statusCode(row[3]), self.ctx);
      }, { maxWidth: 320, autoPanPadding: [20, 20] });
    } else {
      m.bindPopup('<div class="st-popup">' + C.esc(C.WORDS[this.lang].loading) + '</div>',
        { maxWidth: 320, autoPanPadding: [20, 20] });
      m.on('popupopen', function () { self.openId = m.stationId; self._loadPopup(m); });
      m.on('popupclose', function () { if (self.openId === m.stationId) self.openId = null; });
    }
    return m;
  };

  StationsMapView.prototype._loadPopup = function (m) {
    var self = this;
    this.details = this.details || {};
    var code = this.statusCode(m.stationStatus);
    if (this.details[m.stationId]) { m.setPopupContent(C.popupHtml(this.details[m.stationId], code, this.ctx)); return; }
    var url = this.cfg.api + '/stations/' + encodeURIComponent(m.stationId) + '?lang=' + this.lang +
      '&crs=' + this.cfg.crs;
    fetch(url).then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (f) {
        self.details[m.stationId] = f.properties;
        m.setPopupContent(C.popupHtml(f.properties, code, self.ctx));
      })
      .catch(function () { m.setPopupContent('<div class="st-popup">' + C.esc(C.WORDS[self.lang].failed) + '</div>'); });
  };

  /* ---- embedded stations (a county file) --------------------------------------------------- */

  StationsMapView.prototype._embed = function () {
    var self = this;
    this.cluster = L.markerClusterGroup({
      maxClusterRadius: 40, showCoverageOnHover: false, spiderfyOnMaxZoom: true, chunkedLoading: true,
      disableClusteringAtZoom: 17,
      iconCreateFunction: function (cl) {
        var by = self.cfg.statuses.map(function () { return 0; });
        cl.getAllChildMarkers().forEach(function (mk) { by[mk.stationStatus] += 1; });
        return self.clusterIcon(cl.getChildCount(), by);
      }
    }).addTo(this.map);
    this.markers = this.cfg.data.stations.map(function (row) { return self.marker(row); });
    this.refresh();
  };

  StationsMapView.prototype._passes = function (row) {
    if (!this.statusOn[row[3]]) return false;
    var det = this.cfg.data.details[row[0]] || {}, am = det.amenities || {};
    for (var code in this.amenitiesOn) if (this.amenitiesOn[code] && am[code] !== 'yes') return false;
    return true;
  };

  /* ---- stations from the API (province and national views) --------------------------------- */

  StationsMapView.prototype._api = function () {
    var self = this;
    this.layer = L.layerGroup().addTo(this.map);
    this.cache = {};
    var timer = null;
    this.map.on('moveend', function () { clearTimeout(timer); timer = setTimeout(function () { self.refresh(); }, 120); });
    this.refresh();
  };

  StationsMapView.prototype._viewUrl = function () {
    var z = this.map.getZoom(), b = this.map.getBounds();
    // Pad the view and snap it to a grid, so small pans reuse an answer (and its HTTP cache).
    var step = 360 / Math.pow(2, z) / 2;
    function down(v) { return (Math.floor(v / step) * step).toFixed(5); }
    function up(v) { return (Math.ceil(v / step) * step).toFixed(5); }
    var w = Math.max(b.getWest() - step, -180), s = Math.max(b.getSouth() - step, -85);
    var e = Math.min(b.getEast() + step, 180), n = Math.min(b.getNorth() + step, 85);
    var statuses = this.cfg.statuses.filter(function (s, i) { return this.statusOn[i]; }, this)
      .map(function (s) { return s.code; });
    var amen = Object.keys(this.amenitiesOn).filter(function (k) { return this.amenitiesOn[k]; }, this).sort();
    return this.cfg.api + '/clusters?bbox=' + [down(w), down(s), up(e), up(n)].join(',') + '&zoom=' + z +
      '&crs=' + this.cfg.crs + '&status=' + (statuses.join(',') || 'none') +
      (amen.length ? '&amenities=' + amen.join(',') : '');
  };

  StationsMapView.prototype._drawApi = function (body, url) {
    var self = this, layers = [], reopen = null, openId = this.openId;
    if (url && url === this.drawnUrl) return;  // the same answer is already on the map
    this.drawnUrl = url;
    body.clusters.forEach(function (c) {
      // c: [lat, lon, count, by_status, [min_lon, min_lat, max_lon, max_lat]]
      var mk = L.marker([c[0], c[1]], { icon: self.clusterIcon(c[2], c[3]), title: c[2] + self.ui.clusterTitle,
        keyboard: true });
      mk.on('click', function () {
        var bb = c[4];
        if (bb[2] - bb[0] < 1e-6 && bb[3] - bb[1] < 1e-6) self.map.setView([c[0], c[1]], self.map.getZoom() + 3);
        else self.map.fitBounds([[bb[1], bb[0]], [bb[3], bb[2]]], { padding: [40, 40] });
      });
      layers.push(mk);
    });
    this._spread(body.stations).forEach(function (pair) {
      var mk = self.marker(pair[0], pair[1]);
      if (openId && mk.stationId === openId) reopen = mk;
      layers.push(mk);
    });
    this.layer.clearLayers();  // closes an open popup: it is opened again on the new marker
    layers.forEach(function (l) { self.layer.addLayer(l); });
    if (reopen) reopen.openPopup();
    this.matched = body.matched;
    this.drawnZoom = body.zoom;
    this._done();
  };

  /* Stations at exactly one point (e.g. several placed at a county centre) fan out in a ring. */
  StationsMapView.prototype._spread = function (rows) {
    var groups = {}, out = [], map = this.map;
    rows.forEach(function (r) { var k = r[1] + ',' + r[2]; (groups[k] = groups[k] || []).push(r); });
    Object.keys(groups).forEach(function (k) {
      var g = groups[k];
      if (g.length === 1) { out.push([g[0], null]); return; }
      var p = map.project([g[0][1], g[0][2]]);
      g.forEach(function (r, i) {
        var a = 2 * Math.PI * i / g.length, rad = 12 + 2 * g.length;
        out.push([r, map.unproject(p.add([rad * Math.cos(a), rad * Math.sin(a)]))]);
      });
    });
    return out;
  };

  /* ---- refresh on filter change ------------------------------------------------------------ */

  StationsMapView.prototype.refresh = function () {
    var self = this;
    if (this.cfg.source === 'embed') {
      var shown = this.markers.filter(function (m, i) { return self._passes(self.cfg.data.stations[i]); });
      this.cluster.clearLayers();
      this.cluster.addLayers(shown);
      this.matched = shown.length;
      this.drawnZoom = this.map.getZoom();
      this._done();
      return;
    }
    var url = this._viewUrl();
    if (this.cache[url]) { this._drawApi(this.cache[url], url); return; }
    if (this.pending) this.pending.abort();
    var ctrl = typeof AbortController !== 'undefined' ? new AbortController() : null;
    this.pending = ctrl;
    this.requests += 1;
    fetch(url, ctrl ? { signal: ctrl.signal } : {})
      .then(function (r) { if (!r.ok) throw new Error('HTTP ' + r.status); return r.json(); })
      .then(function (body) { self.cache[url] = body; if (self.pending === ctrl) self.pending = null; self._drawApi(body, url); })
      .catch(function (err) { if (!err || err.name !== 'AbortError') self._notice(String(err)); });
  };

  StationsMapView.prototype._done = function () {
    if (this.countEl) {
      this.countEl.textContent = this.ui.inView + ': ' + this.matched.toLocaleString(this.lang === 'zh' ? 'zh-CN' : 'en');
    }
    this.ready = true;
    if (!this.readyAt) this.readyAt = performance.now();  // ms since navigation start (benchmark)
    document.documentElement.setAttribute('data-stations-ready', String((+document.documentElement.getAttribute(
      'data-stations-ready') || 0) + 1));
    this.map.fire('stations:drawn');
  };

  /* ---- controls ---------------------------------------------------------------------------- */

  StationsMapView.prototype._statusToggles = function () {
    if (!this.control) return;
    var self = this;
    this.cfg.statuses.forEach(function (s, i) {
      var g = L.layerGroup().addTo(self.map);
      g.stationsStatus = i;
      self.control.addOverlay(g, '<span class="st-sw st-s-' + s.code + '">' + C.icon(s.icon) + '</span>' +
        C.esc(s[self.lang]));
    });
    this.map.on('overlayadd overlayremove', function (e) {
      if (e.layer.stationsStatus === undefined) return;
      self.statusOn[e.layer.stationsStatus] = e.type === 'overlayadd';
      self.refresh();
    });
  };

  StationsMapView.prototype._amenityFilter = function () {
    if (!this.control) return;
    var self = this, list = this.control.getContainer().querySelector('.leaflet-control-layers-list');
    var sep = L.DomUtil.create('div', 'leaflet-control-layers-separator', list);
    sep.setAttribute('aria-hidden', 'true');
    var box = L.DomUtil.create('fieldset', 'st-amen-filter', list);
    var legend = L.DomUtil.create('legend', 'st-lc-title', box);
    legend.textContent = this.ui.filterTitle;
    this.cfg.amenities.forEach(function (a) {
      var label = L.DomUtil.create('label', 'st-amen-opt', box);
      var input = L.DomUtil.create('input', '', label);
      input.type = 'checkbox';
      input.value = a.code;
      input.name = 'amenity';
      label.insertAdjacentHTML('beforeend', C.icon(a.icon));
      var span = L.DomUtil.create('span', '', label);
      span.textContent = self.lang === 'zh' ? a.zh : a.en;
      span.title = a.zh + ' / ' + a.en;
      L.DomEvent.on(input, 'change', function () { self.amenitiesOn[a.code] = input.checked; self.refresh(); });
    });
    L.DomEvent.disableClickPropagation(box);
  };

  StationsMapView.prototype._legend = function () {
    var self = this;
    var Legend = L.Control.extend({
      options: { position: 'bottomright' },
      onAdd: function () {
        var div = L.DomUtil.create('div', 'st-legend leaflet-bar');
        var h = '<details' + (window.innerWidth >= 700 ? ' open' : '') + '><summary>' + C.esc(self.ui.legend) +
          '</summary><ul>';
        self.cfg.statuses.forEach(function (s) {
          h += '<li><span class="st-sw st-s-' + s.code + '">' + C.icon(s.icon) + '</span>' + C.esc(s[self.lang]) +
            (self.lang === 'zh' ? ' <span class="st-en">' + C.esc(s.en) + '</span>' : '') + '</li>';
        });
        h += '<li><span class="st-sw st-s-open_now st-approx-sw">' + C.icon('mug-hot') + '</span>' +
          C.esc(self.ui.approxLegend) + '</li></ul>';
        h += '<details class="st-amen-legend"><summary>' + C.esc(self.ui.amenityIcons) + '</summary><ul>';
        self.cfg.amenities.forEach(function (a) {
          h += '<li>' + C.icon(a.icon) + ' ' + C.esc(a.zh) + ' <span class="st-en">' + C.esc(a.en) + '</span></li>';
        });
        h += '</ul></details>';
        if (self.cfg.source === 'embed' && self.cfg.data.generated) {
          h += '<p class="st-asof">' + C.esc(self.ui.asOf) + ': ' + C.esc(self.cfg.data.generated.replace('T', ' ')) + '</p>';
        }
        div.innerHTML = h + '</details>';
        L.DomEvent.disableClickPropagation(div);
        L.DomEvent.disableScrollPropagation(div);
        return div;
      }
    });
    new Legend().addTo(this.map);
  };

  StationsMapView.prototype._counter = function () {
    var self = this;
    var Counter = L.Control.extend({
      options: { position: 'bottomleft' },
      onAdd: function () {
        var div = L.DomUtil.create('div', 'st-counter');
        div.setAttribute('role', 'status');
        self.countEl = L.DomUtil.create('span', '', div);
        self.noticeEl = L.DomUtil.create('span', 'st-notice', div);
        return div;
      }
    });
    new Counter().addTo(this.map);
  };

  StationsMapView.prototype._notice = function (text) {
    if (this.noticeEl) this.noticeEl.textContent = text;
  };

  StationsMapView.prototype._search = function () {
    var self = this;
    var Search = L.Control.extend({
      options: { position: 'topleft' },
      onAdd: function () {
        var div = L.DomUtil.create('div', 'st-search leaflet-bar');
        div.setAttribute('role', 'search');
        var input = L.DomUtil.create('input', '', div);
        input.type = 'search';
        input.placeholder = self.ui.search;
        input.setAttribute('aria-label', self.ui.searchLabel);
        var list = L.DomUtil.create('ul', 'st-search-results', div);
        var timer = null;
        L.DomEvent.disableClickPropagation(div);
        L.DomEvent.disableScrollPropagation(div);
        L.DomEvent.on(input, 'input', function () {
          clearTimeout(timer);
          timer = setTimeout(function () { self._runSearch(input.value, list); }, 200);
        });
        L.DomEvent.on(input, 'keydown', function (e) {
          if (e.key === 'Enter') { var first = list.querySelector('button'); if (first) first.click(); }
        });
        return div;
      }
    });
    new Search().addTo(this.map);
  };

  StationsMapView.prototype._runSearch = function (text, list) {
    var self = this;
    text = text.trim();
    list.textContent = '';
    if (!text) return;
    function show(hits) {
      list.textContent = '';
      if (!hits.length) {
        var li = L.DomUtil.create('li', 'st-search-none', list);
        li.textContent = self.ui.noMatch;
        return;
      }
      hits.forEach(function (h) {
        var li = L.DomUtil.create('li', '', list);
        var b = L.DomUtil.create('button', '', li);
        b.type = 'button';
        b.textContent = h.name;
        L.DomEvent.on(b, 'click', function () { list.textContent = ''; self.goTo(h); });
      });
    }
    if (this.cfg.source === 'embed') {
      var low = text.toLowerCase();
      show(this.cfg.data.stations.filter(function (r) {
        return String(r[4]).toLowerCase().indexOf(low) >= 0 || String(r[0]).toLowerCase() === low;
      }).slice(0, 10).map(function (r) { return { station_id: r[0], name: r[4], lat: r[1], lon: r[2] }; }));
      return;
    }
    fetch(this.cfg.api + '/search?q=' + encodeURIComponent(text) + '&crs=' + this.cfg.crs + '&limit=10')
      .then(function (r) { return r.json(); }).then(function (b) { show(b.results || []); })
      .catch(function () { show([]); });
  };

  /* Zoom to a station and open its popup. */
  StationsMapView.prototype.goTo = function (hit) {
    var self = this;
    if (this.cfg.source === 'embed') {
      var m = this.markers.filter(function (mk) { return mk.stationId === hit.station_id; })[0];
      if (m) this.cluster.zoomToShowLayer(m, function () { m.openPopup(); });
      return;
    }
    this.map.once('stations:drawn', function () {
      self.layer.eachLayer(function (l) { if (l.stationId === hit.station_id) l.openPopup(); });
    });
    this.map.setView([hit.lat, hit.lon], Math.max(this.map.getZoom(), 17));
  };

  /* ---- basemap: outlines and tiles --------------------------------------------------------- */

  StationsMapView.prototype._outlines = function () {
    var self = this;
    var group = L.layerGroup().addTo(this.map);
    this.outlines = group;
    if (this.control) this.control.addOverlay(group, C.esc(this.ui.outlines));
    var provStyle = { color: '#5d6d7e', weight: 1.2, opacity: 0.8 };
    var countyStyle = { color: '#95a5a6', weight: 0.7, opacity: 0.9 };
    if (this.cfg.source === 'embed') {
      group.addLayer(C.outlineLayer(this.cfg.data.outlines, countyStyle, this.renderer));
      return;
    }
    C.loadOutlines(this.map, group, this.cfg.api, this.cfg.crs, this.renderer, provStyle, countyStyle);
  };

  StationsMapView.prototype._watchTiles = function () {
    var self = this, errors = 0;
    this.map.eachLayer(function (l) {
      if (!(l instanceof L.TileLayer)) return;
      l.on('tileerror', function () {
        errors += 1;
        if (errors === 2) self._notice(self.ui.tilesDown);
      });
      l.on('tileload', function () { if (errors) { errors = 0; self._notice(''); } });
    });
  };

  global.StationsMap = {
    init: function (map, control, cfg) {
      var view = new StationsMapView(map, control, cfg).start();
      global.stationsMapView = view;  // for tests and the benchmark
      return view;
    }
  };
})(window);
