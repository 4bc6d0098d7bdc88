#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A secret file could not be written.
public struct SecretFileError: Error, CustomStringConvertible {
    public let description: String
}

/// Secrets the local store keeps in its data directory, readable by the owner only.
public enum SecretFile {
    /// The file's contents, or `make()` written to a new file created with mode 0600.
    public static func loadOrCreate(at path: String, make: () throws -> Data) throws -> Data {
        let fm = FileManager.default
        if let data = fm.contents(atPath: path) { return data }
        try fm.createDirectory(atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path, withIntermediateDirectories: true)
        let data = try make()
        // Created with 0600 from the start: the secret is never readable by others, even briefly.
        guard fm.createFile(atPath: path, contents: data, attributes: [.posixPermissions: 0o600]) else {
            throw SecretFileError(description: "cannot create the secret file \(path)")
        }
        return data
    }

    /// `count` random bytes, kept at `path`.
    public static func randomBytes(at path: String, count: Int = 32) throws -> [UInt8] {
        let data = try loadOrCreate(at: path) {
            var rng = SystemRandomNumberGenerator()
            return Data((0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) })
        }
        return [UInt8](data)
    }
}
