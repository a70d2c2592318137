"""The overlay network: which stations are in the federation and which of them are alive."""
