import Foundation
import FuzzTargets
import Testing

/// Every input kept under Tests/FuzzCorpus/<target>/ (the seeds, and any input libFuzzer found that
/// crashed, once fixed) goes through its target again in every test run: none may crash.
@Suite("Fuzz corpus replay")
struct FuzzCorpusTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../FuzzCorpus").standardized

    @Test(arguments: FuzzTargets.names)
    func replay(_ target: String) throws {
        let directory = Self.corpus.appendingPathComponent(target)
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { !$0.hasPrefix(".") }
        #expect(!files.isEmpty, "Tests/FuzzCorpus/\(target) has inputs")
        for file in files {
            let bytes = try [UInt8](Data(contentsOf: directory.appendingPathComponent(file)))
            FuzzTargets.run(target, bytes)
        }
    }
}
