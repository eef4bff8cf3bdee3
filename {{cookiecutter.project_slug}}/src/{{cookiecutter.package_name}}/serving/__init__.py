"""The prediction service: `python -m {{ cookiecutter.package_name }}.serving` (or `make serve`)."""
