"""One module per stage: discover -> editorial -> generate -> quality_gate (STORM's research ->
outline -> draft -> polish). Each exposes a typed entry point plus pure, unit-tested helpers."""
