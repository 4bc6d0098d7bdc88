import AWSWire
import AsyncHTTPClient
import Foundation
import ShopSupport
import TestServices
import Testing

/// `SecretsManagerClient.secretString(id:)` (`GetSecretValue`) against moto's Secrets Manager, which
/// `scripts/test` starts; without it these tests fail, never skip.
@Suite("Secrets Manager client (moto)")
struct SecretsManagerClientTests {
    static let credentials = AWSCredentials(accessKeyId: "testing", secretAccessKey: "testing")

    static func client() throws -> SecretsManagerClient {
        SecretsManagerClient(httpClient: .shared, region: "us-east-1", credentials: credentials, endpoint: try TestService.moto.endpoint)
    }

    /// Creates a secret through the same JSON client (moto answers `CreateSecret` with its ARN).
    static func create(_ client: SecretsManagerClient, name: String, string: String? = nil, binary: [UInt8]? = nil) async throws -> String {
        var input: [String: JSONValue] = ["Name": .string(name)]
        if let string { input["SecretString"] = .string(string) }
        if let binary { input["SecretBinary"] = .string(Data(binary).base64EncodedString()) }
        let output = try await client.client.call("CreateSecret", JSONValue.object(input), as: JSONValue.self)
        guard case .object(let body) = output, case .string(let arn)? = body["ARN"] else {
            throw AWSConfigurationError(description: "CreateSecret: \(output)")
        }
        return arn
    }

    @Test func readsAStringSecretByNameAndByARN() async throws {
        let client = try Self.client()
        let name = "shop-test/cursor-\(UUID().uuidString)"
        let arn = try await Self.create(client, name: name, string: "0123456789abcdef-cursor")
        #expect(arn.hasPrefix("arn:aws:secretsmanager:us-east-1:"))
        #expect(try await client.secretString(id: name) == "0123456789abcdef-cursor")
        #expect(try await client.secretString(id: arn) == "0123456789abcdef-cursor")

        // A new version is what the next read (the next cold start) gets.
        _ = try await client.client.call(
            "PutSecretValue", JSONValue.object(["SecretId": .string(arn), "SecretString": .string("rotated-value-0123456")]),
            as: JSONValue.self)
        #expect(try await client.secretString(id: arn) == "rotated-value-0123456")
    }

    @Test func anUnknownSecretIsResourceNotFound() async throws {
        let client = try Self.client()
        await #expect {
            _ = try await client.secretString(id: "shop-test/missing-\(UUID().uuidString)")
        } throws: { error in
            (error as? AWSError)?.type == "ResourceNotFoundException"
        }
    }

    @Test func aBinarySecretIsRefused() async throws {
        let client = try Self.client()
        let name = "shop-test/binary-\(UUID().uuidString)"
        _ = try await Self.create(client, name: name, binary: [0, 1, 2, 3])
        await #expect(throws: SecretsManagerError.notAString(id: name)) { _ = try await client.secretString(id: name) }
    }
}
