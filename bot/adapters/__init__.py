"""Chat adapters: each turns one platform's events into Answers and renders Prompts for that platform."""
