import Logging
import ShopDomain

/// Stock that goes back to the catalog (a cancelled or expired order) never raises a product above
/// `Limits.stockRange`'s maximum: an admin may have restocked it to the limit meanwhile, and stock above it
/// would make every later adjustment fail. Every backend drops the units that do not fit, and says so here.
public enum StockReturn {
    static let logger = Logger(label: "shop.stock")

    public static func logDropped(orderId: String, line: OrderLine, returned: Int) {
        logger.warning(
            "stock return capped at the limit; units dropped",
            metadata: [
                "order_id": "\(orderId)", "product_id": "\(line.productId)", "variant_id": "\(line.variantId)", "units": "\(line.quantity)",
                "returned": "\(returned)",
                "dropped": "\(line.quantity - returned)", "limit": "\(Limits.stockRange.upperBound)",
            ])
    }

    /// The line's variant (or product) was deleted since the order was placed: its units have nowhere to go.
    public static func logGone(orderId: String, line: OrderLine) {
        logger.warning(
            "stock return dropped: the variant no longer exists",
            metadata: [
                "order_id": "\(orderId)", "product_id": "\(line.productId)", "variant_id": "\(line.variantId)", "units": "\(line.quantity)",
            ])
    }
}
