/* Shared by the map (/map and `stations map` files) and the locator (/).
 *
 * Every piece of station text reaches the page through esc() or textContent, never as raw
 * HTML: a station named <img src=x onerror=alert(1)> shows as that text. Links are kept only
 * when they are http(s) or geo: URLs.
 */
(function (global) {
  'use strict';

  var WORDS = {
    zh: {
      address: '地址', hours: '开放时间', access: '服务对象', entry: '进入方式', contact: '电话',
      verified: '核实日期', amenities: '设施', unknownAmenities: '未核实', navigate: '导航',
      approx: '位置仅精确到区县（区县中心点），不是驿站的实际位置',
      reason: '原因', loading: '加载中…', failed: '无法加载驿站详情', id: '编号'
    },
    en: {
      address: 'Address', hours: 'Hours', access: 'Who may use it', entry: 'How to get in', contact: 'Phone',
      verified: 'Last verified', amenities: 'Amenities', unknownAmenities: 'Not verified', navigate: 'Navigate',
      approx: 'Position known only to the county (its centre point), not the station\'s real position',
      reason: 'Reason', loading: 'Loading…', failed: 'Could not load the station', id: 'ID'
    }
  };
  var NAV_LABELS = {
    amap: ['高德地图', 'Amap'], baidu: ['百度地图', 'Baidu'], tencent: ['腾讯地图', 'Tencent'],
    apple: ['Apple 地图', 'Apple Maps'], osm: ['OpenStreetMap', 'OpenStreetMap'], geo: ['其他地图应用', 'Other map app']
  };
  var NAV_ORDER = ['amap', 'baidu', 'tencent', 'apple', 'osm', 'geo'];

  function esc(value) {
    return String(value == null ? '' : value).replace(/[&<>"']/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
    });
  }

  function safeUrl(url) {
    url = String(url || '');
    return /^(https?:\/\/|geo:)/i.test(url) ? url : '';
  }

  function icon(name, cls) {
    return '<svg class="st-i ' + (cls || '') + '" aria-hidden="true" focusable="false"><use href="#i-' +
      esc(name) + '"></use></svg>';
  }

  /* The legend entry ({code, zh, en, color, icon}) of a map status code, or null. The code
   * itself always comes from the server (stations.mapping.status): the pages never work out
   * whether a station is open. */
  function statusMeta(statuses, code) {
    return statuses.filter(function (s) { return s.code === code; })[0] || null;
  }

  function fmtDistance(m, lang) {
    if (m == null || isNaN(m)) return '';
    if (m < 1000) return Math.round(m) + (lang === 'zh' ? ' 米' : ' m');
    return (m / 1000).toFixed(m < 10000 ? 1 : 0) + (lang === 'zh' ? ' 公里' : ' km');
  }

  /* Google encoded polyline -> [[lat, lon], ...] */
  function decodePolyline(str, precision) {
    var index = 0, lat = 0, lon = 0, out = [], factor = Math.pow(10, precision || 3);
    while (index < str.length) {
      for (var k = 0; k < 2; k++) {
        var shift = 0, result = 0, b;
        do {
          b = str.charCodeAt(index++) - 63;
          result |= (b & 0x1f) << shift;
          shift += 5;
        } while (b >= 0x20);
        var d = (result & 1) ? ~(result >> 1) : (result >> 1);
        if (k === 0) lat += d; else lon += d;
      }
      out.push([lat / factor, lon / factor]);
    }
    return out;
  }

  /* Outline areas ({precision, areas: [{lines: [...]}, ...]}) as thin polylines on a canvas. */
  function outlineLayer(data, style, renderer) {
    var group = L.layerGroup();
    (data.areas || []).forEach(function (area) {
      var lines = area.lines.map(function (s) { return decodePolyline(s, data.precision); });
      if (lines.length) {
        group.addLayer(L.polyline(lines, L.extend({ interactive: false, renderer: renderer }, style)));
      }
    });
    return group;
  }

  /* Province outlines at once; from zoom 8, county outlines of the grid cells in view (from the API). */
  function loadOutlines(map, group, api, crs, renderer, provStyle, countyStyle) {
    var loaded = {}, countyGroup = L.layerGroup().addTo(group), cellDeg = 2;
    function json(url) { return fetch(url).then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); }); }
    function counties() {
      if (map.getZoom() < 8) return;
      var b = map.getBounds();
      var x0 = Math.floor(b.getWest() / cellDeg), x1 = Math.floor(b.getEast() / cellDeg);
      var y0 = Math.floor(b.getSouth() / cellDeg), y1 = Math.floor(b.getNorth() / cellDeg);
      for (var x = x0; x <= x1; x++) {
        for (var y = y0; y <= y1; y++) {
          (function (key, x, y) {
            if (loaded[key]) return;
            loaded[key] = true;
            json(api + '/outlines/county?x=' + x + '&y=' + y + '&crs=' + crs).then(function (data) {
              cellDeg = data.cell_deg || cellDeg;
              countyGroup.addLayer(outlineLayer(data, countyStyle, renderer));
            }).catch(function () { loaded[key] = false; });
          })(x + '/' + y, x, y);
        }
      }
    }
    json(api + '/outlines/province?crs=' + crs).then(function (data) {
      group.addLayer(outlineLayer(data, provStyle, renderer));
    }).catch(function () {});
    map.on('moveend', counties);
    counties();
  }

  /* Popup content for one station: p its API properties, code its map status as the server
   * gave it (a cluster answer's or an embedded map's station row), ctx = {lang, statuses:
   * [{code, zh, en, color, icon}], amenities: [...]}. */
  function popupHtml(p, code, ctx) {
    var lang = ctx.lang, w = WORDS[lang], i = lang === 'zh' ? 0 : 1;
    var meta = statusMeta(ctx.statuses, code) || statusMeta(ctx.statuses, 'hours_unknown');
    code = meta.code;
    var os = p.open_status || {};
    var labels = p.labels || {};
    var h = '<div class="st-popup" lang="' + (lang === 'zh' ? 'zh-CN' : 'en') + '">';
    h += '<h3 class="st-name">' + esc(p.name) + '</h3>';
    if (p.name_en) h += '<div class="st-name-en">' + esc(p.name_en) + '</div>';
    h += '<p class="st-status st-s-' + esc(code) + '">' + icon(meta.icon) + ' <span>' +
      esc(code === 'temporarily_closed' ? meta[lang] : (os.label || meta[lang])) + '</span></p>';
    if (code === 'temporarily_closed' && p.status_reason) {
      h += '<p class="st-reason">' + esc(w.reason) + ': ' + esc(p.status_reason) + '</p>';
    }
    // When it was last checked (a warning when stale) and workers' reports not yet confirmed by
    // staff (the API's words; present in popups fetched from /api/v1/stations/<id>).
    var ck = p.checked, rp = p.reports;
    if (ck && (ck.label_zh || ck.label_en)) {
      h += '<p class="st-checked' + (ck.stale ? ' st-stale' : '') + '">' +
        (ck.stale ? icon('triangle-exclamation') + ' ' : '') + esc(lang === 'zh' ? ck.label_zh : ck.label_en) + '</p>';
      var warning = lang === 'zh' ? ck.warning_zh : ck.warning_en;
      if (warning) h += '<p class="st-checked-warning">' + esc(warning) + '</p>';
    }
    if (rp && (rp.label_zh || rp.label_en)) {
      h += '<p class="st-reports" data-unconfirmed="true">' + esc(lang === 'zh' ? rp.label_zh : rp.label_en) + '</p>';
    }
    if (['county', 'city', 'province'].indexOf(p.geocode_precision) >= 0 || !p.geocode_precision) {
      h += '<p class="st-warn">' + icon('triangle-exclamation') + ' ' + esc(w.approx) + '</p>';
    }
    h += '<dl class="st-facts">';
    var addr = p.address || [p.province, p.city, p.county].filter(Boolean).join(' ');
    if (addr) h += '<dt>' + esc(w.address) + '</dt><dd class="st-address">' + esc(addr) + '</dd>';
    var hours = p.opening_hours_raw || p.opening_hours;
    if (hours) h += '<dt>' + esc(w.hours) + '</dt><dd class="st-hours">' + esc(hours) + '</dd>';
    if (labels.access) h += '<dt>' + esc(w.access) + '</dt><dd class="st-access">' + esc(labels.access) + '</dd>';
    if (labels.entry && p.entry !== 'unknown') h += '<dt>' + esc(w.entry) + '</dt><dd>' + esc(labels.entry) + '</dd>';
    if (p.contact) h += '<dt>' + esc(w.contact) + '</dt><dd>' + esc(p.contact) + '</dd>';
    h += '</dl>';
    var yes = [], unknown = [];
    ctx.amenities.forEach(function (a) {
      var v = (p.amenities || {})[a.code];
      if (v === 'yes') yes.push(a); else if (v !== 'no') unknown.push(a);
    });
    if (yes.length) {
      h += '<ul class="st-amenities" aria-label="' + esc(w.amenities) + '">';
      yes.forEach(function (a) {
        h += '<li data-amenity="' + esc(a.code) + '">' + icon(a.icon) + '<span lang="zh-CN">' + esc(a.zh) +
          '</span> <span class="st-en" lang="en">' + esc(a.en) + '</span></li>';
      });
      h += '</ul>';
    }
    if (unknown.length && unknown.length < ctx.amenities.length) {
      h += '<p class="st-unknown">' + esc(w.unknownAmenities) + ': ' +
        unknown.map(function (a) { return esc(lang === 'zh' ? a.zh : a.en); }).join(lang === 'zh' ? '、' : ', ') + '</p>';
    }
    var nav = p.navigation || {};
    var links = NAV_ORDER.filter(function (k) { return safeUrl(nav[k]); }).map(function (k) {
      return '<a class="st-nav-' + k + '" href="' + esc(safeUrl(nav[k])) + '" target="_blank" rel="noopener">' +
        esc(NAV_LABELS[k][i]) + '</a>';
    });
    if (links.length) h += '<p class="st-nav">' + icon('diamond-turn-right') + ' ' + esc(w.navigate) + ': ' +
      links.join(' · ') + '</p>';
    var metaLine = [];
    if (p.last_verified) metaLine.push(esc(w.verified) + ' ' + esc(String(p.last_verified).slice(0, 10)));
    metaLine.push(esc(w.id) + ' ' + esc(p.station_id));
    h += '<p class="st-meta">' + metaLine.join(' · ') + '</p></div>';
    return h;
  }

  /* A <style> element with one rule per status colour (the palette lives in Python). */
  function statusStyles(statuses) {
    if (document.getElementById('st-status-styles')) return;
    var css = statuses.map(function (s) {
      return '.st-s-' + s.code + '{--st-c:' + s.color + ';--st-t:' + s.text_color + '}';
    }).join('\n');
    var el = document.createElement('style');
    el.id = 'st-status-styles';
    el.textContent = css;
    document.head.appendChild(el);
  }

  global.StationsCommon = {
    WORDS: WORDS, NAV_LABELS: NAV_LABELS, NAV_ORDER: NAV_ORDER, esc: esc, safeUrl: safeUrl, icon: icon,
    statusMeta: statusMeta, fmtDistance: fmtDistance, decodePolyline: decodePolyline, outlineLayer: outlineLayer, loadOutlines: loadOutlines,
    popupHtml: popupHtml, statusStyles: statusStyles
  };
})(window);
