from . import auth, districts, health, notifications, petitions, points

ALL = (auth.blp, districts.blp, petitions.blp, petitions.follow_ups, points.blp, notifications.blp)
HEALTH = health.bp
