// The packing station, enhanced (it works without this): the camera reads codes like the scanner's
// (js/scan/camera.js) into the field last used, and seal numbers, scanned or typed, gather in one field.
// A box, carton or packet code read by the camera is sent at once, as a wedge scanner's Enter would;
// a seal read is added to the seal numbers, and the person confirms with "Seal the box".
import { cameraControls } from "./scan/camera.js";

const $ = (id) => document.getElementById(id);
const FIELDS = ["carton", "box", "packet", "seals"];
const CAMERA_ON = "jejak-packing-camera"; // the camera stays on from one packet to the next page
let target = FIELDS.map($).find((input) => input && input === document.activeElement) || $("packet") || $("box");

function addSeal(seal) {
  const seals = $("seals");
  const have = seals.value.split(/[\s,;]+/).filter(Boolean);
  if (!have.includes(seal)) seals.value = [...have, seal].join(", ");
}

function onCode(text) {
  if (target && target.id === "seals") {
    addSeal(text.trim());
    return;
  }
  if (!target) return;
  target.value = text;
  target.form.requestSubmit();
}

for (const input of FIELDS.map($).filter(Boolean)) {
  input.addEventListener("focus", () => {
    target = input;
  });
}
// A wedge scanner ends each seal with Enter: the next seal follows in the same field; the person
// confirms with the button (Enter on an empty end does nothing).
if ($("seals")) {
  $("seals").addEventListener("keydown", (event) => {
    if (event.key !== "Enter") return;
    event.preventDefault();
    const value = $("seals").value.trimEnd();
    if (value && !/[,;]$/.test(value)) $("seals").value = `${value}, `;
  });
}
if (navigator.mediaDevices && $("camera-start")) {
  $("camera-start").hidden = false;
  const camera = cameraControls({
    video: $("video"),
    wasmUrl: $("video").dataset.wasm,
    startButton: $("camera-start"),
    stopButton: $("camera-stop"),
    onCode,
    onStart: () => {
      sessionStorage.setItem(CAMERA_ON, "1");
      $("camera-error").hidden = true;
    },
    onStop: () => sessionStorage.removeItem(CAMERA_ON),
    onError: () => {
      sessionStorage.removeItem(CAMERA_ON);
      $("camera-error").hidden = false;
    },
  });
  if (sessionStorage.getItem(CAMERA_ON)) camera.start();
}
