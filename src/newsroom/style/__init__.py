"""The house style: the rules pack, the deterministic checker and the Chroma style memory."""
