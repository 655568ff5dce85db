"""The points supermarket (积分超市): shop items and redemption orders."""
from flask_smorest import Blueprint

from services.points.schemas import (CancelIn, ItemIn, ItemPatch, ItemQuery, ItemSchema, OrderIn, OrderPageSchema,
                                     OrderQuery, OrderSchema, StockChangeIn)

from ..security import BEARER, authenticated, call

blp = Blueprint("shop", __name__, url_prefix="/api/v1/shop",
                description="The community shop (积分超市): items, priced in points (1 point = 1 yuan)")
orders = Blueprint("orders", __name__, url_prefix="/api/v1/orders",
                   description="Redemptions: reserve, pick up, cancel; unclaimed reservations expire")


@blp.route("/items", methods=["GET"])
@blp.doc(security=BEARER)
@blp.arguments(ItemQuery, location="query")
@blp.response(200, ItemSchema(many=True))
@authenticated
def list_items(query):
    """Items of a community's shop (mine by default); residents see what is on offer, staff everything."""
    return call("points", "list_items", ItemQuery().dump(query))


@blp.route("/items", methods=["POST"])
@blp.doc(security=BEARER)
@blp.arguments(ItemIn)
@blp.response(201, ItemSchema)
@blp.alt_response(403, description="not staff of that community")
@authenticated
def create_item(item):
    """Put an item in the shop (community staff; their own community unless named)."""
    return call("points", "create_item", ItemIn().dump(item))


@blp.route("/items/<item_id>", methods=["GET"])
@blp.doc(security=BEARER)
@blp.response(200, ItemSchema)
@authenticated
def get_item(item_id):
    return call("points", "get_item", item_id)


@blp.route("/items/<item_id>", methods=["PATCH"])
@blp.doc(security=BEARER)
@blp.arguments(ItemPatch)
@blp.response(200, ItemSchema)
@authenticated
def update_item(changes, item_id):
    """Change name, description, image, price (new orders only), active flag or per-person limit."""
    return call("points", "update_item", item_id, ItemPatch().dump(changes))


@blp.route("/items/<item_id>/stock", methods=["POST"])
@blp.doc(security=BEARER)
@blp.arguments(StockChangeIn)
@blp.response(200, ItemSchema)
@blp.alt_response(409, description="a write-off larger than the stock")
@authenticated
def change_stock(change, item_id):
    """Add delivered units (positive) or write some off (negative); stock never goes below zero."""
    return call("points", "change_stock", item_id, change)


@orders.route("", methods=["POST"])
@orders.doc(security=BEARER)
@orders.arguments(OrderIn)
@orders.response(201, OrderSchema)
@orders.alt_response(409, description="not enough points or stock, or over the per-person limit")
@authenticated
def reserve(order):
    """Redeem: debit my points and reserve the units together, or neither; pick up within the district's days."""
    return call("points", "reserve", order)


@orders.route("", methods=["GET"])
@orders.doc(security=BEARER)
@orders.arguments(OrderQuery, location="query")
@orders.response(200, OrderPageSchema)
@authenticated
def list_orders(query):
    """My orders; staff see their community's, district administrators the district's."""
    return call("points", "list_orders", OrderQuery().dump(query))


@orders.route("/<order_id>", methods=["GET"])
@orders.doc(security=BEARER)
@orders.response(200, OrderSchema)
@authenticated
def get_order(order_id):
    return call("points", "get_order", order_id)


@orders.route("/<order_id>/pickup", methods=["POST"])
@orders.doc(security=BEARER)
@orders.response(200, OrderSchema)
@orders.alt_response(409, description="the order is not reserved")
@authenticated
def confirm_pickup(order_id):
    """The community's staff hand the goods over (confirm_pickup)."""
    return call("points", "confirm_pickup", order_id)


@orders.route("/<order_id>/cancel", methods=["POST"])
@orders.doc(security=BEARER)
@orders.arguments(CancelIn)
@orders.response(200, OrderSchema)
@orders.alt_response(409, description="the order is not reserved")
@authenticated
def cancel(body, order_id):
    """The buyer or the community's staff cancel a reservation: points refunded, units restocked."""
    return call("points", "cancel_order", order_id, body)
