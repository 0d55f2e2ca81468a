// A signature pad: a finger (or mouse) draws on a canvas; the drawing leaves as a PNG data URL.
export function signaturePad(canvas) {
  const context = canvas.getContext("2d");
  let drawing = false;
  let strokes = 0;
  const ratio = window.devicePixelRatio || 1;
  canvas.width = canvas.clientWidth * ratio;
  canvas.height = canvas.clientHeight * ratio;
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
