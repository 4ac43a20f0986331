"""Qt desktop app (Qt only; talks to eventdeck.core through its public API)."""
