"""The d2l dialect as text: pages -> ``Document`` -> MyST and notebooks. No Sphinx here."""
