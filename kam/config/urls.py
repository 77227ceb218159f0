from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.i18n import set_language

from kam.config.api import api
from kam.users.throttle import LoginView

urlpatterns = [
    path("api/v1/", api.urls),
    path("login/", LoginView.as_view(), name="login"),  # throttled: kam/users/throttle.py
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),  # POST only
    path("i18n/setlang/", set_language, name="set_language"),
    path("", include("kam.web.urls")),
]

# An address no route matches: JSON under /api/ (as the API's schema declares), else the page.
handler404 = "kam.core.api_support.not_found"
