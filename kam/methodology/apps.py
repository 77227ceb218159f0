from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MethodologyConfig(AppConfig):
    name = "kam.methodology"
    label = "methodology"
    verbose_name = _("Methodology")

    def ready(self) -> None:
        # Validate every playbook at start-up: a broken file stops the server with a
        # message naming the file and the field, instead of failing on first use.
        from kam.methodology import registry

        registry.load()
