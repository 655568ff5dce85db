from . import apikeys, auth, catalogue, districts, health, notifications, petitions, points

ALL = (auth.blp, districts.blp, petitions.blp, petitions.follow_ups, points.blp, notifications.blp, catalogue.blp,
       apikeys.blp)
from . import notify_broadcasts, notify_districts  # noqa: E402

ALL = ALL + (notify_districts.blp, notify_broadcasts.blp)
from . import supermarket, supermarket_activities, supermarket_claims, supermarket_points  # noqa: E402

ALL = ALL + (supermarket.blp, supermarket.orders, supermarket_activities.communities, supermarket_activities.blp,
             supermarket_claims.blp, supermarket_points.blp, supermarket_points.districts)
from . import console_dashboard  # noqa: E402

ALL = ALL + (console_dashboard.blp,)
from . import operator  # noqa: E402

ALL = ALL + (operator.blp,)
from . import audit  # noqa: E402

ALL = ALL + (audit.blp,)
from . import organisations, wishes  # noqa: E402

ALL = ALL + (wishes.blp, wishes.communities, wishes.districts, organisations.blp)
from . import households  # noqa: E402

ALL = ALL + (households.blp, households.settings)
from . import analytics  # noqa: E402

ALL = ALL + (analytics.blp,)
HEALTH = health.bp
from . import projects  # noqa: E402

ALL = ALL + (projects.blp,)
