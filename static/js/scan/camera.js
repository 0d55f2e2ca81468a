// Camera scanning: the browser's own BarcodeDetector where it exists (Android Chrome), else the
// `barcode-detector` ponyfill over zxing-wasm, whose WebAssembly we serve ourselves (never a CDN).
// Reads QR codes (GS1 Digital Link) and GS1-128 (Code 128) continuously until stopped.
const FORMATS = ["qr_code", "code_128"];
const EVERY_MS = 120;

async function detectorClass(wasmUrl) {
  if ("BarcodeDetector" in window) {
    const supported = await window.BarcodeDetector.getSupportedFormats();
    if (FORMATS.every((f) => supported.includes(f))) return window.BarcodeDetector;
  }
  const ponyfill = await import("../../vendor/barcode-detector/ponyfill.js");
  ponyfill.prepareZXingModule({
    overrides: { locateFile: (path, prefix) => (path.endsWith(".wasm") ? wasmUrl : prefix + path) },
  });
  return ponyfill.BarcodeDetector;
}

// Start the camera into `video` and call onCode(text, format) for every code seen; returns stop().
export async function startCamera(video, wasmUrl, onCode) {
  const Detector = await detectorClass(wasmUrl);
  const detector = new Detector({ formats: FORMATS });
  const stream = await navigator.mediaDevices.getUserMedia({
    video: { facingMode: "environment", width: { ideal: 1280 }, height: { ideal: 720 } },
    audio: false,
  });
  video.srcObject = stream;
  video.hidden = false;
  await video.play();
  let stopped = false;
  const tick = async () => {
    if (stopped) return;
    try {
      if (video.readyState >= 2) {
        for (const code of await detector.detect(video)) {
          onCode(code.rawValue, code.format);
        }
      }
    } catch (error) {
      console.warn("barcode detection failed", error);
    }
    setTimeout(tick, EVERY_MS);
  };
  tick();
  return () => {
    stopped = true;
    stream.getTracks().forEach((track) => track.stop());
    video.srcObject = null;
    video.hidden = true;
  };
}

// Wire a page's Start and Stop camera buttons to the camera. A label held in view is read many times a
// second; it counts once per `repeatMs`. Returns { running(), start(), stop() }.
export function cameraControls({ video, wasmUrl, startButton, stopButton, onCode, onError, onStart, onStop }) {
  const repeatMs = 3000;
  const lastRead = new Map();
  let stopCamera = null;
  const read = (text, format) => {
    const now = Date.now();
    if (now - (lastRead.get(text) || 0) < repeatMs) return;
    lastRead.set(text, now);
    onCode(text, format);
  };
  async function start() {
    try {
      stopCamera = await startCamera(video, wasmUrl, read);
      startButton.hidden = true;
      stopButton.hidden = false;
      if (onStart) onStart();
    } catch (error) {
      console.warn("camera", error);
      onError(error);
    }
  }
  function stop() {
    if (stopCamera) stopCamera();
    stopCamera = null;
    startButton.hidden = false;
    stopButton.hidden = true;
    if (onStop) onStop();
  }
  startButton.addEventListener("click", start);
  stopButton.addEventListener("click", stop);
  return { running: () => stopCamera !== null, start, stop };
}
