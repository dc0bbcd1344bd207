"""Microsoft Teams through the Bot Framework: the only package that imports botbuilder."""
