"""A plugin project: its settings (declared once, checked by one schema) and its dist/ manifest."""
