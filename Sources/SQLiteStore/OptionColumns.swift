import ShopDomain

/// A reader of the two small JSON documents the variants' columns hold, as `documentEncoder` writes them:
/// a variant's `{"Colour":"Navy","Size":"M"}` and a product's `[{"name":"Size","values":["S","M"]}]`.
///
/// `JSONDecoder` took about 10 µs a document, so a product in four variants cost twice a product without options
/// to read and a page of 20 spent most of its time there (docs/BENCHMARKS.md, "Reads, faster still"). This reads
/// the bytes in place. It answers nil for anything it does not expect (an escape in a string, another key, another
/// shape), and the caller then decodes with `JSONDecoder` as before, so it is never the only reader of a column.
struct OptionColumns {
    private let bytes: UnsafeBufferPointer<UInt8>
    private var index = 0

    private init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    /// `{"name":"value", ...}`; nil when not of that plain form.
    static func variantOptions(_ bytes: UnsafeBufferPointer<UInt8>) -> [String: String]? {
        var reader = OptionColumns(bytes)
        guard let options = reader.stringObject(), reader.atEnd() else { return nil }
        return options
    }

    /// `[{"name":"…","values":["…", …]}, …]`; nil when not of that plain form.
    static func productOptions(_ bytes: UnsafeBufferPointer<UInt8>) -> [ProductOption]? {
        var reader = OptionColumns(bytes)
        guard let options = reader.options(), reader.atEnd() else { return nil }
        return options
    }

    // MARK: the grammar

    private mutating func options() -> [ProductOption]? { list { $0.option() } }

    private mutating func option() -> ProductOption? {
        guard take(UInt8(ascii: "{")) else { return nil }
        var name: String?
        var values: [String]?
        repeat {
            guard let key = string(), take(UInt8(ascii: ":")) else { return nil }
            switch key {
            case "name" where name == nil: name = string()
            case "values" where values == nil: values = stringArray()
            default: return nil
            }
        } while take(UInt8(ascii: ","))
        guard take(UInt8(ascii: "}")), let name, let values else { return nil }
        return ProductOption(name: name, values: values)
    }

    private mutating func stringObject() -> [String: String]? {
        guard take(UInt8(ascii: "{")) else { return nil }
        var object: [String: String] = [:]
        if take(UInt8(ascii: "}")) { return object }
        repeat {
            guard let key = string(), take(UInt8(ascii: ":")), let value = string(), object[key] == nil else { return nil }
            object[key] = value
        } while take(UInt8(ascii: ","))
        return take(UInt8(ascii: "}")) ? object : nil
    }

    private mutating func stringArray() -> [String]? { list { $0.string() } }

    /// `[element, …]`, nil if any element is.
    private mutating func list<Element>(_ element: (inout Self) -> Element?) -> [Element]? {
        guard take(UInt8(ascii: "[")) else { return nil }
        var elements: [Element] = []
        if take(UInt8(ascii: "]")) { return elements }
        repeat {
            guard let next = element(&self) else { return nil }
            elements.append(next)
        } while take(UInt8(ascii: ","))
        return take(UInt8(ascii: "]")) ? elements : nil
    }

    /// A string without escapes or control characters (nil otherwise: the caller falls back to `JSONDecoder`).
    /// Other bytes, UTF-8 included, are taken as they are; SQLite's text is the UTF-8 the encoder wrote.
    private mutating func string() -> String? {
        guard take(UInt8(ascii: "\"")) else { return nil }
        let start = index
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "\""):
                let value = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
                index += 1
                return value
            case UInt8(ascii: "\\"), 0..<0x20:
                return nil
            default:
                index += 1
            }
        }
        return nil
    }

    // MARK: bytes

    /// Skips white space, then takes `byte` if it is next.
    private mutating func take(_ byte: UInt8) -> Bool {
        skipSpace()
        guard index < bytes.count, bytes[index] == byte else { return false }
        index += 1
        return true
    }

    private mutating func skipSpace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    private mutating func atEnd() -> Bool {
        skipSpace()
        return index == bytes.count
    }
}
