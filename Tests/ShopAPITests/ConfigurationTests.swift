import ShopAPI
import Testing

@Suite("Configuration")
struct ConfigurationTests {
    @Test func defaultsAreTheEmbeddedStore() throws {
        let c = try ShopConfiguration(environment: [:])
        #expect(c.host == "127.0.0.1")
        #expect(c.port == 8080)
        #expect(c.dataDirectory == "./data")
        #expect(c.orderTTLSeconds == 900)
        #expect(c.seedDemoCatalog)
        #expect(c.store == .sqlite)
        #expect(c.effectiveIssuer == "http://127.0.0.1:8080")
    }

    @Test func environmentOverrides() throws {
        let c = try ShopConfiguration(environment: [
            "SHOP_HOST": "0.0.0.0", "SHOP_PORT": "9000", "SHOP_DATA_DIR": "/var/shop", "SHOP_ORDER_TTL_SECONDS": "60",
            "SHOP_SEED": "false", "SHOP_STORE": "DynamoDB", "AWS_REGION": "eu-west-1",
            "SHOP_DYNAMODB_ENDPOINT": "http://127.0.0.1:5000", "SHOP_TOKEN_ISSUER": "https://shop.example",
        ])
        #expect(c.host == "0.0.0.0")
        #expect(c.port == 9000)
        #expect(c.dataDirectory == "/var/shop")
        #expect(c.orderTTLSeconds == 60)
        #expect(!c.seedDemoCatalog)
        #expect(c.store == .dynamodb)
        #expect(c.awsRegion == "eu-west-1")
        #expect(c.dynamoDBEndpoint == "http://127.0.0.1:5000")
        #expect(c.effectiveIssuer == "https://shop.example")
    }

    @Test func cognitoIssuerComesFromThePool() throws {
        let c = try ShopConfiguration(environment: [
            "SHOP_IDENTITY": "cognito", "AWS_REGION": "eu-central-1", "SHOP_COGNITO_USER_POOL_ID": "eu-central-1_abc",
            "SHOP_COGNITO_CLIENT_ID": "client123",
        ])
        #expect(c.identity == .cognito)
        #expect(c.effectiveIssuer == "https://cognito-idp.eu-central-1.amazonaws.com/eu-central-1_abc")
        #expect(throws: (any Error).self) { try ShopConfiguration(environment: ["SHOP_IDENTITY": "cognito"]) }
        #expect(throws: (any Error).self) { try ShopConfiguration(environment: ["SHOP_IMAGES": "s3"]) }
    }

    @Test(arguments: [
        ("SHOP_PORT", "eighty"), ("SHOP_PORT", "70000"), ("SHOP_ORDER_TTL_SECONDS", "0"), ("SHOP_SEED", "maybe"),
        ("SHOP_STORE", "postgres"), ("SHOP_BCRYPT_COST", "2"), ("SHOP_IDENTITY", "ldap"), ("SHOP_IMAGES", "ftp"),
    ])
    func invalidValuesNameTheirVariable(_ name: String, _ value: String) {
        #expect {
            try ShopConfiguration(environment: [name: value])
        } throws: { error in
            String(describing: error).contains(name)
        }
    }
}
