/* Caregiver phone pages: before a form marked data-geolocate is sent, ask the browser where the
   phone is and fill its hidden latitude/longitude. Without permission (or a position within
   15 seconds) the form is sent without them and the server flags the visit "no location". */
(function () {
  "use strict";

  function send(form, coords) {
    form.elements.latitude.value = coords ? coords.latitude.toFixed(6) : "";
    form.elements.longitude.value = coords ? coords.longitude.toFixed(6) : "";
    form.dataset.located = "1";
    form.submit();  // submit() fires no submit event: this handler does not run again
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches("form[data-geolocate]") || form.dataset.located === "1") {
      return;
    }
    event.preventDefault();
    form.querySelectorAll("button[type=submit]").forEach(function (button) { button.disabled = true; });
    var status = form.querySelector("[data-geo-status]");
    var holder = form.closest("[data-locating]");
    if (status && holder) {
      status.textContent = holder.dataset.locating;
    }
    if (!("geolocation" in navigator)) {
      send(form, null);
      return;
    }
    navigator.geolocation.getCurrentPosition(
      function (position) { send(form, position.coords); },
      function () { send(form, null); },
      {enableHighAccuracy: true, timeout: 15000, maximumAge: 60000}
    );
  });
})();
