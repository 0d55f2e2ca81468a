// Builds an EPCIS 2.0 document with GS1 France's epcis2.js, as a logistics company's own system would, from
// a plain description read on stdin: {"events": [{"bizStep", "epc", "eventTime", "readPoint",
// "destination"?}]}. Each event is an ObjectEvent (OBSERVE) made with the SDK's classes, its eventID the
// SDK's event hash; the document is checked with the SDK's validator before it is printed. Used by
// tests/custody/test_epcis_rest.py for the capture acceptance test (issue 17).
const { EPCISDocument, ObjectEvent, ReadPoint, DestinationElement, cbv, validateEpcisDocument } = require('epcis2.js');

let input = '';
process.stdin.on('data', (chunk) => { input += chunk; });
process.stdin.on('end', () => {
  const spec = JSON.parse(input);
  const document = new EPCISDocument();
  document.setCreationDate(spec.creationDate || new Date().toISOString());
  for (const item of spec.events) {
    const event = new ObjectEvent()
      .setAction(cbv.actionTypes.observe)
      .setEventTime(item.eventTime)
      .addEPC(item.epc)
      .setBizStep(cbv.bizSteps[item.bizStep])
      .setDisposition(item.bizStep === 'shipping' ? cbv.dispositions.in_transit : cbv.dispositions.in_progress)
      .setReadPoint(new ReadPoint({ id: item.readPoint }));
    if (item.destination) {
      event.addDestination(new DestinationElement({ type: cbv.sourceDestinationTypes.location, destination: item.destination }));
    }
    event.generateHashID({}, true);
    document.addEvent(event);
  }
  const object = document.toObject();
  validateEpcisDocument(object, true);
  process.stdout.write(JSON.stringify(object));
});
