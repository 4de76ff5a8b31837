/* The trail page: play the day's positions back on the map, and place a new safe zone by clicking it.
 *
 * Data come from two JSON blocks the server wrote: the points (time in ms, SVG x/y, a local label,
 * the UTC offset in minutes) and the projection, so a click can be turned back into a latitude and
 * longitude the same way the server turned positions into x/y (equirectangular, north up). */
(function () {
  "use strict";

  function readJson(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  var map = document.getElementById("trail-map");
  var projection = readJson("trail-projection");
  var points = readJson("trail-points") || [];
  if (!map || !projection) {
    return;
  }

  function pad(n) {
    return (n < 10 ? "0" : "") + n;
  }

  /* A moment (ms) as MM-DD HH:MM:SS in the platform's time zone (the offset of the nearby point). */
  function label(ms, offsetMinutes) {
    var d = new Date(ms + offsetMinutes * 60000);
    return pad(d.getUTCMonth() + 1) + "-" + pad(d.getUTCDate()) + " " + pad(d.getUTCHours()) + ":" +
      pad(d.getUTCMinutes()) + ":" + pad(d.getUTCSeconds());
  }

  // --- playback ---------------------------------------------------------------------------------

  var marker = document.getElementById("trail-marker");
  var slider = document.getElementById("trail-time");
  var clock = document.getElementById("trail-clock");
  var playButton = document.getElementById("trail-play");
  var speed = document.getElementById("trail-speed");

  if (marker && slider && points.length) {
    var first = points[0].t;
    var last = points[points.length - 1].t;
    var span = Math.max(last - first, 1);
    var now = first;
    var timer = null;
    var lastTick = 0;

    /* Where the elder was at moment ms: between the two points around it, in proportion to time. */
    var place = function (ms) {
      var i = 0;
      var lo = 0;
      var hi = points.length - 1;
      while (lo < hi) { // the last point at or before ms
        var mid = Math.ceil((lo + hi) / 2);
        if (points[mid].t <= ms) { lo = mid; } else { hi = mid - 1; }
      }
      i = lo;
      var a = points[i];
      var b = points[Math.min(i + 1, points.length - 1)];
      var f = b.t > a.t ? Math.min(Math.max((ms - a.t) / (b.t - a.t), 0), 1) : 0;
      return {x: a.x + (b.x - a.x) * f, y: a.y + (b.y - a.y) * f, offset: a.offset, exact: f === 0 ? a : null};
    };

    var show = function (ms) {
      now = Math.min(Math.max(ms, first), last);
      var at = place(now);
      marker.setAttribute("cx", at.x.toFixed(1));
      marker.setAttribute("cy", at.y.toFixed(1));
      clock.textContent = at.exact ? at.exact.label : label(now, at.offset);
      slider.value = String(Math.round(((now - first) / span) * 1000));
    };

    var stop = function () {
      if (timer !== null) {
        window.cancelAnimationFrame(timer);
        timer = null;
      }
      playButton.textContent = playButton.dataset.play;
      playButton.setAttribute("aria-pressed", "false");
    };

    var tick = function (stamp) {
      if (lastTick) {
        show(now + (stamp - lastTick) * Number(speed.value));
      }
      lastTick = stamp;
      if (now >= last) {
        stop();
        return;
      }
      timer = window.requestAnimationFrame(tick);
    };

    playButton.addEventListener("click", function () {
      if (timer !== null) {
        stop();
        return;
      }
      if (now >= last) {
        show(first);
      }
      lastTick = 0;
      playButton.textContent = playButton.dataset.pause;
      playButton.setAttribute("aria-pressed", "true");
      timer = window.requestAnimationFrame(tick);
    });
    slider.addEventListener("input", function () {
      show(first + (Number(slider.value) / 1000) * span);
    });
    show(first);
  }

  // --- drawing a zone ---------------------------------------------------------------------------

  var form = document.getElementById("zone-form");
  var preview = document.getElementById("zone-preview");
  if (!form || !preview) {
    return;
  }
  var latInput = document.getElementById("id_latitude");
  var lonInput = document.getElementById("id_longitude");
  var radiusInput = document.getElementById("id_radius_m");
  var radiusSlider = document.getElementById("zone-radius-slider");

  function toSvg(latitude, longitude) {
    return {
      x: projection.shift_x + (longitude - projection.min_lon) * projection.cos_lat * projection.scale,
      y: projection.shift_y + (projection.max_lat - latitude) * projection.scale,
    };
  }

  function toPosition(x, y) {
    return {
      latitude: projection.max_lat - (y - projection.shift_y) / projection.scale,
      longitude: projection.min_lon + (x - projection.shift_x) / (projection.cos_lat * projection.scale),
    };
  }

  function drawPreview() {
    var latitude = parseFloat(latInput.value);
    var longitude = parseFloat(lonInput.value);
    var radius = parseFloat(radiusInput.value);
    if (!isFinite(latitude) || !isFinite(longitude) || !isFinite(radius) || radius <= 0) {
      preview.setAttribute("visibility", "hidden");
      return;
    }
    var centre = toSvg(latitude, longitude);
    preview.setAttribute("cx", centre.x.toFixed(1));
    preview.setAttribute("cy", centre.y.toFixed(1));
    preview.setAttribute("r", (radius / projection.metres_per_degree * projection.scale).toFixed(1));
    preview.setAttribute("visibility", "visible");
  }

  map.addEventListener("click", function (event) {
    var matrix = map.getScreenCTM();
    if (!matrix) {
      return;
    }
    var point = map.createSVGPoint();
    point.x = event.clientX;
    point.y = event.clientY;
    var inside = point.matrixTransform(matrix.inverse());
    var position = toPosition(inside.x, inside.y);
    latInput.value = position.latitude.toFixed(6);
    lonInput.value = position.longitude.toFixed(6);
    drawPreview();
  });
  [latInput, lonInput, radiusInput].forEach(function (input) {
    input.addEventListener("input", function () {
      if (input === radiusInput && radiusSlider) {
        radiusSlider.value = radiusInput.value;
      }
      drawPreview();
    });
  });
  if (radiusSlider) {
    radiusSlider.addEventListener("input", function () {
      radiusInput.value = radiusSlider.value;
      drawPreview();
    });
  }
  drawPreview();
})();
