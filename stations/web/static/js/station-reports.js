/* Workers' reports and check dates on the locator's cards.
 *
 * StationReports.annotate(list, api, lang, results) adds to each card what the /nearest answer
 * says of its station (its results' "checked" and "reports", in the page's language: no second
 * request): "checked 3 weeks ago" (and a warning for the parts not checked within the setting
 * check_stale_days), the unconfirmed reports ("2 reports: closed (today), unconfirmed"), and a
 * "report a problem" form that POSTs to /api/v1/stations/{id}/reports. Text from the server is
 * set with textContent only.
 */
(function () {
  'use strict';
  var KINDS = ['still_correct', 'closed', 'hours_wrong', 'amenity_missing', 'moved', 'other'];
  var T = {
    zh: { report: '报告问题', kind: '情况', text: '补充说明（可选，最多200字）', send: '提交',
      thanks: '谢谢！工作人员核实后才会修改站点信息。', tooMany: '提交太频繁，请稍后再试。', failed: '提交失败：',
      kinds: { still_correct: '信息无误', closed: '关闭或锁门', hours_wrong: '开放时间不对',
        amenity_missing: '设施缺失或损坏', moved: '不在这里', other: '其他' } },
    en: { report: 'Report a problem', kind: 'What is wrong', text: 'Details (optional, up to 200 characters)',
      send: 'Send', thanks: 'Thank you! Staff will check before the station is changed.',
      tooMany: 'Too many reports from here; try again later.', failed: 'Could not send: ',
      kinds: { still_correct: 'Still correct', closed: 'Closed or locked', hours_wrong: 'Hours wrong',
        amenity_missing: 'Amenity missing or broken', moved: 'Not here', other: 'Other' } }
  };

  function node(tag, cls, text) {
    var n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text != null) n.textContent = text;
    return n;
  }

  function reportForm(api, id, lang) {
    var t = T[lang] || T.zh;
    var box = node('details', 'report');
    box.appendChild(node('summary', null, t.report));
    var form = node('form', 'report-form');
    var sel = node('select');
    sel.name = 'kind';
    sel.setAttribute('aria-label', t.kind);
    KINDS.forEach(function (k) { var o = node('option', null, t.kinds[k]); o.value = k; sel.appendChild(o); });
    var text = node('input');
    text.name = 'text';
    text.maxLength = 200;
    text.placeholder = t.text;
    var trap = node('input', 'sr-only');  // the honeypot: people never see or fill it
    trap.name = 'website';
    trap.tabIndex = -1;
    trap.autocomplete = 'off';
    trap.setAttribute('aria-hidden', 'true');
    var send = node('button', null, t.send);
    send.type = 'submit';
    var out = node('p', 'report-result');
    out.setAttribute('role', 'status');
    [sel, text, trap, send, out].forEach(function (n) { form.appendChild(n); });
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      send.disabled = true;
      var body = { kind: sel.value, text: text.value || null };
      if (trap.value) body.website = trap.value;
      fetch(api + '/stations/' + encodeURIComponent(id) + '/reports', {
        method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body)
      }).then(function (r) {
        if (r.status === 201) { out.textContent = t.thanks; form.reset(); return; }
        if (r.status === 429) { out.textContent = t.tooMany; return; }
        return r.json().then(function (p) { out.textContent = t.failed + (p.detail || r.status); });
      }).catch(function (err) { out.textContent = t.failed + err.message; })
        .then(function () { send.disabled = false; });
    });
    box.appendChild(form);
    return box;
  }

  function annotate(list, api, lang, results) {
    var cards = Array.prototype.slice.call(list.querySelectorAll('[data-station-id]'));
    if (!cards.length) return;
    var byId = {};
    (results || []).forEach(function (r) { byId[r.station_id] = r; });
    cards.forEach(function (c) {
      var id = c.getAttribute('data-station-id');
      var form = reportForm(api, id, lang);
      c.appendChild(form);
      var r = byId[id];
      if (!r || !r.checked) return;  // an answer without them (an old cached one): the form alone
      c.insertBefore(node('p', 'checked', r.checked.label), form);
      if (r.checked.warning) c.insertBefore(node('p', 'checked stale', r.checked.warning), form);
      if (r.reports) c.insertBefore(node('p', 'reports-unconfirmed', r.reports.label), form);
    });
  }

  window.StationReports = { annotate: annotate, reportForm: reportForm, KINDS: KINDS };
})();
