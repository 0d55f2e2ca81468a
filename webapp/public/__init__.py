"""The public page of a box: what anyone who scans its QR code may see."""
