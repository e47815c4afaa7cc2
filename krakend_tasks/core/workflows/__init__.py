"""The project's workflows: configure krakend.json, scaffold a plugin, ship an image, the CI matrix."""
