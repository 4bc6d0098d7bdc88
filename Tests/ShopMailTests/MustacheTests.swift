import Testing

@testable import ShopMail

@Suite("Mustache: the subset the email templates use")
struct MustacheTests {
    func render(_ source: String, _ context: MustacheValue, html: Bool = false) throws -> String {
        try MustacheTemplate(source, escapesHTML: html).render(context)
    }

    let context: MustacheValue = .object([
        "name": .string("<b>\"Tom\" & 'Jerry'</b>"),
        "shop": .object(["name": .string("Mugs"), "address": .object(["city": .string("Paris")])]),
        "items": .list([.object(["name": .string("a"), "qty": .string("1")]), .object(["name": .string("b"), "qty": .string("2")])]),
        "empty": .list([]),
        "yes": .bool(true),
        "no": .bool(false),
        "blank": .string(""),
        "tags": .list([.string("x"), .string("y")]),
    ])

    @Test func variablesAreEscapedOnlyInHTMLTemplates() throws {
        #expect(try render("{{name}}", context, html: true) == "&lt;b&gt;&quot;Tom&quot; &amp; &#39;Jerry&#39;&lt;/b&gt;")
        #expect(try render("{{{name}}}|{{& name}}", context, html: true) == "<b>\"Tom\" & 'Jerry'</b>|<b>\"Tom\" & 'Jerry'</b>")
        #expect(try render("{{name}}", context) == "<b>\"Tom\" & 'Jerry'</b>")
        #expect(try render("{{ missing }}|{{missing.deeper}}", context) == "|")
    }

    @Test func dottedNamesAndTheContextStack() throws {
        #expect(try render("{{shop.address.city}}", context) == "Paris")
        #expect(try render("{{#items}}{{name}}×{{qty}} in {{shop.name}};{{/items}}", context) == "a×1 in Mugs;b×2 in Mugs;")
        #expect(try render("{{#shop}}{{#address}}{{city}}, {{name}}{{/address}}{{/shop}}", context) == "Paris, Mugs")
        #expect(try render("{{#tags}}[{{.}}]{{/tags}}", context) == "[x][y]")
    }

    @Test func sectionsAndInvertedSections() throws {
        #expect(
            try render("{{#yes}}Y{{/yes}}{{#no}}N{{/no}}{{#blank}}B{{/blank}}{{#empty}}E{{/empty}}{{#missing}}M{{/missing}}", context)
                == "Y")
        #expect(
            try render("{{^yes}}Y{{/yes}}{{^no}}N{{/no}}{{^blank}}B{{/blank}}{{^empty}}E{{/empty}}{{^missing}}M{{/missing}}", context)
                == "NBEM")
        #expect(try render("a{{! a comment\nover two lines }}b", context) == "ab")
    }

    @Test func standaloneTagsTakeTheirLineWithThem() throws {
        let source = "Items:\n{{#items}}\n  - {{name}}\n{{/items}}\n  {{! note }}\nEnd\n{{^empty}}\nnone\n{{/empty}}\r\nlast"
        #expect(try render(source, context) == "Items:\n  - a\n  - b\nEnd\nnone\nlast")
        // Not alone on its line: kept as it is.
        #expect(try render("x {{#yes}}y{{/yes}}\n", context) == "x y\n")
    }

    @Test func mistakesAreNamedWithTheirLine() {
        func error(_ source: String) -> String? {
            do {
                _ = try MustacheTemplate(source, escapesHTML: false)
                return nil
            } catch {
                return error.description
            }
        }
        #expect(error("a\n{{#items}}\nb") == "line 2: {{#items}} is never closed")
        #expect(error("a\nb {{/items}}") == "line 2: {{/items}} closes no section")
        #expect(error("{{#a}}\n{{/b}}") == "line 2: {{/b}} closes {{#a}} of line 1")
        #expect(error("\n\nx {{name") == "line 3: tag opened with {{ is not closed with }}")
        #expect(error("{{{name}}") == "line 1: tag opened with {{ is not closed with }}}")
        #expect(error("{{> partial}}") == "line 1: partials ({{> partial}}) are not supported")
        #expect(error("{{=<% %>=}}") == "line 1: changing delimiters ({{=…=}}) is not supported")
        #expect(error("{{}}") == "line 1: empty tag name")
        #expect(error("{{a..b}}") == "line 1: 'a..b' is not a name")
    }
}
