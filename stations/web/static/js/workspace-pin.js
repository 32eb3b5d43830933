/* The station page's map in the staff workspace: drag the pin to move the station.
 *
 * The pin is drawn in the tiles' coordinate system (data-pin.crs: wgs84, or gcj02 for Amap and
 * Tencent tiles); a drag writes the new position into the edit form's lat/lon fields and sets
 * its coordinate system to the same, so the server converts it to WGS-84 when the form is saved.
 * Without tiles the map shows the local county outlines, as the other pages do.
 */
(function () {
  'use strict';
  var box = document.getElementById('pin-map');
  if (!box || !window.L) return;
  var pin = JSON.parse(box.getAttribute('data-pin'));
  var form = document.getElementById('edit-form');
  var map = L.map(box, { maxZoom: pin.tiles.maxZoom || 18 }).setView([pin.lat, pin.lon], 16);
  if (pin.tiles.url) {
    L.tileLayer(pin.tiles.url, { attribution: pin.tiles.attribution, subdomains: pin.tiles.subdomains,
      maxZoom: pin.tiles.maxZoom }).addTo(map);
  } else {
    fetch(pin.api + '/outlines/province?crs=' + pin.crs).then(function (r) { return r.ok ? r.json() : null; })
      .then(function (g) { if (g) L.geoJSON(g, { style: { color: '#90a4ae', weight: 1, fill: false } }).addTo(map); })
      .catch(function () { /* no outline: the pin still works */ });
  }
  var marker = L.marker([pin.lat, pin.lon], { draggable: true, autoPan: true }).addTo(map);
  marker.on('dragend', function () {
    var p = marker.getLatLng();
    form.querySelector('input[name=lat]').value = p.lat.toFixed(7);
    form.querySelector('input[name=lon]').value = p.lng.toFixed(7);
    form.querySelector('select[name=crs]').value = pin.crs;
    box.setAttribute('data-moved', 'true');
  });
  window.stationsPin = { map: map, marker: marker };
})();
