#!/usr/bin/env python3
"""Writes the API's OpenAPI 3.1 document: docs/openapi.json, and the same bytes into
Sources/ShopAPI/OpenAPIDocument.swift, which `GET /openapi.json` serves. Run it after changing the
contract; Tests/ShopAPITests/OpenAPITests.swift fails when the two files differ, when a route is in the
router but not in the document (or the other way round), or when docs/API.md and the document disagree.
"""
import json, os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def ref(name):
    return {"$ref": f"#/components/schemas/{name}"}


def error(description):
    return {"description": description, "headers": {"X-Request-Id": {"$ref": "#/components/headers/RequestId"}},
            "content": {"application/json": {"schema": ref("Error")}}}


def ok(description, schema=None, status_headers=None):
    response = {"description": description, "headers": {"X-Request-Id": {"$ref": "#/components/headers/RequestId"}}}
    if status_headers:
        response["headers"].update(status_headers)
    if schema is not None:
        response["content"] = {"application/json": {"schema": schema}}
    return response


COMMON = {
    "400": error("Malformed JSON, a wrong type, a rule broken, or a bad parameter"),
    "413": error("Body larger than 1 MiB"),
    "500": error("Unexpected failure; the cause is logged under the request id"),
}
AUTH = {"401": error("No bearer token, or an invalid one")}
ADMIN = {**AUTH, "403": error("Not an administrator")}
BUSY = {"503": error("The store is busy (transaction conflicts) or a dependency is unavailable; see Retry-After")}
RATE = {"429": error("Too many sign-in requests; see Retry-After")}
BEARER = [{"bearerAuth": []}]


def op(summary, responses, body=None, security=None, parameters=None, tag=None, body_required=True):
    operation = {"summary": summary, "responses": {**COMMON, **responses}}
    if tag:
        operation["tags"] = [tag]
    if body is not None:
        operation["requestBody"] = {"required": body_required, "content": {"application/json": {"schema": body}}}
    operation["security"] = security if security is not None else []
    if parameters:
        operation["parameters"] = parameters
    return operation


def path_id(name="id"):
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1, "maxLength": 100}}


def query(name, schema, description):
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


LIMIT = query("limit", {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}, "Page size")
CURSOR = query("cursor", {"type": "string", "maxLength": 2048}, "The nextCursor of the previous page")
STATUS = {"type": "string", "enum": ["PENDING_PAYMENT", "PAID", "FULFILLED", "CANCELLED"]}
ETAG = {"ETag": {"description": "The product's entity tag", "schema": {"type": "string"}}}
PAGE_ETAG = {"ETag": {"description": "The page's entity tag: changes when any product on it, or the next cursor, does", "schema": {"type": "string"}}}
RETRY = {"Retry-After": {"schema": {"type": "integer"}}}
SETTINGS_ETAG = {"ETag": {"description": "The settings' entity tag, \"s<version>\"", "schema": {"type": "string"}}}
S = {"type": "string"}
NS = {"type": ["string", "null"]}
I = {"type": "integer"}

schemas = {
    "Error": {"type": "object", "required": ["error"], "properties": {"error": {
        "type": "object", "required": ["code", "message"],
        "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "details": {}}}}},
    "ProductOption": {"type": "object", "required": ["name", "values"],
                      "properties": {"name": {"type": "string"}, "values": {"type": "array", "items": {"type": "string"}}}},
    "Variant": {"type": "object", "required": ["id", "sku", "options", "price", "quantity", "imageUrl"],
                "properties": {"id": {"type": "string"}, "sku": {"type": "string"},
                               "options": {"type": "object", "additionalProperties": {"type": "string"}},
                               "price": {"type": "integer"}, "quantity": {"type": "integer"}, "imageUrl": {"type": ["string", "null"]}}},
    "VariantInput": {"type": "object", "required": ["price"],
                     "properties": {"id": {"type": "string"}, "sku": {"type": "string"},
                                    "options": {"type": "object", "additionalProperties": {"type": "string"}},
                                    "price": {"type": "integer"}, "quantity": {"type": "integer"}}},
    "Product": {"type": "object", "required": ["id", "name", "description", "price", "currency", "quantity", "category", "imageUrl",
                                               "version", "createdAt", "updatedAt", "options", "variants"],
                "properties": {"id": {"type": "string"}, "name": {"type": "string"}, "description": {"type": "string"},
                               "price": {"type": "integer", "description": "The lowest variant price (read-only)"}, "currency": {"type": "string"},
                               "quantity": {"type": "integer", "description": "The stock of all variants together (read-only)"},
                               "category": {"type": "string"}, "imageUrl": {"type": ["string", "null"]}, "version": {"type": "integer"},
                               "createdAt": {"type": "string", "format": "date-time"}, "updatedAt": {"type": "string", "format": "date-time"},
                               "options": {"type": "array", "items": ref("ProductOption")},
                               "variants": {"type": "array", "items": ref("Variant")}}},
    "ProductInput": {"type": "object", "required": ["name", "category"],
                     "properties": {"name": {"type": "string"}, "description": {"type": "string"}, "price": {"type": "integer"},
                                    "currency": {"type": "string"}, "category": {"type": "string"}, "quantity": {"type": "integer"},
                                    "options": {"type": "array", "items": ref("ProductOption")},
                                    "variants": {"type": "array", "items": ref("VariantInput")}}},
    "ProductPage": {"type": "object", "required": ["items", "nextCursor"],
                    "properties": {"items": {"type": "array", "items": ref("Product")}, "nextCursor": {"type": ["string", "null"]}}},
    "OrderLine": {"type": "object", "required": ["productId", "variantId", "sku", "options", "name", "unitPrice", "quantity", "lineTotal", "tax"],
                  "properties": {"productId": {"type": "string"}, "variantId": {"type": "string"}, "sku": {"type": ["string", "null"]},
                                 "options": {"type": "object", "additionalProperties": {"type": "string"}},
                                 "name": {"type": "string"}, "unitPrice": {"type": "integer"},
                                 "quantity": {"type": "integer"}, "lineTotal": {"type": "integer"}, "tax": {"type": "integer"}}},
    "Order": {"type": "object", "required": ["id", "userId", "lines", "subtotal", "shippingTotal", "shippingTax", "taxTotal", "total", "currency",
                                             "status", "shippingAddress", "shippingMethod", "shipment", "email", "createdAt", "updatedAt",
                                             "expiresAt"],
              "properties": {"id": {"type": "string"}, "userId": {"type": "string"}, "lines": {"type": "array", "items": ref("OrderLine")},
                             "subtotal": {"type": "integer"}, "shippingTotal": {"type": "integer"}, "shippingTax": {"type": "integer"},
                             "taxTotal": {"type": "integer"}, "total": {"type": "integer"}, "currency": {"type": "string"}, "status": STATUS,
                             "shippingAddress": {"oneOf": [ref("Address"), {"type": "null"}]},
                             "shippingMethod": {"oneOf": [ref("OrderShippingMethod"), {"type": "null"}]},
                             "shipment": {"oneOf": [ref("Shipment"), {"type": "null"}]}, "email": NS,
                             "createdAt": {"type": "string", "format": "date-time"}, "updatedAt": {"type": "string", "format": "date-time"},
                             "expiresAt": {"type": "string", "format": "date-time"}}},
    "Address": {"type": "object", "required": ["name", "line1", "city", "postalCode", "country"],
                "properties": {"name": S, "line1": S, "line2": NS, "city": S, "region": NS, "postalCode": S, "country": S, "phone": NS}},
    "SavedAddress": {"allOf": [ref("Address"), {"type": "object", "required": ["id"], "properties": {"id": S}}]},
    "AddressList": {"type": "object", "required": ["items"], "properties": {"items": {"type": "array", "items": ref("SavedAddress")}}},
    "OrderShippingMethod": {"type": "object", "required": ["id", "name", "price", "minDays", "maxDays"],
                            "properties": {"id": S, "name": S, "price": I, "minDays": I, "maxDays": I}},
    "Shipment": {"type": "object", "required": ["carrier", "trackingNumber", "trackingUrl", "shippedAt"],
                 "properties": {"carrier": NS, "trackingNumber": NS, "trackingUrl": NS, "shippedAt": {"type": "string", "format": "date-time"}}},
    "ShipmentInput": {"type": "object", "properties": {"carrier": NS, "trackingNumber": NS, "trackingUrl": NS}},
    "ShippingMethod": {"type": "object", "required": ["id", "name", "price", "minDays", "maxDays"],
                       "properties": {"id": S, "name": S, "price": I, "freeOver": {"type": ["integer", "null"]}, "minDays": I, "maxDays": I}},
    "ShippingZone": {"type": "object", "required": ["id", "name", "countries", "methods"],
                     "properties": {"id": S, "name": S, "countries": {"type": "array", "items": S},
                                    "methods": {"type": "array", "items": ref("ShippingMethod")}}},
    "TaxRate": {"type": "object", "required": ["country", "rate", "name", "appliesToShipping"],
                "properties": {"country": S, "region": NS, "rate": I, "name": S, "appliesToShipping": {"type": "boolean"}}},
    "SettingsInput": {"type": "object", "required": ["currency", "pricesIncludeTax", "shippingZones", "taxRates"],
                      "properties": {"currency": S, "pricesIncludeTax": {"type": "boolean"},
                                     "shippingZones": {"type": "array", "items": ref("ShippingZone")},
                                     "taxRates": {"type": "array", "items": ref("TaxRate")}}},
    "Settings": {"allOf": [ref("SettingsInput"), {"type": "object", "required": ["version", "updatedAt"], "properties": {
        "version": I, "updatedAt": {"type": ["string", "null"], "format": "date-time"}}}]},
    "QuoteRequest": {"type": "object", "required": ["lines", "shippingAddress"], "properties": {
        "lines": {"type": "array", "items": {"type": "object", "required": ["productId", "quantity"],
                                             "properties": {"productId": S, "variantId": S, "quantity": I}}},
        "shippingAddress": ref("Address"), "shippingMethodId": S}},
    "Quote": {"type": "object", "required": ["currency", "lines", "subtotal", "shippingMethods", "shippingMethodId", "shippingTotal", "shippingTax",
                                             "taxTotal", "total"],
              "properties": {"currency": S, "lines": {"type": "array", "items": ref("OrderLine")}, "subtotal": I,
                             "shippingMethods": {"type": "array", "items": ref("OrderShippingMethod")}, "shippingMethodId": S,
                             "shippingTotal": I, "shippingTax": I, "taxTotal": I, "total": I}},
    "PaymentSummary": {"type": "object", "required": ["id", "provider", "status", "amount", "refundedAmount", "refundDue", "refundFailed"],
                       "properties": {"id": {"type": "string"}, "provider": {"type": "string", "enum": ["simulated", "stripe"]},
                                      "status": ref("PaymentStatus"), "amount": {"type": "integer"}, "refundedAmount": {"type": "integer"},
                                      "refundDue": {"type": "integer"}, "refundFailed": {"type": "boolean"},
                                      "failureCode": {"type": ["string", "null"]}}},
    "OrderView": {"allOf": [ref("Order"), {"type": "object", "required": ["payment"],
                                           "properties": {"payment": {"oneOf": [ref("PaymentSummary"), {"type": "null"}]}}}]},
    "EventDeliveryEmail": {"type": "object", "required": ["template", "to", "status", "attempts"],
                           "properties": {"template": S, "to": S, "status": {"type": "string", "enum": ["pending", "sent", "failed"]},
                                          "attempts": I, "lastError": NS}},
    "OrderEventView": {"type": "object", "required": ["id", "type", "version", "occurredAt", "orderId", "userId", "data", "emails"],
                       "properties": {"id": S, "type": {"type": "string", "enum": ["order.placed", "order.paid", "order.fulfilled",
                                                                                   "order.cancelled", "order.refunded"]},
                                      "version": I, "occurredAt": {"type": "string", "format": "date-time"}, "orderId": S, "userId": S,
                                      "data": {"type": "object", "required": ["order"], "properties": {
                                          "order": ref("Order"), "cancelledBy": {"type": "string", "enum": ["shopper", "admin", "expiry"]},
                                          "previousStatus": STATUS,
                                          "refund": {"type": "object", "required": ["amount", "refundedTotal", "currency"],
                                                     "properties": {"amount": I, "refundedTotal": I, "currency": S}}}},
                                      "emails": {"type": "array", "items": ref("EventDeliveryEmail")},
                                      "webhook": {"type": "object", "required": ["status", "attempts", "lastError"], "properties": {
                                          "status": {"type": "string", "enum": ["pending", "sent", "failed"]}, "attempts": I,
                                          "lastError": NS}}}},
    "OrderEventList": {"type": "object", "required": ["items"],
                       "properties": {"items": {"type": "array", "items": ref("OrderEventView")}}},
    "DayFigures": {"type": "object", "required": ["date", "revenue", "refunds", "placed", "paid", "fulfilled", "cancelled"],
                   "properties": {"date": {"type": "string", "format": "date"}, "revenue": I, "refunds": I, "placed": I, "paid": I,
                                  "fulfilled": I, "cancelled": I}},
    "StatsReport": {"type": "object", "required": ["from", "to", "lowStockBelow", "currencies", "lowStock"], "properties": {
        "from": {"type": "string", "format": "date"}, "to": {"type": "string", "format": "date"}, "lowStockBelow": I,
        "currencies": {"type": "array", "items": {"type": "object", "required": ["currency", "revenue", "refunds", "orders", "days", "topProducts"],
                                                  "properties": {
            "currency": S, "revenue": I, "refunds": I,
            "orders": {"type": "object", "required": ["placed", "paid", "fulfilled", "cancelled"],
                       "properties": {"placed": I, "paid": I, "fulfilled": I, "cancelled": I}},
            "days": {"type": "array", "items": ref("DayFigures")},
            "topProducts": {"type": "array", "items": {"type": "object", "required": ["productId", "name", "units", "revenue"],
                                                       "properties": {"productId": S, "name": S, "units": I, "revenue": I}}}}}},
        "lowStock": {"type": "array", "items": {"type": "object", "required": ["productId", "name", "quantity"],
                                                "properties": {"productId": S, "name": S, "quantity": I}}}}},
    "OrderPage": {"type": "object", "required": ["items", "nextCursor"],
                  "properties": {"items": {"type": "array", "items": ref("Order")}, "nextCursor": {"type": ["string", "null"]}}},
    "OrderRequest": {"type": "object", "required": ["lines", "shippingMethodId"], "properties": {"lines": {"type": "array", "items": {
        "type": "object", "required": ["productId", "quantity"],
        "properties": {"productId": {"type": "string"}, "variantId": {"type": "string"}, "quantity": {"type": "integer"}}}},
        "shippingAddress": ref("Address"), "addressId": S, "shippingMethodId": S}},
    "PaymentStatus": {"type": "string", "enum": ["requires_payment_method", "requires_confirmation", "requires_action", "processing",
                                                "succeeded", "canceled"]},
    "Payment": {"type": "object", "required": ["id", "provider", "status", "amount", "currency", "clientSecret", "refundedAmount"],
                "properties": {"id": {"type": "string"}, "provider": {"type": "string"}, "status": ref("PaymentStatus"),
                               "amount": {"type": "integer"}, "currency": {"type": "string"}, "clientSecret": {"type": "string"},
                               "failureCode": {"type": ["string", "null"]}, "failureMessage": {"type": ["string", "null"]},
                               "refundedAmount": {"type": "integer"}, "orderId": {"type": ["string", "null"]}}},
    "PaymentStarted": {"type": "object", "required": ["paymentId", "orderId", "clientSecret", "provider", "status", "amount", "currency"],
                       "properties": {"paymentId": {"type": "string"}, "orderId": {"type": "string"}, "clientSecret": {"type": "string"},
                                      "provider": {"type": "string"}, "status": ref("PaymentStatus"), "amount": {"type": "integer"},
                                      "currency": {"type": "string"}}},
    "SimulatedPayment": {"type": "object", "required": ["payment", "refunds", "events", "delivered"],
                         "properties": {"payment": ref("Payment"), "refunds": {"type": "array", "items": {"type": "integer"}},
                                        "events": {"type": "array", "items": {"type": "string"}}, "delivered": {"type": "integer"}}},
    "Card": {"type": "object", "required": ["number", "expMonth", "expYear", "cvc"],
             "properties": {"number": {"type": "string"}, "expMonth": {"type": "integer"}, "expYear": {"type": "integer"}, "cvc": {"type": "string"}}},
    "AuthTokens": {"type": "object", "required": ["idToken", "accessToken", "refreshToken", "expiresIn", "tokenType"],
                   "properties": {"idToken": {"type": "string"}, "accessToken": {"type": "string"}, "refreshToken": {"type": "string"},
                                  "expiresIn": {"type": "integer"}, "tokenType": {"type": "string"}}},
    "UserProfile": {"type": "object", "required": ["userId", "email", "name", "groups"],
                    "properties": {"userId": {"type": "string"}, "email": {"type": "string"}, "name": {"type": "string"},
                                   "groups": {"type": "array", "items": {"type": "string"}}}},
    "ImageUpload": {"type": "object", "required": ["uploadUrl", "method", "headers", "key", "expiresAt"],
                    "properties": {"uploadUrl": {"type": "string"}, "method": {"type": "string"},
                                   "headers": {"type": "object", "additionalProperties": {"type": "string"}}, "key": {"type": "string"},
                                   "expiresAt": {"type": "string", "format": "date-time"}}},
}


def obj(**properties):
    return {"type": "object", "required": list(properties), "properties": properties}


paths = {
    "/health": {"get": op("Liveness", {"200": ok("Alive", obj(status=S))}, tag="health")},
    "/.well-known/jwks.json": {"get": op("The local issuer's public keys", {"200": ok("A JWKS", {"type": "object"})}, tag="auth")},
    "/auth/register": {"post": op("Register", {"201": ok("Registered", obj(userId=S, email=S, name=S)),
                                               "202": ok("A confirmation code was sent", obj(confirmationRequired={"type": "boolean"})),
                                               "409": error("Email taken"), **RATE, **BUSY},
                                  body=obj(email=S, password=S, name=S), tag="auth")},
    "/auth/confirm": {"post": op("Confirm a sign-up", {"204": ok("Confirmed"), **RATE, **BUSY}, body=obj(email=S, code=S), tag="auth")},
    "/auth/login": {"post": op("Sign in", {"200": ok("Tokens", ref("AuthTokens")), "401": error("Wrong email or password"),
                                           "403": error("Not confirmed"), **RATE, **BUSY}, body=obj(email=S, password=S), tag="auth")},
    "/auth/refresh": {"post": op("Fresh tokens", {"200": ok("Tokens", ref("AuthTokens")), "401": error("Refresh token refused"), **RATE, **BUSY},
                                 body=obj(refreshToken=S), tag="auth")},
    "/auth/logout": {"post": op("Revoke a refresh token", {"204": ok("Revoked"), **AUTH, **BUSY}, body=obj(refreshToken=S), security=BEARER, tag="auth")},
    "/auth/me": {"get": op("The caller", {"200": ok("Profile", ref("UserProfile")), **AUTH, "404": error("The token's account no longer exists"),
                                          **BUSY}, security=BEARER, tag="auth")},
    "/products": {
        "get": op("List products", {"200": ok("A page", ref("ProductPage"), PAGE_ETAG), "304": ok("Not modified", status_headers=PAGE_ETAG), **BUSY},
                  parameters=[LIMIT, CURSOR, query("category", {"type": "string", "maxLength": 100}, "Only this category"),
                              {"name": "If-None-Match", "in": "header", "required": False, "schema": S}], tag="products"),
        "post": op("Create a product", {"201": ok("Created", ref("Product"), {**ETAG, "Location": {"schema": S}}), **ADMIN,
                                        "409": error("A SKU is another's (sku_taken)"), **BUSY},
                   body=ref("ProductInput"), security=BEARER, tag="products"),
    },
    "/products/{id}": {
        "parameters": [path_id()],
        "get": op("A product", {"200": ok("The product", ref("Product"), ETAG), "304": ok("Not modified", status_headers=ETAG),
                                "404": error("No such product")},
                  parameters=[{"name": "If-None-Match", "in": "header", "required": False, "schema": S}], tag="products"),
        "put": op("Replace a product's editable fields, options and variants", {
            "200": ok("Updated", ref("Product"), ETAG), **ADMIN, "404": error("No such product"),
            "409": error("A SKU is another's (sku_taken), a deleted variant is held by an unpaid order (variant_in_use), or a price for a product "
                         "with several variants (variant_required)"),
            "412": error("If-Match does not match"), **BUSY},
                  body=ref("ProductInput"), security=BEARER,
                  parameters=[{"name": "If-Match", "in": "header", "required": False, "schema": S}], tag="products"),
        "delete": op("Delete a product", {"204": ok("Deleted"), **ADMIN, "404": error("No such product"), **BUSY}, security=BEARER, tag="products"),
    },
    "/products/{id}/stock": {"parameters": [path_id()], "post": op(
        "Adjust stock", {"200": ok("Adjusted", ref("Product"), ETAG), **ADMIN, "404": error("No such product"),
                         "409": error("Would go below zero or above the maximum, or the product has several variants (variant_required)"), **BUSY},
        body=obj(delta={"type": "integer"}), security=BEARER, tag="products")},
    "/products/{id}/variants/{variantId}/stock": {"parameters": [path_id(), path_id("variantId")], "post": op(
        "Adjust one variant's stock", {"200": ok("Adjusted", ref("Product"), ETAG), **ADMIN, "404": error("No such product or variant"),
                                       "409": error("Would go below zero or above the maximum"), **BUSY},
        body=obj(delta={"type": "integer"}), security=BEARER, tag="products")},
    "/products/{id}/variants/{variantId}/image": {"parameters": [path_id(), path_id("variantId")], "post": op(
        "Start an upload of a variant's image", {"200": ok("Where to upload", ref("ImageUpload")), **ADMIN,
                                                  "404": error("No such product or variant"), **BUSY,
                                                  "501": error("This host has no image storage (images_not_configured)")},
        body=obj(contentType=S), security=BEARER, tag="products")},
    "/products/{id}/variants/{variantId}/image/commit": {"parameters": [path_id(), path_id("variantId")], "post": op(
        "Commit a variant's uploaded image", {"200": ok("The product with the variant's image", ref("Product"), ETAG), **ADMIN,
                                              "404": error("No such product or variant"),
                                              "409": error("Not uploaded, too large, or not the declared image"), **BUSY,
                                              "501": error("This host has no image storage (images_not_configured)")},
        body=obj(key=S), security=BEARER, tag="products")},
    "/products/{id}/image": {"parameters": [path_id()], "post": op(
        "Start an image upload", {"200": ok("Where to upload", ref("ImageUpload")), **ADMIN, "404": error("No such product"), **BUSY,
                                  "501": error("This host has no image storage (images_not_configured)")},
        body=obj(contentType=S), security=BEARER, tag="products")},
    "/products/{id}/image/commit": {"parameters": [path_id()], "post": op(
        "Commit an uploaded image", {"200": ok("The product with its image", ref("Product"), ETAG), **ADMIN, "404": error("No such product"),
                                     "409": error("Not uploaded, too large, or not the declared image"), **BUSY,
                                     "501": error("This host has no image storage (images_not_configured)")},
        body=obj(key=S), security=BEARER, tag="products")},
    "/uploads/products/{productId}/{file}": {"parameters": [path_id("productId"), path_id("file")], "put": {
        "summary": "Upload image bytes to a signed URL (local images only)", "tags": ["products"], "security": [],
        "parameters": [query("expires", S, "Expiry, Unix seconds"), query("signature", S, "The URL's signature")],
        "requestBody": {"required": True, "content": {"image/png": {"schema": {"type": "string", "format": "binary"}},
                                                      "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
                                                      "image/webp": {"schema": {"type": "string", "format": "binary"}}}},
        "responses": {**COMMON, "200": ok("Stored"), "403": error("Invalid, expired or used URL"), "413": error("Over 5 MiB")}}},
    "/images/products/{productId}/{file}": {"parameters": [path_id("productId"), path_id("file")], "get": {
        "summary": "A product image (local images only)", "tags": ["products"], "security": [],
        "responses": {**COMMON, "200": {"description": "The image", "content": {"image/png": {}, "image/jpeg": {}, "image/webp": {}}},
                      "404": error("No such image")}}},
    "/orders": {
        "post": op("Place an order", {"201": ok("Placed", ref("Order"), {"Location": {"schema": S}}), **AUTH,
                                      "404": error("No such product (product_not_found) or variant (variant_not_found)"),
                                      "409": error("Out of stock, or too many open orders"), "422": error("Idempotency-Key reused with another body"),
                                      **BUSY},
                   body=ref("OrderRequest"), security=BEARER,
                   parameters=[{"name": "Idempotency-Key", "in": "header", "required": False, "schema": {"type": "string", "maxLength": 255}}],
                   tag="orders"),
        "get": op("List orders", {"200": ok("A page", ref("OrderPage")), **AUTH, "403": error("all=true by a non-admin"), **BUSY},
                  security=BEARER, parameters=[LIMIT, CURSOR, query("status", STATUS, "Only this status"),
                                               query("all", {"type": "string", "enum": ["true", "false"]}, "Everyone's (admins)")], tag="orders"),
    },
    "/orders/quote": {"post": op(
        "What an order would cost (nothing stored)", {"200": ok("The quote", ref("Quote")), "404": error("Unknown product"), **BUSY},
        body=ref("QuoteRequest"), tag="orders")},
    "/settings": {
        "get": op("The store settings", {"200": ok("The settings", ref("Settings"), SETTINGS_ETAG), **BUSY}, tag="settings"),
        "put": op("Replace the store settings", {"200": ok("Stored", ref("Settings"), SETTINGS_ETAG), **ADMIN,
                                                 "412": error("If-Match does not match"), **BUSY},
                  body=ref("SettingsInput"), security=BEARER, tag="settings",
                  parameters=[{"name": "If-Match", "in": "header", "required": False, "schema": S}]),
    },
    "/account/addresses": {
        "get": op("The caller's address book", {"200": ok("The addresses", ref("AddressList")), **AUTH, **BUSY}, security=BEARER, tag="account"),
        "post": op("Save an address", {"201": ok("Saved", ref("SavedAddress"), {"Location": {"schema": S}}), **AUTH,
                                       "409": error("The address book is full"), **BUSY},
                   body=ref("Address"), security=BEARER, tag="account"),
    },
    "/account/addresses/{id}": {"parameters": [path_id()],
        "put": op("Replace a saved address", {"200": ok("Saved", ref("SavedAddress")), **AUTH, "404": error("No such address of yours"), **BUSY},
                  body=ref("Address"), security=BEARER, tag="account"),
        "delete": op("Delete a saved address", {"204": ok("Deleted"), **AUTH, "404": error("No such address of yours"), **BUSY},
                     security=BEARER, tag="account"),
    },
    "/orders/{id}": {"parameters": [path_id()], "get": op(
        "An order with its payment", {"200": ok("The order", ref("OrderView")), **AUTH, "404": error("No such order of yours"), **BUSY},
        security=BEARER, tag="orders")},
    "/orders/{id}/cancel": {"parameters": [path_id()], "post": op(
        "Cancel an order", {"200": ok("Cancelled", ref("OrderView")), **AUTH, "404": error("No such order of yours"),
                            "409": error("Not cancellable"), **BUSY}, security=BEARER, tag="orders")},
    "/admin/stats": {"get": op(
        "The merchant's figures of a period", {"200": ok("The figures", ref("StatsReport")), **ADMIN, **BUSY},
        parameters=[{"name": "from", "in": "query", "required": False, "schema": {"type": "string", "format": "date"}},
                    {"name": "to", "in": "query", "required": False, "schema": {"type": "string", "format": "date"}}],
        security=BEARER, tag="admin")},
    "/orders/{id}/events": {"parameters": [path_id()], "get": op(
        "The order's events, oldest first, with what each sent", {"200": ok("The events", ref("OrderEventList")), **AUTH,
                                                                  "404": error("No such order of yours"), **BUSY},
        security=BEARER, tag="orders")},
    "/orders/{id}/fulfil": {"parameters": [path_id()], "post": op(
        "Fulfil a paid order", {"200": ok("Fulfilled", ref("OrderView")), **ADMIN, "404": error("No such order"),
                                "409": error("Not paid"), **BUSY}, body=ref("ShipmentInput"), body_required=False, security=BEARER, tag="orders")},
    "/payment": {"post": op("Start paying an order", {"201": ok("The payment", ref("PaymentStarted")), **AUTH, "404": error("No such order of yours"),
                                                       "409": error("Order not payable, or the gateway refused"), **BUSY},
                            body=obj(orderId=S), security=BEARER, tag="payment")},
    "/payment/config": {"get": op("How to take a card", {"200": ok("The provider", {"type": "object", "required": ["provider"], "properties": {
        "provider": S, "publishableKey": S}})}, tag="payment")},
    "/payment/webhook": {"post": op("The gateway's signed event", {"200": ok("Received", obj(received={"type": "boolean"})), **BUSY},
                                    body={"type": "object"},
                                    parameters=[{"name": "Stripe-Signature", "in": "header", "required": False, "schema": S}], tag="payment")},
    "/payment/simulator/confirm": {"post": op(
        "Confirm with a test card (simulator)", {"200": ok("The payment", ref("Payment")), **AUTH, "402": error("Declined"),
                                                 "404": error("No such payment of yours"), "409": error("Not waiting for a card"), **BUSY},
        body=obj(paymentId=S, card=ref("Card")), security=BEARER, tag="payment")},
    "/payment/simulator/authenticate": {"post": op(
        "Answer the 3-D Secure challenge (simulator)", {"200": ok("The payment", ref("Payment")), **AUTH, "404": error("No such payment of yours"),
                                                        "409": error("Not waiting for authentication"), **BUSY},
        body=obj(paymentId=S, outcome={"type": "string", "enum": ["approve", "fail"]}), security=BEARER, tag="payment")},
    "/payment/simulator/payments/{id}": {"parameters": [path_id()], "get": op(
        "What the simulator holds for a payment", {"200": ok("Its state", ref("SimulatedPayment")), **AUTH, "404": error("No such payment of yours"),
                                                   **BUSY}, security=BEARER, tag="payment")},
    "/openapi.json": {"get": op("This document", {"200": ok("OpenAPI 3.1", {"type": "object"})}, tag="health")},
}

document = {
    "openapi": "3.1.0",
    "info": {"title": "ServerlessShop", "version": "1", "description": "The store's HTTP API; docs/API.md explains each route in words."},
    "servers": [{"url": "/"}],
    "paths": paths,
    "components": {
        "schemas": schemas,
        "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        "headers": {"RequestId": {"description": "The request's id (a plain one sent by the caller is echoed)", "schema": S}},
    },
}

text = json.dumps(document, indent=2, sort_keys=True) + "\n"
with open(os.path.join(ROOT, "docs", "openapi.json"), "w") as f:
    f.write(text)
# The served copy is the same document on one line (it is data, not code to read).
compact = json.dumps(document, sort_keys=True, separators=(",", ":"))
assert '"##' not in compact
with open(os.path.join(ROOT, "Sources", "ShopAPI", "OpenAPIDocument.swift"), "w") as f:
    f.write("// Generated by scripts/openapi.py from the same source as docs/openapi.json; do not edit by hand.\n\n")
    f.write("/// The OpenAPI 3.1 document `GET /openapi.json` serves (docs/openapi.json, compact).\n")
    # Laid out as `swift format` lays it out (scripts/format-check).
    f.write("public enum OpenAPIDocument {\n    public static let json =\n        ##\"" + compact + "\"##\n}\n")
print("wrote docs/openapi.json and Sources/ShopAPI/OpenAPIDocument.swift")
