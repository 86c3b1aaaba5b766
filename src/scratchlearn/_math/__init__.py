"""Pure functions on arrays: no classes and no hidden state, so they can be mapped over blocks."""
