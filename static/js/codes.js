// Reading a box code in every form a scanner hands us: the mirror of webapp/boxes/codes.py.
// Both must agree on every line of tests/boxes/code_vectors.json (tests/e2e/test_codes_js.py runs
// them here in Chromium). Accepted: a GS1 Digital Link URI (http or https, any host, /00/<SSCC>), a bare 18-digit
// SSCC, (00)<SSCC>, and raw GS1-128 00<SSCC> with or without the ]C1 symbology identifier and FNC1.

const GS = "\u001d";
// Whitespace is ASCII's only (Python's re.ASCII \s), never JavaScript's Unicode \s.
const DIGITAL_LINK = /^https?:\/\/[^/ \t\n\r\v\f]+(?:\/[^ \t\n\r\v\f?#]*)?\/00\/([0-9]{18})(?:[/?#][^ \t\n\r\v\f]*)?$/i;
const BRACKETED = /^\(00\)[ \t\n\r\v\f]*([0-9]{18})$/;
const EDGE_SPACE = /^[ \t\n\r\v\f]+|[ \t\n\r\v\f]+$/g;
const RAW = new RegExp(`^(?:\\]C1)?${GS}?00([0-9]{18})(?:${GS}[\\s\\S]*)?$`);
const BARE = /^([0-9]{18})$/;
const MAX_CODE_LENGTH = 512;

export class CodeError extends Error {
  constructor(kind, message) {
    super(message);
    this.kind = kind; // "not_a_label" or "check_digit"
  }
}

// GS1 mod-10 check digit of the digits before it (weights 3, 1, 3, ... from the right).
export function gs1CheckDigit(digits) {
  let total = 0;
  for (let i = 0; i < digits.length; i += 1) {
    const digit = digits.charCodeAt(digits.length - 1 - i) - 48;
    total += digit * (i % 2 === 0 ? 3 : 1);
  }
  return (10 - (total % 10)) % 10;
}

export function isValidSscc(sscc) {
  return /^[0-9]{18}$/.test(sscc) && gs1CheckDigit(sscc.slice(0, 17)) === Number(sscc[17]);
}

// The SSCC a scanned code carries; throws CodeError for anything else.
export function parseCode(raw) {
  const text = (raw || "").replace(EDGE_SPACE, "");
  if (!text || text.length > MAX_CODE_LENGTH) {
    throw new CodeError("not_a_label", "empty or over-long code");
  }
  for (const pattern of [DIGITAL_LINK, BRACKETED, RAW, BARE]) {
    const match = pattern.exec(text);
    if (match) {
      const sscc = match[1];
      if (!isValidSscc(sscc)) {
        throw new CodeError("check_digit", `SSCC ${sscc} has a wrong check digit: misread or mistyped`);
      }
      return sscc;
    }
  }
  throw new CodeError("not_a_label", "not a Jejak label");
}
