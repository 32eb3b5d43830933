/* The locator (/): where am I, and which rest stations are nearest?
 *
 * The user's position comes from the browser (WGS-84), a tap on the map (the tiles' system)
 * or a typed place (/api/v1/places). The nearest stations come from /api/v1/nearest in the
 * map's system, with their distance, minutes on foot and by e-bike, open status and map
 * status (station.map_status: the legend's code, stations.mapping.status), amenities and
 * navigation links, all computed by the server (one link per map app): the page neither
 * converts coordinates nor decides whether a station is open. The last answer is kept in
 * localStorage and shown when the network drops. Station text is only ever set with
 * textContent or the escaping helpers of stations-common.js.
 *
 * /embed serves the same page inside other sites' frames: cfg.embed then gives the filters,
 * the point to search from and the zoom (checked by the server), the page keeps that zoom,
 * registers no service worker, and tells its parent page how many stations it shows
 * (postMessage {type: 'stations-embed', event: 'results', count}).
 */
(function () {
  'use strict';
  var C = window.StationsCommon;
  var cfg = JSON.parse(document.getElementById('locator-config').textContent);
  var STORE_KEY = 'stations.locator.last.v1';
  var LANG_KEY = 'stations.locator.lang';
  var I18N = {
    zh: {
      title: '附近的工会驿站', heading: '附近的工会驿站', switch: 'English', whereHeading: '位置',
      locate: '使用我的位置', placeLabel: '输入地点', placeHolder: '输入地点或驿站名，如 昌黎县', placeGo: '查找',
      tapHint: '也可以在地图上点选位置', resultsHeading: '最近的驿站', fullMap: '全国驿站地图', apiDocs: 'API 文档',
      distanceNote: '距离为直线距离；步行和电动车时间按道路绕行系数估算。',
      walk: '步行', ebike: '电动车', min: '分钟', navigate: '导航', otherApps: '其他地图',
      locating: '正在定位…', loading: '正在查找最近的驿站…', noResults: '附近没有符合条件的驿站。',
      geoDenied: '无法获取位置：请允许定位，或在地图上点选、输入地点。', geoUnsupported: '此浏览器不支持定位。',
      offline: '网络不可用，显示 {t} 保存的结果。', offlineNone: '网络不可用，也没有保存的结果。',
      saved: '显示上次（{t}）的结果。', placeNone: '没有找到这个地点。', areaCentre: '区县中心（大致位置）',
      cityCentre: '城市中心（大致位置）', provinceCentre: '省中心（大致位置）', station: '驿站', you: '你的位置',
      chips: { open_24h: '24小时', open_now: '营业中', toilet: '厕所', microwave: '微波炉', drinking_water: '饮水',
        phone_charging: '手机充电', ebike_charging: '电动车充电', air_conditioning: '空调', heating: '取暖' },
      error: '查询失败：', filters: '筛选'
    },
    en: {
      title: 'Rest stations near you', heading: 'Rest stations near you', switch: '中文', whereHeading: 'Location',
      locate: 'Use my location', placeLabel: 'Type a place', placeHolder: 'A place or station name, e.g. 昌黎县',
      placeGo: 'Find', tapHint: 'Or tap the map to choose a point', resultsHeading: 'Nearest stations',
      fullMap: 'Map of all stations', apiDocs: 'API docs',
      distanceNote: 'Distances are straight-line; walking and e-bike times allow for detours.',
      walk: 'Walk', ebike: 'E-bike', min: 'min', navigate: 'Navigate', otherApps: 'Other map apps',
      locating: 'Finding your position…', loading: 'Finding the nearest stations…',
      noResults: 'No station nearby matches the filters.',
      geoDenied: 'Could not get your position: allow location, or tap the map, or type a place.',
      geoUnsupported: 'This browser cannot share its location.',
      offline: 'No network: showing results saved at {t}.', offlineNone: 'No network and no saved results.',
      saved: 'Showing the last results (saved at {t}).', placeNone: 'Place not found.',
      areaCentre: 'County centre (approximate)', cityCentre: 'City centre (approximate)',
      provinceCentre: 'Province centre (approximate)', station: 'Station', you: 'Your position',
      chips: { open_24h: '24 h', open_now: 'Open now', toilet: 'Toilet', microwave: 'Microwave',
        drinking_water: 'Water', phone_charging: 'Phone charging', ebike_charging: 'E-bike charging',
        air_conditioning: 'Air con', heating: 'Heating' },
      error: 'Request failed: ', filters: 'Filters'
    }
  };

  var params = new URLSearchParams(location.search);
  var state = {
    lang: params.get('lang') || localStorage.getItem(LANG_KEY) || cfg.lang || 'zh',
    point: null, chips: (cfg.embed && cfg.embed.chips) || {}, body: null, savedAt: null, fromCache: false
  };
  var embed = cfg.embed || null;
  if (!I18N[state.lang]) state.lang = 'zh';
  var mapCrs = cfg.tiles.crs;
  var el = function (id) { return document.getElementById(id); };

  /* ---- the map ----------------------------------------------------------------------------- */

  C.statusStyles(cfg.statuses);
  var map = L.map('map', { zoomControl: true }).setView([35, 104], 4);
  var renderer = L.canvas({ padding: 0.3 });
  if (cfg.tiles.url) {
    L.tileLayer(cfg.tiles.url, { attribution: cfg.tiles.attribution, subdomains: cfg.tiles.subdomains,
      maxZoom: cfg.tiles.maxZoom }).addTo(map);
  }
  map.setMaxZoom(cfg.tiles.maxZoom || 18);
  C.loadOutlines(map, L.layerGroup().addTo(map), cfg.api, mapCrs, renderer,
    { color: '#5d6d7e', weight: 1.2, opacity: 0.8 }, { color: '#95a5a6', weight: 0.7, opacity: 0.9 });
  var resultLayer = L.layerGroup().addTo(map);
  var meMarker = null;
  map.on('click', function (e) {
    setPoint({ lat: e.latlng.lat, lon: e.latlng.lng, crs: mapCrs, source: 'tap' });
  });

  /* ---- text -------------------------------------------------------------------------------- */

  function t(key) { return I18N[state.lang][key]; }

  function applyLanguage() {
    document.documentElement.lang = state.lang === 'zh' ? 'zh-CN' : 'en';
    document.querySelectorAll('[data-i18n]').forEach(function (node) {
      node.textContent = t(node.getAttribute('data-i18n'));
    });
    document.querySelectorAll('[data-i18n-placeholder]').forEach(function (node) {
      node.placeholder = t(node.getAttribute('data-i18n-placeholder'));
    });
    el('lang-switch').setAttribute('lang', state.lang === 'zh' ? 'en' : 'zh-CN');
    el('chips').setAttribute('aria-label', t('filters'));
    buildChips();
  }

  function notice(text, isError) {
    var n = el('notice');
    n.textContent = text || '';
    n.hidden = !text;
    n.classList.toggle('error', !!isError);
  }

  function clock(ms) {
    var d = new Date(ms);
    return d.toLocaleString(state.lang === 'zh' ? 'zh-CN' : 'en', { month: 'numeric', day: 'numeric',
      hour: '2-digit', minute: '2-digit' });
  }

  /* ---- filter chips ------------------------------------------------------------------------ */

  function buildChips() {
    var box = el('chips');
    box.textContent = '';
    cfg.chips.forEach(function (chip) {
      var key = chip[0];
      var b = document.createElement('button');
      b.type = 'button';
      b.className = 'chip';
      b.setAttribute('data-chip', key);
      b.setAttribute('aria-pressed', state.chips[key] ? 'true' : 'false');
      b.innerHTML = C.icon(chip[3]);
      var span = document.createElement('span');
      span.textContent = t('chips')[key];
      b.appendChild(span);
      b.addEventListener('click', function () {
        state.chips[key] = !state.chips[key];
        b.setAttribute('aria-pressed', state.chips[key] ? 'true' : 'false');
        if (state.point) fetchNearest();
      });
      box.appendChild(b);
    });
  }

  function filterQuery() {
    var amen = [], q = '';
    cfg.chips.forEach(function (chip) {
      if (!state.chips[chip[0]]) return;
      if (chip[1] === 'amenities') amen.push(chip[2]);
      else q += '&' + chip[1] + '=' + chip[2];
    });
    if (amen.length) q += '&amenities=' + amen.join(',');
    return q;
  }

  /* ---- where the user is ------------------------------------------------------------------- */

  function setPoint(p) {
    el('place-results').hidden = true;
    if (p.crs === mapCrs) { state.point = p; fetchNearest(); return; }
    // A GPS fix (WGS-84) on GCJ-02 tiles: ask the server for the point in the tiles' system.
    fetch(cfg.api + '/transform?lat=' + p.lat + '&lon=' + p.lon + '&from=' + p.crs + '&to=' + mapCrs)
      .then(function (r) { if (!r.ok) throw new Error('HTTP ' + r.status); return r.json(); })
      .then(function (b) { state.point = { lat: b.lat, lon: b.lon, crs: mapCrs, source: p.source }; fetchNearest(); })
      .catch(function () { state.point = p; fetchNearest(); });
  }

  el('locate').addEventListener('click', function () {
    if (!navigator.geolocation) { notice(t('geoUnsupported'), true); return; }
    notice(t('locating'));
    navigator.geolocation.getCurrentPosition(function (pos) {
      notice('');
      setPoint({ lat: pos.coords.latitude, lon: pos.coords.longitude, crs: 'wgs84', source: 'gps' });
    }, function () { notice(t('geoDenied'), true); }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
  });

  el('place-form').addEventListener('submit', function (e) {
    e.preventDefault();
    var q = el('place').value.trim();
    if (!q) return;
    fetch(cfg.api + '/places?q=' + encodeURIComponent(q) + '&crs=' + mapCrs)
      .then(function (r) { if (!r.ok) throw new Error('HTTP ' + r.status); return r.json(); })
      .then(showPlaces)
      .catch(function (err) { notice(t('error') + err.message, true); });
  });

  function showPlaces(body) {
    var list = el('place-results');
    list.textContent = '';
    var items = [];
    body.areas.forEach(function (a) {
      var note = a.precision === 'county' ? t('areaCentre') : a.precision === 'city' ? t('cityCentre') : t('provinceCentre');
      items.push({ label: a.name, note: note, lat: a.lat, lon: a.lon });
    });
    body.stations.forEach(function (s) {
      items.push({ label: s.name, note: t('station') + (s.address ? ' · ' + s.address : ''), lat: s.lat, lon: s.lon });
    });
    if (!items.length) { notice(t('placeNone'), true); list.hidden = true; return; }
    notice('');
    items.forEach(function (it) {
      var li = document.createElement('li');
      var b = document.createElement('button');
      b.type = 'button';
      b.textContent = it.label;
      var small = document.createElement('small');
      small.textContent = it.note;
      b.appendChild(small);
      b.addEventListener('click', function () { setPoint({ lat: it.lat, lon: it.lon, crs: mapCrs, source: 'place' }); });
      li.appendChild(b);
      list.appendChild(li);
    });
    list.hidden = false;
  }

  /* ---- nearest stations -------------------------------------------------------------------- */

  function fetchNearest() {
    var p = state.point;
    notice(t('loading'));
    var url = cfg.api + '/nearest?lat=' + p.lat.toFixed(7) + '&lon=' + p.lon.toFixed(7) + '&crs=' + p.crs +
      '&k=' + cfg.k + '&lang=' + state.lang + '&mode=walk' + filterQuery();
    fetch(url).then(function (r) {
      return r.json().then(function (b) { if (!r.ok) throw { problem: b }; return b; });
    }).then(function (body) {
      state.body = body;
      state.savedAt = Date.now();
      state.fromCache = false;
      try {
        localStorage.setItem(STORE_KEY, JSON.stringify({ savedAt: state.savedAt, point: p, lang: state.lang,
          chips: state.chips, body: body }));
      } catch (e) { /* storage full or disabled: the page still works */ }
      notice('');
      render();
      if (embed && window.parent !== window) {
        window.parent.postMessage({ type: 'stations-embed', event: 'results', count: body.results.length }, '*');
      }
    }).catch(function (err) {
      if (err && err.problem) { notice(t('error') + (err.problem.detail || err.problem.title || ''), true); return; }
      showSaved(true);
    });
  }

  function showSaved(offline) {
    var saved = null;
    try { saved = JSON.parse(localStorage.getItem(STORE_KEY) || 'null'); } catch (e) { saved = null; }
    if (!saved || !saved.body) { if (offline) notice(t('offlineNone'), true); return false; }
    state.body = saved.body;
    state.savedAt = saved.savedAt;
    state.fromCache = true;
    if (!state.point) state.point = saved.point;
    notice((offline ? t('offline') : t('saved')).replace('{t}', clock(saved.savedAt)), offline);
    render();
    return true;
  }

  function minutes(x) { return Math.max(1, Math.round(x)); }

  function render() {
    var list = el('results'), body = state.body;
    list.textContent = '';
    resultLayer.clearLayers();
    var p = state.point;
    if (p && p.crs === mapCrs) {
      if (meMarker) map.removeLayer(meMarker);
      meMarker = L.marker([p.lat, p.lon], { icon: L.divIcon({ className: '', html: '<div class="me-marker"></div>',
        iconSize: [24, 24], iconAnchor: [12, 12] }), title: t('you'), zIndexOffset: 1000 }).addTo(map);
    }
    if (!body) return;
    if (!body.results.length) {
      var li = document.createElement('li');
      li.className = 'empty';
      li.textContent = t('noResults');
      list.appendChild(li);
    }
    var bounds = p && p.crs === mapCrs ? [[p.lat, p.lon]] : [];
    body.results.forEach(function (r, i) {
      var card = renderCard(r, i);
      list.appendChild(card);
      if (r.position && r.position.crs === mapCrs) {
        var meta = statusOf(r);
        var mk = L.marker([r.position.lat, r.position.lon], {
          icon: L.divIcon({ className: 'st-mk' + (meta ? ' st-s-' + meta.code : ''),
            html: '<b>' + (i + 1) + '</b>', iconSize: [26, 26], iconAnchor: [13, 13] }), title: r.name, alt: r.name
        }).addTo(resultLayer);
        mk.on('click', function () {
          document.querySelectorAll('.card.active').forEach(function (c) { c.classList.remove('active'); });
          card.classList.add('active');
          card.scrollIntoView({ behavior: 'smooth', block: 'nearest' });
        });
        if (i < 3) bounds.push([r.position.lat, r.position.lon]);
      }
    });
    // Check dates, unconfirmed reports (from the answer) and the report button (station-reports.js).
    if (window.StationReports && !state.fromCache) {
      window.StationReports.annotate(list, cfg.api, state.lang, body.results);
    }
    if (embed && embed.zoom) {  // the embedding page chose the view
      if (p && p.crs === mapCrs) map.setView([p.lat, p.lon], embed.zoom);
      return;
    }
    if (bounds.length > 1) map.fitBounds(bounds, { padding: [30, 30], maxZoom: 16 });
    else if (bounds.length === 1) map.setView(bounds[0], 14);
  }

  /* The legend entry of a result's map status, as the server says it (null if it does not). */
  function statusOf(r) {
    return C.statusMeta(cfg.statuses, (r.station || {}).map_status);
  }

  function renderCard(r, i) {
    var st = r.station || {}, meta = statusOf(r);
    var li = document.createElement('li');
    li.className = 'card' + (meta ? ' st-s-' + meta.code : '');
    li.setAttribute('data-station-id', r.station_id);
    var top = document.createElement('div');
    top.className = 'card-top';
    var rank = document.createElement('span');
    rank.className = 'rank';
    rank.textContent = String(i + 1);
    var h = document.createElement('h3');
    h.textContent = r.name;
    top.appendChild(rank);
    top.appendChild(h);
    li.appendChild(top);
    var open = document.createElement('p');
    open.className = 'open';
    if (meta) open.innerHTML = C.icon(meta.icon) + ' ';
    // The server's words for the open status; a temporarily closed station says so instead.
    var label = (st.open_status || {}).label;
    if (meta && (meta.code === 'temporarily_closed' || !label)) label = meta[state.lang];
    open.appendChild(document.createTextNode(label || ''));
    li.appendChild(open);
    var dist = document.createElement('p');
    dist.className = 'dist';
    dist.innerHTML = '<span class="d"></span><span class="w">' + C.icon('person-walking') + '<i></i></span>' +
      '<span class="e">' + C.icon('motorcycle') + '<i></i></span>';
    dist.querySelector('.d').textContent = C.fmtDistance(r.distance_m, state.lang);
    dist.querySelector('.w i').textContent = t('walk') + ' ' + minutes(r.minutes.walk) + ' ' + t('min');
    dist.querySelector('.e i').textContent = t('ebike') + ' ' + minutes(r.minutes.ebike) + ' ' + t('min');
    li.appendChild(dist);
    if (st.address) {
      var addr = document.createElement('p');
      addr.className = 'addr';
      addr.textContent = st.address;
      li.appendChild(addr);
    }
    var amen = document.createElement('ul');
    amen.className = 'amen';
    cfg.amenities.forEach(function (a) {
      if ((st.amenities || {})[a.code] !== 'yes') return;
      var item = document.createElement('li');
      item.setAttribute('data-amenity', a.code);
      item.innerHTML = C.icon(a.icon);
      item.appendChild(document.createTextNode(state.lang === 'zh' ? a.zh : a.en));
      item.title = a.zh + ' / ' + a.en;
      amen.appendChild(item);
    });
    if (amen.children.length) li.appendChild(amen);
    var nav = r.navigation || {};
    var actions = document.createElement('div');
    actions.className = 'actions';
    var main = C.safeUrl(nav.amap) ? 'amap' : C.NAV_ORDER.filter(function (k) { return C.safeUrl(nav[k]); })[0];
    if (main) {
      var a = document.createElement('a');
      a.className = 'nav-btn';
      a.href = C.safeUrl(nav[main]);
      a.target = '_blank';
      a.rel = 'noopener';
      a.setAttribute('data-vendor', main);
      a.innerHTML = C.icon('diamond-turn-right');
      a.appendChild(document.createTextNode(t('navigate') + ' · ' + C.NAV_LABELS[main][state.lang === 'zh' ? 0 : 1]));
      actions.appendChild(a);
      var more = document.createElement('details');
      more.className = 'more-nav';
      var sum = document.createElement('summary');
      sum.textContent = t('otherApps');
      more.appendChild(sum);
      C.NAV_ORDER.forEach(function (k) {
        if (k === main || !C.safeUrl(nav[k])) return;
        var link = document.createElement('a');
        link.href = C.safeUrl(nav[k]);
        link.target = '_blank';
        link.rel = 'noopener';
        link.setAttribute('data-vendor', k);
        link.textContent = C.NAV_LABELS[k][state.lang === 'zh' ? 0 : 1];
        more.appendChild(link);
      });
      actions.appendChild(more);
    }
    li.appendChild(actions);
    return li;
  }

  /* ---- language, network, start -------------------------------------------------------------- */

  el('lang-switch').addEventListener('click', function () {
    state.lang = state.lang === 'zh' ? 'en' : 'zh';
    try { localStorage.setItem(LANG_KEY, state.lang); } catch (e) { /* ignore */ }
    applyLanguage();
    if (state.point && !state.fromCache && navigator.onLine !== false) fetchNearest(); else render();
  });
  window.addEventListener('offline', function () {
    if (state.savedAt) notice(t('offline').replace('{t}', clock(state.savedAt)), true);
  });
  window.addEventListener('online', function () { if (state.point) fetchNearest(); });

  applyLanguage();
  if (embed && embed.centre) {
    setPoint({ lat: embed.centre.lat, lon: embed.centre.lon, crs: embed.centre.crs, source: 'embed' });
  } else {
    if (embed && embed.zoom) map.setZoom(embed.zoom);
    showSaved(false);
  }
  if (!embed && 'serviceWorker' in navigator && location.protocol !== 'file:') {
    navigator.serviceWorker.register('/sw.js').catch(function () { /* offline reloads then need the network */ });
  }
  window.stationsLocator = { state: state, map: map, setPoint: setPoint, fetchNearest: fetchNearest };
})();
