from . import auth, districts, health, notifications, petitions, points

ALL = (auth.blp, districts.blp, petitions.blp, points.blp, notifications.blp)
HEALTH = health.bp
