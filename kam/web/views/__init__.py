"""The server-rendered pages. Each view parses the request, asks a selector for
what the user may see (NotFound → 404, PermissionDenied → 403), calls one service
through a form to change anything, and renders."""
