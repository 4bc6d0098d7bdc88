#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The request shapes of the DynamoDB operations the store uses: one struct whose unset
/// fields are left out of the JSON.
struct DDBRequest: Encodable, Sendable {
    var TableName: String?
    var Key: Item?
    var Item: Item?
    var ConditionExpression: String?
    var UpdateExpression: String?
    var KeyConditionExpression: String?
    var FilterExpression: String?
    var ProjectionExpression: String?
    var ExpressionAttributeNames: [String: String]?
    var ExpressionAttributeValues: Item?
    var ReturnValues: String?
    var ReturnValuesOnConditionCheckFailure: String?
    var ConsistentRead: Bool?
    var IndexName: String?
    var Limit: Int?
    var ScanIndexForward: Bool?
    var ExclusiveStartKey: Item?
    var TransactItems: [TransactItem]?
    var ClientRequestToken: String?
    var RequestItems: [String: KeysAndAttributes]?

    struct KeysAndAttributes: Codable, Sendable {
        var Keys: [Item]
        var ConsistentRead: Bool?
    }

    /// One element of `TransactWriteItems`.
    struct TransactItem: Encodable, Sendable {
        var Put: DDBRequest?
        var Update: DDBRequest?
        var Delete: DDBRequest?
        var ConditionCheck: DDBRequest?
    }
}

struct GetItemOutput: Decodable { var Item: Item? }
struct UpdateItemOutput: Decodable { var Attributes: Item? }
struct QueryOutput: Decodable {
    var Items: [Item]?
    var LastEvaluatedKey: Item?
}
struct BatchGetOutput: Decodable {
    var Responses: [String: [Item]]?
    var UnprocessedKeys: [String: DDBRequest.KeysAndAttributes]?
}
struct Empty: Decodable {}
