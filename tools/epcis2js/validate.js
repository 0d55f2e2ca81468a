// Reads an EPCIS 2.0 JSON-LD document (EPCISDocument or EPCISQueryDocument) on stdin and validates it with GS1
// France's epcis2.js: loaded into the SDK's EPCISDocument class (an EPCISDocument) and checked with its
// validateEpcisDocument (the EPCIS 2.0 JSON Schema, and each event by its type). Prints "valid N" (N events)
// or the SDK's errors, and exits 1 on any. Used by tests/monitor/test_epcis2js.py and
// tests/custody/test_epcis_rest.py.
const { EPCISDocument, validateEpcisDocument } = require('epcis2.js');

let input = '';
process.stdin.on('data', (chunk) => { input += chunk; });
process.stdin.on('end', () => {
  const object = JSON.parse(input);
  const result = validateEpcisDocument(object, false);
  if (!result.success) {
    process.stdout.write(`invalid ${JSON.stringify(result.errors)}\n`);
    process.exit(1);
  }
  let events;
  if (object.type === 'EPCISDocument') {
    const loaded = new EPCISDocument(object);
    if (!loaded.isValid()) {
      process.stdout.write('invalid as loaded by EPCISDocument\n');
      process.exit(1);
    }
    events = loaded.getEventList() || [];
  } else {
    events = object.epcisBody.queryResults.resultsBody.eventList;
  }
  process.stdout.write(`valid ${events.length}\n`);
});
