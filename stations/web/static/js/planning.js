/* Planners' coverage layer on the stations map (/map): the "规划 / Planning" control.
 *
 * StationsPlanning.init(view) is called by StationsMap (stations-map.js) when the page's
 * config has `planning` (maps served with source="api"). The planner names an area (name
 * or adcode), a mode, minutes and optionally a time and an amenity; the control asks
 * config.api + "/coverage" and draws the ranked gap polygons (styled here from their
 * properties), fits the view to them and shows the covered shares. API errors (problem
 * documents) are shown as their `detail` text. All text reaches the page through
 * textContent or StationsCommon.esc.
 *
 * The gaps come in the tiles' system: the request carries crs=config.crs and the server
 * converts the polygons (inside mainland China only), as it does for the markers.
 */
(function (global) {
  'use strict';
  var C = global.StationsCommon;
  var UI = {
    zh: {
      title: '规划', titleFull: '规划：驿站覆盖', area: '区域', areaHint: '区县名称或行政区划代码，如 蔚县、130726',
      mode: '出行方式', minutes: '分钟', at: '时间（可选，夜间覆盖）', amenity: '须有设施（可选）', any: '不限',
      cell: '网格（米）', gapLevel: '缺口', gap1: '无驿站覆盖', gap2: '不足 2 个驿站（交叉覆盖）', run: '计算覆盖',
      clear: '清除', running: '计算中…', failed: '无法计算覆盖', network: '网络错误，无法连接服务器',
      covered1: '≥1 个驿站覆盖', covered2: '≥2 个驿站覆盖', share: '面积', demand: '需求', stations: '驿站',
      gaps: '覆盖缺口', gapsShown: '显示前', layer: '覆盖缺口（规划）', rank: '排名', areaKm2: '面积',
      uncovered: '未覆盖需求', district: '区县', worst: '最远步程', minUnit: '分钟', km2: '平方公里',
      noGaps: '没有覆盖缺口', allStations: '全部驿站', modes: { walk: '步行', ebike: '电动车', tricycle: '三轮车' }
    },
    en: {
      title: 'Planning', titleFull: 'Planning: station coverage', area: 'Area',
      areaHint: 'County name or adcode, e.g. 蔚县, 130726', mode: 'Mode', minutes: 'Minutes',
      at: 'Time (optional, night coverage)', amenity: 'Must have (optional)', any: 'Any', cell: 'Grid (m)',
      gapLevel: 'Gaps', gap1: 'No station in reach', gap2: 'Fewer than 2 stations (cross coverage)',
      run: 'Compute coverage', clear: 'Clear', running: 'Computing…', failed: 'Could not compute coverage',
      network: 'Network error: the server cannot be reached', covered1: 'Covered by ≥1 station',
      covered2: 'Covered by ≥2 stations', share: 'area', demand: 'demand', stations: 'Stations', gaps: 'Gaps',
      gapsShown: 'showing top', layer: 'Coverage gaps (planning)', rank: 'Rank', areaKm2: 'Area',
      uncovered: 'Uncovered demand', district: 'District', worst: 'Farthest', minUnit: 'min', km2: 'km²',
      noGaps: 'No coverage gaps', allStations: 'all stations', modes: { walk: 'Walk', ebike: 'E-bike', tricycle: 'Tricycle' }
    }
  };
  var MODES = ['walk', 'ebike', 'tricycle'];
  // Gap fill by rank: the worst gap darkest.
  var RANK_COLORS = ['#7f0000', '#b71c1c', '#d84315', '#ef6c00', '#f9a825'];

  /* ---- formatting ------------------------------------------------------------------------ */

  function pct(v) {
    if (v == null || isNaN(v)) return '–';
    return (v > 0 && v < 1 ? Number(v).toFixed(2) : Number(v).toFixed(1)) + '%';
  }

  function num(v, lang, digits) {
    if (v == null || isNaN(v)) return '–';
    return Number(v).toLocaleString(lang === 'zh' ? 'zh-CN' : 'en', { maximumFractionDigits: digits == null ? 1 : digits });
  }

  /* ---- the control ----------------------------------------------------------------------- */

  function Planning(view) {
    this.view = view;
    this.map = view.map;
    this.cfg = view.cfg;
    this.lang = view.lang;
    this.ui = UI[view.lang] || UI.zh;
    this.opts = view.cfg.planning || {};
    this.layer = null;
    this.pending = null;
    this.runs = 0;  // finished runs (tests wait on it)
    this._control();
  }

  Planning.prototype._control = function () {
    var self = this, ui = this.ui;
    var Ctl = L.Control.extend({
      options: { position: 'topleft' },
      onAdd: function () {
        var div = L.DomUtil.create('div', 'st-plan leaflet-bar');
        var det = L.DomUtil.create('details', '', div);
        var sum = L.DomUtil.create('summary', '', det);
        sum.insertAdjacentHTML('beforeend', C.icon('map-location-dot'));
        var st = L.DomUtil.create('span', '', sum);
        st.textContent = ' ' + ui.title;
        sum.title = ui.titleFull;
        // The result sits above the form: it stays in sight when the panel has to scroll.
        self.out = L.DomUtil.create('div', 'st-plan-out', det);
        self.out.setAttribute('role', 'status');
        self.out.setAttribute('aria-live', 'polite');
        var form = L.DomUtil.create('form', 'st-plan-form', det);
        form.setAttribute('aria-label', ui.titleFull);
        self.form = form;
        function field(label, cls) {
          var l = L.DomUtil.create('label', 'st-plan-f ' + (cls || ''), form);
          var s = L.DomUtil.create('span', '', l);
          s.textContent = label;
          return l;
        }
        function input(label, name, type, cls) {
          var el = L.DomUtil.create('input', '', field(label, cls));
          el.name = name; el.type = type;
          return el;
        }
        function select(label, name, options, cls) {
          var el = L.DomUtil.create('select', '', field(label, cls));
          el.name = name;
          options.forEach(function (o) {
            var op = L.DomUtil.create('option', '', el);
            op.value = o[0]; op.textContent = o[1];
          });
          return el;
        }
        var area = input(ui.area, 'area', 'text', 'st-plan-wide');
        area.placeholder = ui.areaHint; area.required = true; area.autocomplete = 'off';
        area.maxLength = 60;
        select(ui.mode, 'mode', MODES.map(function (m) { return [m, ui.modes[m]]; }));
        var minutes = input(ui.minutes, 'minutes', 'number');
        minutes.min = 1; minutes.max = 60; minutes.step = 'any'; minutes.value = self.opts.minutes || 15;
        input(ui.at, 'at', 'datetime-local', 'st-plan-wide');
        select(ui.amenity, 'amenity', [['', ui.any]].concat(self.cfg.amenities.map(function (a) {
          return [a.code, self.lang === 'zh' ? a.zh : a.en];
        })), 'st-plan-wide');
        var cell = input(ui.cell, 'cell_m', 'number');
        cell.min = 50; cell.max = 5000; cell.step = 50; cell.value = self.opts.cell_m || 200;
        select(ui.gapLevel, 'gap_level', [['1', ui.gap1], ['2', ui.gap2]]);
        var buttons = L.DomUtil.create('div', 'st-plan-buttons', form);
        var run = L.DomUtil.create('button', 'st-plan-run', buttons);
        run.type = 'submit'; run.textContent = ui.run;
        self.runButton = run;
        var clear = L.DomUtil.create('button', 'st-plan-clear', buttons);
        clear.type = 'button'; clear.textContent = ui.clear;
        L.DomEvent.on(form, 'submit', function (e) { L.DomEvent.preventDefault(e); self.run(); });
        L.DomEvent.on(clear, 'click', function () { self.clear(); });
        L.DomEvent.disableClickPropagation(div);
        L.DomEvent.disableScrollPropagation(div);
        self.details = det;
        return div;
      }
    });
    new Ctl().addTo(this.map);
  };

  Planning.prototype.query = function () {
    var f = this.form.elements, q = [];
    function add(name, value) { if (value !== '' && value != null) q.push(name + '=' + encodeURIComponent(value)); }
    add('area', f.area.value.trim());
    add('mode', f.mode.value);
    add('minutes', f.minutes.value);
    add('cell_m', f.cell_m.value);
    add('at', f.at.value);
    add('amenity', f.amenity.value);
    add('gap_level', f.gap_level.value);
    add('crs', this.cfg.crs);
    return q.join('&');
  };

  Planning.prototype.run = function () {
    var self = this, ui = this.ui;
    if (!this.form.elements.area.value.trim()) { this.form.elements.area.focus(); return; }
    if (this.pending) this.pending.abort();
    var ctrl = typeof AbortController !== 'undefined' ? new AbortController() : null;
    this.pending = ctrl;
    this.runButton.disabled = true;
    this._message(ui.running, '');
    fetch(this.cfg.api + '/coverage?' + this.query(), ctrl ? { signal: ctrl.signal } : {})
      .then(function (r) {
        return r.json().catch(function () { return null; }).then(function (body) {
          if (!r.ok) {
            var err = new Error(body && body.detail ? body.detail : ui.failed + ' (HTTP ' + r.status + ')');
            err.problem = true;
            throw err;
          }
          return body;
        });
      })
      .then(function (body) {
        if (self.pending !== ctrl) return;
        self.pending = null;
        self._draw(body);
        self._summary(body);
        self._finish();
      })
      .catch(function (err) {
        if (err && err.name === 'AbortError') return;
        self.pending = null;
        self._message(err && err.problem ? err.message : ui.network, 'st-plan-error');
        self._finish();
      });
  };

  Planning.prototype._finish = function () {
    this.runButton.disabled = false;
    this.runs += 1;
    this.map.fire('planning:done');
  };

  Planning.prototype.clear = function () {
    if (this.pending) { this.pending.abort(); this.pending = null; }
    this._removeLayer();
    this.runButton.disabled = false;
    this._message('', '');
  };

  Planning.prototype._removeLayer = function () {
    if (!this.layer) return;
    if (this.view.control) this.view.control.removeLayer(this.layer);
    this.map.removeLayer(this.layer);
    this.layer = null;
  };

  Planning.prototype._style = function (feature) {
    var p = feature.properties || {}, rank = +p.gap_id || 1;
    var share = Math.max(0, Math.min(100, +p.share_of_uncovered_pct || 0));
    return {
      color: RANK_COLORS[Math.min(rank, RANK_COLORS.length) - 1], weight: rank === 1 ? 2 : 1.2, opacity: 0.9,
      fillColor: RANK_COLORS[Math.min(rank, RANK_COLORS.length) - 1],
      fillOpacity: 0.18 + 0.27 * share / 100, className: 'st-gap st-gap-' + rank
    };
  };

  Planning.prototype._popup = function (p, uniform) {
    var ui = this.ui, lang = this.lang;
    var h = '<div class="st-popup st-gap-popup" lang="' + (lang === 'zh' ? 'zh-CN' : 'en') + '">';
    h += '<h3>' + C.esc(ui.gaps) + ' #' + C.esc(p.gap_id) + '</h3><dl class="st-facts">';
    h += '<dt>' + C.esc(ui.rank) + '</dt><dd>' + C.esc(p.gap_id) + '</dd>';
    h += '<dt>' + C.esc(ui.areaKm2) + '</dt><dd>' + C.esc(num(p.area_km2, lang, 2)) + ' ' + C.esc(ui.km2) + '</dd>';
    h += '<dt>' + C.esc(ui.uncovered) + '</dt><dd>' + C.esc(num(p.uncovered_demand, lang, 2)) +
      (uniform ? ' ' + C.esc(ui.km2) : '') +
      (p.share_of_uncovered_pct != null ? ' (' + C.esc(pct(p.share_of_uncovered_pct)) + ')' : '') + '</dd>';
    if (p.district) h += '<dt>' + C.esc(ui.district) + '</dt><dd>' + C.esc(p.district) + '</dd>';
    if (p.max_nearest_min != null && isFinite(p.max_nearest_min)) {
      h += '<dt>' + C.esc(ui.worst) + '</dt><dd>' + C.esc(num(p.max_nearest_min, lang, 0)) + ' ' +
        C.esc(ui.minUnit) + '</dd>';
    }
    return h + '</dl></div>';
  };

  Planning.prototype._draw = function (body) {
    var self = this;
    this._removeLayer();
    this.layer = L.geoJSON(body.gaps || { type: 'FeatureCollection', features: [] }, {
      style: function (f) { return self._style(f); },
      onEachFeature: function (f, l) {
        l.bindPopup(function () { return self._popup(f.properties || {}, body.uniform_demand); },
          { maxWidth: 320, autoPanPadding: [20, 20] });
      }
    }).addTo(this.map);
    if (this.view.control) this.view.control.addOverlay(this.layer, C.esc(this.ui.layer));
    var bounds = this.layer.getBounds();
    if (bounds.isValid()) this.map.fitBounds(bounds, this._fitPadding());
  };

  /* Keep the gaps clear of this panel and of an expanded layer control, when the map is wide enough. */
  Planning.prototype._fitPadding = function () {
    var w = this.map.getSize().x, left = this.details.parentNode.offsetWidth + 30, right = 30;
    var lc = this.view.control && this.view.control.getContainer();
    if (lc && lc.classList.contains('leaflet-control-layers-expanded')) right = lc.offsetWidth + 30;
    if (w - left - right < 240) return { padding: [30, 30] };
    return { paddingTopLeft: [left, 30], paddingBottomRight: [right, 30] };
  };

  Planning.prototype._message = function (text, cls) {
    this.out.className = 'st-plan-out ' + (cls || '');
    this.out.textContent = text;
    if (cls === 'st-plan-error') this.out.setAttribute('role', 'alert'); else this.out.setAttribute('role', 'status');
  };

  Planning.prototype._summary = function (b) {
    var ui = this.ui, lang = this.lang, out = this.out;
    this._message('', 'st-plan-ok');
    var h = L.DomUtil.create('p', 'st-plan-area', out);
    h.textContent = b.area + (b.adcode ? ' (' + b.adcode + ')' : '');
    var meta = L.DomUtil.create('p', 'st-plan-meta', out);
    meta.textContent = (ui.modes[b.mode] || b.mode) + ' ' + num(b.minutes, lang) + ' ' + ui.minUnit + ' · ' +
      (b.scenario === 'all stations' ? ui.allStations : b.scenario) + ' · ' + ui.stations + ' ' + num(b.n_stations, lang, 0);
    var table = L.DomUtil.create('table', 'st-plan-table', out);
    var head = L.DomUtil.create('tr', '', table);
    ['', ui.share, ui.demand].forEach(function (t) { L.DomUtil.create('th', '', head).textContent = t; });
    [[ui.covered1, b.perc_area_covered, b.perc_demand_covered, 'st-plan-c1'],
     [ui.covered2, b.perc_area_covered_2plus, b.perc_demand_covered_2plus, 'st-plan-c2']].forEach(function (r) {
      var tr = L.DomUtil.create('tr', r[3], table);
      L.DomUtil.create('th', '', tr).textContent = r[0];
      L.DomUtil.create('td', '', tr).textContent = pct(r[1]);
      L.DomUtil.create('td', '', tr).textContent = pct(r[2]);
    });
    var n = (b.gaps && b.gaps.features ? b.gaps.features.length : 0);
    var g = L.DomUtil.create('p', 'st-plan-gaps', out);
    g.textContent = n ? ui.gaps + ': ' + num(b.n_gaps, lang, 0) + (b.n_gaps > n ? ' (' + ui.gapsShown + ' ' + n + ')' : '')
      : ui.noGaps;
    (b.notes || []).forEach(function (t) { L.DomUtil.create('p', 'st-plan-note', out).textContent = t; });
  };

  global.StationsPlanning = {
    init: function (view) { return new Planning(view); }
  };
})(window);
