// A verdict felt and heard as well as seen: each verdict has its own tone and vibration, so a person
// scanning in the sun with the phone at arm's length knows without reading.
const TONES = {
  accepted: [{ freq: 880, ms: 120, type: "sine" }],
  warning: [
    { freq: 520, ms: 120, type: "triangle" },
    { freq: 520, ms: 120, type: "triangle", gap: 80 },
  ],
  refused: [{ freq: 180, ms: 650, type: "square" }],
};
const VIBRATION = { accepted: [80], warning: [120, 80, 120], refused: [400, 100, 400, 100, 400] };
let audio = null;

export function feedback(verdict) {
  if (navigator.vibrate) navigator.vibrate(VIBRATION[verdict] || 0);
  try {
    audio = audio || new AudioContext();
    let at = audio.currentTime;
    for (const tone of TONES[verdict] || []) {
      at += (tone.gap || 0) / 1000;
      const oscillator = audio.createOscillator();
      const gain = audio.createGain();
      oscillator.type = tone.type;
      oscillator.frequency.value = tone.freq;
      gain.gain.value = 0.25;
      oscillator.connect(gain).connect(audio.destination);
      oscillator.start(at);
      at += tone.ms / 1000;
      oscillator.stop(at);
    }
  } catch (_) {
    /* no sound on this device: the screen and vibration still tell */
  }
}
