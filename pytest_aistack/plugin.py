"""pytest entry point (``pytest11: aistack``): wires hooks only; logic lives in modules."""
