import ModelGateCore
import ModelGateJSON

extension JSONFragment {
    /// Caller-supplied JSON (a tool's parameter schema, a response schema, a tool call's
    /// arguments) that must be one JSON object before it is spliced into a request body.
    /// - Parameter what: names the value in the error message.
    /// - Throws: INVALID_ARGUMENT when `text` is not valid JSON or not an object.
    static func object(validating text: String, what: String) throws(GatewayError) -> JSONFragment {
        let fragment: JSONFragment
        do {
            fragment = try JSONFragment(validating: text)
        } catch {
            throw GatewayError.invalidRequest("\(what) is not valid JSON: \(error)")
        }
        guard fragment.kind == .object else { throw GatewayError.invalidRequest("\(what) is not a JSON object") }
        return fragment
    }
}
