"""Box labels: QR (GS1 Digital Link) and GS1-128, as vector PDF for A4 sheets and thermal printers."""
