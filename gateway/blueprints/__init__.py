from . import auth, catalogue, districts, health, notifications, petitions, points

ALL = (auth.blp, districts.blp, petitions.blp, petitions.follow_ups, points.blp, notifications.blp, catalogue.blp)
HEALTH = health.bp
