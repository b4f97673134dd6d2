"""Ready mappings for known CRMs, and detection of which one a database is.

One module per CRM, each with one `Preset` subclass that registers itself by name when the module
is imported here. A new CRM is a new module with its class, added to the imports below.
"""

from connectors.presets import demo, generic, hubspot, salesforce, suitecrm  # noqa: F401  (they register)
from connectors.presets.base import build_config, detect_preset, get_preset, preset_names, to_yaml
from connectors.presets.demo import demo_config_yaml

__all__ = ["build_config", "demo_config_yaml", "detect_preset", "get_preset", "preset_names", "to_yaml"]
