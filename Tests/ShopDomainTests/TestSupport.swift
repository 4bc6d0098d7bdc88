import Foundation
import ShopDomain
import Testing

/// A small, seeded, deterministic generator (SplitMix64) so that tests can pin randomness.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A generator that always returns the same word: useful to see which bits are random.
struct ConstantGenerator: RandomNumberGenerator {
    let value: UInt64
    func next() -> UInt64 { value }
}

/// The field problems carried by a `DomainError.invalid`, or nil for any other outcome.
func fieldProblems(_ error: DomainError?) -> [FieldProblem]? {
    guard case .invalid(let problems)? = error else { return nil }
    return problems
}

/// Runs `body`, which is expected to fail with `DomainError.invalid`, and returns the
/// names of the fields reported, in order. Records an issue if anything else happens.
func invalidFields(
    sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () throws -> Void
) -> [String] {
    do {
        try body()
        Issue.record("expected DomainError.invalid, but nothing was thrown", sourceLocation: sourceLocation)
        return []
    } catch {
        guard let problems = fieldProblems(error as? DomainError) else {
            Issue.record("expected DomainError.invalid, got \(error)", sourceLocation: sourceLocation)
            return []
        }
        for problem in problems {
            #expect(!problem.problem.isEmpty, "field \(problem.field) has an empty explanation", sourceLocation: sourceLocation)
        }
        return problems.map(\.field)
    }
}

/// A string made of `count` copies of `character`.
func repeated(_ character: Character, _ count: Int) -> String {
    String(repeating: character, count: count)
}

let referenceDate = Date(timeIntervalSince1970: 1_700_000_000)
