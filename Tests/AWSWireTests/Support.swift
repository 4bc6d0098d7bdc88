import Foundation
import Testing

/// Reads a path the test script exports. A missing reference is a failure, never a silent skip.
func referencePath(_ variable: String, sourceLocation: SourceLocation = #_sourceLocation) -> String? {
    let environment = ProcessInfo.processInfo.environment
    if let value = environment[variable], !value.isEmpty {
        return value
    }
    if environment["CI"] != nil {
        Issue.record(
            "\(variable) is not set under CI: scripts/test must run scripts/aws-vectors and export it before `swift test`",
            sourceLocation: sourceLocation)
    } else {
        Issue.record(
            "\(variable) is not set: run `eval \"$(scripts/aws-vectors)\"` (downloads the pinned botocore and writes the references), then run the tests again",
            sourceLocation: sourceLocation)
    }
    return nil
}

func readText(_ path: String) throws -> String {
    try String(decoding: Data(contentsOf: URL(fileURLWithPath: path)), as: UTF8.self)
}

extension Array where Element == (String, String) {
    /// Values of a header, case-insensitively, in order.
    func values(_ name: String) -> [String] {
        filter { $0.0.lowercased() == name.lowercased() }.map(\.1)
    }
}
