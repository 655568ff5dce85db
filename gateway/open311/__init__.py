"""Open311 GeoReport v2 under ``/open311/v2``: what every 311 app speaks, answered by the platform."""
from .views import bp

__all__ = ["bp"]
