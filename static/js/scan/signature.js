// A signature pad: a finger (or mouse) draws on a canvas; the drawing leaves as a PNG data URL.
// It is drawn at the screen's pixel ratio, but never larger than the server takes (handovers.py).
const MAX_WIDTH = 2000;
const MAX_HEIGHT = 1000;

export function signaturePad(canvas) {
  const context = canvas.getContext("2d");
  let drawing = false;
  let strokes = 0;
  const ratio = Math.min(
    window.devicePixelRatio || 1,
    MAX_WIDTH / canvas.clientWidth,
    MAX_HEIGHT / canvas.clientHeight,
  );
  canvas.width = Math.floor(canvas.clientWidth * ratio);
  canvas.height = Math.floor(canvas.clientHeight * ratio);
  context.scale(ratio, ratio);
  context.lineWidth = 2.5;
  context.lineCap = "round";
  context.strokeStyle = "#111";
  const point = (event) => {
    const box = canvas.getBoundingClientRect();
    return [event.clientX - box.left, event.clientY - box.top];
  };
  canvas.addEventListener("pointerdown", (event) => {
    drawing = true;
    canvas.setPointerCapture(event.pointerId);
    context.beginPath();
    context.moveTo(...point(event));
  });
  canvas.addEventListener("pointermove", (event) => {
    if (!drawing) return;
    context.lineTo(...point(event));
    context.stroke();
    strokes += 1;
  });
  const end = () => {
    drawing = false;
  };
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);
  return {
    isEmpty: () => strokes < 3,
    toDataURL: () => canvas.toDataURL("image/png"),
    clear: () => {
      context.clearRect(0, 0, canvas.width, canvas.height);
      strokes = 0;
    },
  };
}
