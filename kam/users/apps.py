from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class UsersConfig(AppConfig):
    name = "kam.users"
    label = "users"
    verbose_name = _("Users")

    def ready(self) -> None:
        # Session bookkeeping (kam/users/sessions.py): which sessions a user holds, so
        # disabling the user ends them; when they signed in, for the absolute timeout.
        from django.contrib.auth.signals import user_logged_in, user_logged_out

        from kam.users import sessions

        user_logged_in.connect(sessions.on_logged_in, dispatch_uid="kam-session-in")
        user_logged_out.connect(sessions.on_logged_out, dispatch_uid="kam-session-out")
