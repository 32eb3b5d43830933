// Renders the OpenAPI document served by this server: no external assets.
(function () {
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  fetch('/api/v1/openapi.json').then(function (r) { return r.json(); }).then(function (doc) {
    document.getElementById('version').textContent = 'v' + doc.info.version;
    var main = document.getElementById('paths');
    main.textContent = '';
    Object.keys(doc.paths).forEach(function (path) {
      var ops = doc.paths[path];
      Object.keys(ops).forEach(function (method) {
        var op = ops[method];
        var sec = el('section');
        var h = el('h2');
        h.appendChild(el('span', { 'class': 'method ' + method }, method.toUpperCase()));
        h.appendChild(el('code', {}, path));
        sec.appendChild(h);
        sec.appendChild(el('p', {}, op.summary + (op.description ? ' — ' + op.description : '')));
        if (op.parameters && op.parameters.length) {
          var t = el('table');
          var head = el('tr');
          ['parameter', 'type', 'required', 'description'].forEach(function (c) { head.appendChild(el('th', {}, c)); });
          t.appendChild(head);
          op.parameters.forEach(function (p) {
            var tr = el('tr');
            var s = p.schema || {};
            var values = s.enum || (s.items && s.items.enum);  // a list's allowed items
            var type = s.type + (values ? ' (' + values.join(', ') + ')' : '') +
              (s.minimum !== undefined ? ' ≥ ' + s.minimum : '') + (s.maximum !== undefined ? ' ≤ ' + s.maximum : '') +
              (s['default'] !== undefined ? ' = ' + s['default'] : '');
            [p.name, type, p.required ? 'yes' : '', p.description].forEach(function (c) { tr.appendChild(el('td', {}, c)); });
            t.appendChild(tr);
          });
          sec.appendChild(t);
        }
        main.appendChild(sec);
      });
    });
  });
})();
