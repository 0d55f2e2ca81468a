"""Boxes: SSCC identity, manifests, and (later) labels and packing."""
