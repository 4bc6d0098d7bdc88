#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A secret file could not be written.
public struct SecretFileError: Error, CustomStringConvertible {
    public let description: String
}

/// Secrets the local store keeps in its data directory, readable by the owner only.
public enum SecretFile {
    /// The file's contents, or `make()` written to a new file.
    ///
    /// The directory is made with mode 0700. The secret is written to a temporary file created with
    /// `O_CREAT | O_EXCL` and mode 0600 (never readable by others, not even for a moment), then published
    /// with `link(2)`, which fails if the name exists: so two processes starting at once on a fresh data
    /// directory agree on one secret (the loser reads the winner's, which is complete by then).
    public static func loadOrCreate(at path: String, make: () throws -> Data) throws -> Data {
        if let data = FileManager.default.contents(atPath: path) { return data }
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        guard chmod(directory, 0o700) == 0 else { throw SecretFileError(description: "cannot make \(directory) private (errno \(errno))") }
        let data = try make()
        let temporary = path + ".tmp-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else { throw SecretFileError(description: "cannot create the secret file \(temporary) (errno \(errno))") }
        defer { unlink(temporary) }
        let written = data.withUnsafeBytes { buffer in write(fd, buffer.baseAddress, buffer.count) }
        let synced = fsync(fd)
        close(fd)
        guard written == data.count, synced == 0 else { throw SecretFileError(description: "cannot write the secret file \(temporary)") }
        if link(temporary, path) != 0 {
            guard errno == EEXIST, let winner = FileManager.default.contents(atPath: path) else {
                throw SecretFileError(description: "cannot publish the secret file \(path) (errno \(errno))")
            }
            return winner
        }
        return data
    }

    /// `count` random bytes, kept at `path`.
    public static func randomBytes(at path: String, count: Int = 32) throws -> [UInt8] {
        let data = try loadOrCreate(at: path) {
            var rng = SystemRandomNumberGenerator()
            return Data((0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) })
        }
        // A truncated or empty key file (a full disk, a stray `touch`) would be a known key: refuse it.
        guard data.count == count else {
            throw SecretFileError(
                description: "the secret file \(path) holds \(data.count) bytes, not \(count); remove it to make a new one")
        }
        return [UInt8](data)
    }
}
