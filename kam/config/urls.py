from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.i18n import set_language

from kam.config.api import api

urlpatterns = [
    path("api/v1/", api.urls),
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="web/login.html", redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/setlang/", set_language, name="set_language"),
    path("", include("kam.web.urls")),
]
