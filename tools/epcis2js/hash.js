// Reads an EPCIS 2.0 JSON-LD document on stdin and prints, one a line, the event hash ID that GS1 France's
// epcis2.js (eventToHashedId) computes for each event of its eventList, in order. Used by
// tests/monitor/test_epcis2js.py to cross-check Jejak's own eventIDs (webapp/exports/event_hash.py).
const { eventToHashedId } = require('epcis2.js');

let input = '';
process.stdin.on('data', (chunk) => { input += chunk; });
process.stdin.on('end', () => {
  const document = JSON.parse(input);
  const context = document['@context'];
  for (const event of document.epcisBody.eventList) {
    process.stdout.write(`${eventToHashedId(event, context)}\n`);
  }
});
