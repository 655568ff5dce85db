"""Every blueprint of the API, in the order the OpenAPI document lists them."""
from . import (analytics, apikeys, audit, auth, catalogue, console_dashboard, districts, health, households,
               notifications, notify_broadcasts, notify_districts, operator, organisations, petitions, points,
               projects, supermarket, supermarket_activities, supermarket_claims, supermarket_points, wishes)

ALL = (
    auth.blp, districts.blp, petitions.blp, petitions.follow_ups, points.blp, notifications.blp, catalogue.blp,
    apikeys.blp,
    notify_districts.blp, notify_broadcasts.blp,
    supermarket.blp, supermarket.orders, supermarket_activities.communities, supermarket_activities.blp,
    supermarket_claims.blp, supermarket_points.blp, supermarket_points.districts,
    console_dashboard.blp,
    operator.blp,
    audit.blp,
    wishes.blp, wishes.communities, wishes.districts, organisations.blp,
    households.blp, households.settings,
    analytics.blp,
    projects.blp,
)
HEALTH = health.bp
