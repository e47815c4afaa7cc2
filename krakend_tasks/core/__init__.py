"""Core API: plain Python, no nox or invoke. Adapters in krakend_tasks.nox/.invoke/.cli call it."""
