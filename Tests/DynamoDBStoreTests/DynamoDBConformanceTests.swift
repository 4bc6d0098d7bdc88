import AWSWire
import AsyncHTTPClient
import DynamoDBStore
import Foundation
import ShopStorage
import StorageTestKit
import TestServices
import Testing

/// The moto server the test script started (`scripts/test` exports its endpoint).
/// Without it these tests fail: they never pass by skipping.
enum Moto {
    static var endpoint: String {
        get throws { try TestService.moto.endpoint }
    }

    /// A store on fresh, uniquely named tables, so cases never see each other's data.
    static func freshStore() async throws -> DynamoDBStore {
        let client = AWSJSONClient.dynamoDB(
            httpClient: HTTPClient.shared, region: "us-east-1",
            credentials: AWSCredentials(accessKeyId: "testing", secretAccessKey: "testing"),
            endpoint: try endpoint)
        let prefix = "t" + UUID().uuidString.prefix(8).lowercased() + "-"
        let store = DynamoDBStore(client: client, tables: DynamoDBTableNames().prefixed(prefix))
        try await store.createTables()
        return store
    }
}

@Suite("DynamoDB store conformance (moto)")
struct DynamoDBConformanceTests {
    @Test(arguments: StorageConformance.cases)
    func conformance(_ testCase: StorageConformance.Case) async throws {
        let store = try await Moto.freshStore()
        try await testCase.run(StoreHarness(store))
    }
}
