import ShopAPI

/// What one Lambda function does, chosen by `_HANDLER`: serve one area of the API, or run the sweep
/// (an EventBridge schedule).
public enum FunctionRole: Sendable, Equatable {
    case api(APIArea)
    case sweep

    /// `_HANDLER` may be a bare name or `something.name`, in any case.
    public init(handler: String?) throws {
        let raw = handler ?? ""
        let name = (raw.split(separator: ".").last.map(String.init) ?? raw).lowercased()
        if name == "sweep" {
            self = .sweep
        } else if let area = APIArea(rawValue: name) {
            self = .api(area)
        } else {
            let names = APIArea.allCases.map(\.rawValue) + ["sweep"]
            throw ShopConfiguration.Invalid(description: "_HANDLER=\(raw) must be one of \(names.joined(separator: ", "))")
        }
    }
}
