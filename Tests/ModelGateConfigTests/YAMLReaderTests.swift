import Testing

@testable import ModelGateConfig

@Suite("The configuration's YAML subset")
struct YAMLReaderTests {
    private func read(_ text: String) throws -> YAMLNode? {
        try YAMLReader.read(text)
    }

    private func scalars(_ node: YAMLNode?) -> String {
        switch node {
        case .scalar(let value, _): return value
        case .sequence(let items, _): return "[" + items.map { scalars($0) }.joined(separator: ",") + "]"
        case .mapping(let entries, _): return "{" + entries.map { "\($0.key):\(scalars($0.value))" }.joined(separator: ",") + "}"
        case nil: return "nil"
        }
    }

    @Test func blocksFlowsQuotesAndComments() throws {
        let text = """
            # leading comment
            ---
            a: 1   # trailing comment
            b:
              c: "x # not a comment"
              d: 'it''s'
              e: "tab\\tand \\u00e9"
            list:
            - one
            - two: 2
              three: 3
            -
              nested: yes
            flow: {k: v, l: [1, "2", {m: n}]}
            url: http://host:8000/v1
            empty:
            """
        #expect(
            scalars(try read(text))
                == "{a:1,b:{c:x # not a comment,d:it's,e:tab\tand é},list:[one,{two:2,three:3},{nested:yes}],flow:{k:v,l:[1,2,{m:n}]},url:http://host:8000/v1,empty:}"
        )
    }

    @Test func linesAreRecorded() throws {
        guard case .mapping(let entries, _) = try read("a: 1\n\n# c\nb:\n  c: 2") else {
            Issue.record("not a mapping")
            return
        }
        #expect(entries.map(\.keyLine) == [1, 4])
        guard case .mapping(let inner, let line) = entries[1].value else { return }
        #expect(line == 5 && inner.first?.keyLine == 5)
    }

    @Test(
        "unsupported or malformed YAML is an error at its line",
        arguments: [
            ("a: 1\n\tb: 2", 2, "tabs are not allowed for indentation"),
            ("a: &x 1", 1, "YAML feature \"&\" is not supported in ModelGate configuration"),
            ("a: |\n  text", 1, "YAML feature \"|\" is not supported in ModelGate configuration"),
            ("a: 1\na: 2", 2, "duplicate key \"a\""),
            ("a:\n  b: 1\n    c: 2", 3, "unexpected indentation"),
            ("a: 1\n- b", 2, "a list item where a mapping key was expected"),
            ("a: \"open", 1, "unterminated double-quoted string"),
            ("a: 1\n---\nb: 2", 2, "only one YAML document is allowed"),
            ("just text", 1, "expected \"key: value\""),
        ])
    func errors(text: String, line: Int, message: String) {
        #expect(throws: YAMLError(line: line, message: message)) { try read(text) }
    }

    @Test func emptyDocuments() throws {
        #expect(try read("") == nil)
        #expect(try read("# only a comment\n\n") == nil)
    }
}
