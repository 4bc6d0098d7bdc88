import Hummingbird

/// `/admin/...`: the merchant's figures (served by the orders area, behind the same authorizer).
struct AdminController<Context: ShopRequestContext>: Sendable {
    let stats: StatsService

    func addRoutes(to router: Router<Context>) {
        router.get("admin/stats", use: figures)
    }

    @Sendable func figures(_ request: Request, context: Context) async throws -> StatsReport {
        try await stats.stats(from: request.query("from"), to: request.query("to"), caller: try context.requireCaller())
    }
}

extension StatsReport: ResponseGenerator, ResponseEncodable {}
