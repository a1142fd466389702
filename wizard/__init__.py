"""chat-role wizard: headless core (never imports textual)."""
