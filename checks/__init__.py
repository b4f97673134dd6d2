"""cleancrm: data-quality checks for CRM databases."""

__version__ = "0.1.0"
