import ShopSupport

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The part of Mustache (https://mustache.github.io/mustache.5.html) the email templates need, without Foundation:
/// `{{name}}` (HTML-escaped when the template is HTML), `{{{name}}}` and `{{& name}}` (never escaped), dotted names,
/// sections `{{#name}}…{{/name}}` (once per list item, once for any other truthy value), inverted sections
/// `{{^name}}…{{/name}}`, comments `{{! … }}`, and lookup through the stack of enclosing sections. Section, inverted
/// and comment tags alone on a line take the line with them, as the spec says. Partials and delimiter changes are
/// refused when parsed, as is any tag not closed or a section not ended.
public struct MustacheTemplate: Sendable {
    indirect enum Node: Sendable {
        case text(String)
        case variable([String], escaped: Bool)
        case section([String], inverted: Bool, [Node])
    }

    let nodes: [Node]
    /// HTML templates escape `{{name}}`; text ones do not.
    public let escapesHTML: Bool

    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        public var line: Int
        public var message: String
        public var description: String { "line \(line): \(message)" }
    }

    public init(_ source: String, escapesHTML: Bool) throws(ParseError) {
        self.escapesHTML = escapesHTML
        var parser = Parser(Array(source.utf8))
        self.nodes = try parser.parse()
    }

    public func render(_ context: MustacheValue) -> String {
        var out = ""
        Self.render(nodes, stack: [context], escapesHTML: escapesHTML, into: &out)
        return out
    }

    static func render(_ nodes: [Node], stack: [MustacheValue], escapesHTML: Bool, into out: inout String) {
        for node in nodes {
            switch node {
            case .text(let text):
                out += text
            case .variable(let path, let escaped):
                let text = lookup(path, in: stack).text
                out += escaped && escapesHTML ? HTML.escape(text) : text
            case .section(let path, let inverted, let children):
                let value = lookup(path, in: stack)
                if inverted {
                    if !value.isTruthy { render(children, stack: stack, escapesHTML: escapesHTML, into: &out) }
                    continue
                }
                switch value {
                case .list(let items):
                    for item in items { render(children, stack: stack + [item], escapesHTML: escapesHTML, into: &out) }
                case _ where value.isTruthy:
                    render(children, stack: stack + [value], escapesHTML: escapesHTML, into: &out)
                default:
                    break
                }
            }
        }
    }

    /// `.` is the innermost value; `a.b.c` finds `a` in the innermost section that has it, then `b` and `c` in it.
    static func lookup(_ path: [String], in stack: [MustacheValue]) -> MustacheValue {
        if path == ["."] { return stack.last ?? .null }
        guard let first = path.first else { return .null }
        for frame in stack.reversed() {
            guard case .object(let fields) = frame, let found = fields[first] else { continue }
            var value = found
            for key in path.dropFirst() {
                guard case .object(let inner) = value, let next = inner[key] else { return .null }
                value = next
            }
            return value
        }
        return .null
    }

    struct Parser {
        let bytes: [UInt8]
        var position = 0
        var line = 1

        init(_ bytes: [UInt8]) { self.bytes = bytes }

        static let open: [UInt8] = Array("{{".utf8)

        mutating func parse() throws(ParseError) -> [Node] {
            // Open sections: (path, inverted, line where opened, nodes before it).
            var stack: [(path: [String], inverted: Bool, line: Int, parent: [Node])] = []
            var nodes: [Node] = []
            var text: [UInt8] = []
            func flush() {
                if !text.isEmpty { nodes.append(.text(String(decoding: text, as: UTF8.self))) }
                text = []
            }
            while position < bytes.count {
                guard starts(with: Self.open, at: position) else {
                    if bytes[position] == 10 { line += 1 }
                    text.append(bytes[position])
                    position += 1
                    continue
                }
                let tagStart = position
                let tagLine = line
                var sigil: UInt8 = 0
                var inner = position + 2
                var close: [UInt8] = Array("}}".utf8)
                if inner < bytes.count, bytes[inner] == UInt8(ascii: "{") {
                    sigil = UInt8(ascii: "{")
                    close = Array("}}}".utf8)
                    inner += 1
                } else if inner < bytes.count, "#^/!&>=".utf8.contains(bytes[inner]) {
                    sigil = bytes[inner]
                    inner += 1
                }
                guard let end = find(close, from: inner) else {
                    throw ParseError(
                        line: tagLine, message: "tag opened with {{ is not closed with \(String(decoding: close, as: UTF8.self))")
                }
                let content = String(decoding: bytes[inner..<end], as: UTF8.self).trimmingWhitespace()
                let tagEnd = end + close.count
                for b in bytes[tagStart..<tagEnd] where b == 10 { line += 1 }
                position = tagEnd
                if sigil == UInt8(ascii: ">") { throw ParseError(line: tagLine, message: "partials ({{> \(content)}}) are not supported") }
                if sigil == UInt8(ascii: "=") { throw ParseError(line: tagLine, message: "changing delimiters ({{=…=}}) is not supported") }
                if sigil == UInt8(ascii: "!") {
                    standalone(tagStart: tagStart, text: &text)
                    continue
                }
                guard !content.isEmpty else { throw ParseError(line: tagLine, message: "empty tag name") }
                let path = content == "." ? ["."] : content.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
                guard path == ["."] || path.allSatisfy({ !$0.isEmpty && !$0.contains(where: { $0 == " " || $0 == "{" || $0 == "}" }) })
                else {
                    throw ParseError(line: tagLine, message: "'\(content)' is not a name")
                }
                switch sigil {
                case UInt8(ascii: "#"), UInt8(ascii: "^"):
                    standalone(tagStart: tagStart, text: &text)
                    flush()
                    stack.append((path, sigil == UInt8(ascii: "^"), tagLine, nodes))
                    nodes = []
                case UInt8(ascii: "/"):
                    standalone(tagStart: tagStart, text: &text)
                    flush()
                    guard let open = stack.popLast() else {
                        throw ParseError(line: tagLine, message: "{{/\(content)}} closes no section")
                    }
                    guard open.path == path else {
                        throw ParseError(
                            line: tagLine,
                            message:
                                "{{/\(content)}} closes {{\(open.inverted ? "^" : "#")\(open.path.joined(separator: "."))}} of line \(open.line)"
                        )
                    }
                    let section = Node.section(path, inverted: open.inverted, nodes)
                    nodes = open.parent + [section]
                default:
                    flush()
                    nodes.append(.variable(path, escaped: sigil == 0))
                }
            }
            if let open = stack.last {
                throw ParseError(
                    line: open.line, message: "{{\(open.inverted ? "^" : "#")\(open.path.joined(separator: "."))}} is never closed")
            }
            flush()
            return nodes
        }

        /// A tag alone on its line (only spaces or tabs around it): the line's indentation, the tag and its line end go.
        mutating func standalone(tagStart: Int, text: inout [UInt8]) {
            var before = tagStart
            while before > 0, bytes[before - 1] == 32 || bytes[before - 1] == 9 { before -= 1 }
            guard before == 0 || bytes[before - 1] == 10 else { return }
            var after = position
            while after < bytes.count, bytes[after] == 32 || bytes[after] == 9 { after += 1 }
            if after < bytes.count, bytes[after] == 13, after + 1 < bytes.count, bytes[after + 1] == 10 {
                after += 2
            } else if after < bytes.count, bytes[after] == 10 {
                after += 1
            } else if after != bytes.count {
                return
            }
            text.removeLast(tagStart - before)
            if after > position, bytes[after - 1] == 10 { line += 1 }
            position = after
        }

        func starts(with pattern: [UInt8], at index: Int) -> Bool {
            index + pattern.count <= bytes.count && bytes[index..<index + pattern.count].elementsEqual(pattern)
        }

        func find(_ pattern: [UInt8], from index: Int) -> Int? {
            var i = index
            while i + pattern.count <= bytes.count {
                if starts(with: pattern, at: i) { return i }
                i += 1
            }
            return nil
        }
    }
}

/// What a template sees: text, yes/no, lists and objects. Missing names are `.null`: they print nothing and are false.
public enum MustacheValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case string(String)
    case list([MustacheValue])
    case object([String: MustacheValue])

    /// nil as `.null`.
    public static func optional(_ text: String?) -> MustacheValue { text.map { .string($0) } ?? .null }

    /// Empty strings, empty lists, false and null are false; everything else is true.
    var isTruthy: Bool {
        switch self {
        case .null: false
        case .bool(let value): value
        case .string(let text): !text.isEmpty
        case .list(let items): !items.isEmpty
        case .object: true
        }
    }

    var text: String {
        switch self {
        case .null, .list, .object: ""
        case .bool(let value): value ? "true" : "false"
        case .string(let text): text
        }
    }
}

enum HTML {
    /// `&`, `<`, `>`, `"` and `'` as entities: safe in element content and in quoted attribute values.
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
